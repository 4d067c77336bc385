#!/usr/bin/env python3
"""Loads a safetensors file with the Python `safetensors` package and checks it against a
JSON description: tensor names, shapes, dtypes, a few values, and metadata keys.
usage: check_safetensors.py FILE EXPECT.json  (exit 0 when everything matches)"""
import json
import sys

from safetensors.numpy import load_file
from safetensors import safe_open

path, expect_path = sys.argv[1], sys.argv[2]
expect = json.load(open(expect_path))
tensors = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata() or {}
for name, spec in expect["tensors"].items():
    if name not in tensors:
        sys.exit(f"missing tensor {name}; have {sorted(tensors)}")
    t = tensors[name]
    if list(t.shape) != spec["shape"] or str(t.dtype) != "float32":
        sys.exit(f"{name}: shape {list(t.shape)} dtype {t.dtype}, expected {spec['shape']} float32")
    flat = t.reshape(-1)
    for i, v in spec.get("values", {}).items():
        if abs(float(flat[int(i)]) - v) > 1e-7 * max(1.0, abs(v)):
            sys.exit(f"{name}[{i}] = {flat[int(i)]}, expected {v}")
for k in expect.get("metadata_keys", []):
    if k not in meta:
        sys.exit(f"metadata lacks {k}: {sorted(meta)}")
print(f"ok: {len(tensors)} tensors, metadata {sorted(meta)}")
