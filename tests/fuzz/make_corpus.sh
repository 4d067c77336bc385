#!/usr/bin/env bash
# make_corpus.sh HYSCALE_BINARY: writes the seed corpora under tests/fuzz/corpus/<target>/:
# small valid files made from tests/fixtures and from small runs of the program, plus near-valid
# ones (one defect each) so the fuzzer starts next to the readers' error paths. Each corpus stays
# a few KB. Run it again when a format changes; the seeds are committed.
set -euo pipefail
B=$(realpath "$1")
cd "$(dirname "$0")"
C=corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS=detect_leaks=0
rm -rf "$C" && mkdir -p "$C"/{trace,dsy,series,config,lstm_weights,ppo_policy,prophet_model,forecast_rows,forecast8,serve_request,hybrid_metrics}

# ---- trace: first byte = options (bit 0 --skip-bad-rows, bit 1 --functions 0), then the file
t() { printf "$1" > "$C/trace/$2"; printf "$3" >> "$C/trace/$2"; }
t '\x00' azure2019 'HashOwner,HashApp,HashFunction,Trigger,1,2,3,4\no1,a1,f1,http,1,0,2,3\no1,a1,f2,timer,0,0,5,1\no2,a2,f3,queue,7,7,7,7\n'
t '\x01' azure2019_bad_row 'HashOwner,HashApp,HashFunction,Trigger,1,2,3\no1,a1,f1,http,1,x,2\no1,a1,f2,http,1,2\no1,a1,f3,http,4,5,6\n'
t '\x02' azure2019_dup 'HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,2\no,a,f,http,3,4\n'
t '\x00' invitro 'HashFunction,HashOwner,HashApp,minute_1,minute_2,minute_3\nf1,f1,f1,1,0,2\nf2,f2,f2,0,0,5\n'
t '\x00' azure2021 'app,func,end_timestamp,duration\na,f,1.0,0.5\na,g,60.0,1.0\nb,h,70.0,9.0\na,f,230.5,30.5'
t '\x01' azure2021_bad 'app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,2.0,-1\na,f,x,1\n'
# a regression input: once a float-to-int64 overflow (UBSan) in the 2021 reader; passes at 459c33e
t '\x01' azure2021_end_timestamp_1e30 'app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,2.0,-1\na,f,1e30,1\n'
t '\x00' dsy '"ds","y"\n"2020-01-01 00:10:00",3.5\n"2020-01-01 00:00:00",1\n2020-01-01 00:05:00,2\n2020-01-01T00:20:00Z,4\n'
t '\x01' dsy_bad 'ds,y\n2020-01-01,1\n2020-13-01,2\n2020-01-01,3\n2020-01-04,\n'
t '\x00' minute 'minute,invocations\n0,4\n1,5\n3,7\n'
t '\x03' minute_bad 'minute,invocations\n0,4\n1,x\n-1,2\n'

# ---- forecast CSVs read back (ds,y,yhat,yhat_lower,yhat_upper): the shapes the forecasters
# write (prophet_next.csv with bounds and no y, lstm_next.csv without bounds, *_full.csv with y)
# and near-valid variants, one defect each
r() { printf "$1" > "$C/forecast_rows/$2"; }
H='ds,y,yhat,yhat_lower,yhat_upper\n'
r "${H}"'2019-07-15 00:00:00,,288.457672,231.18132,365.752075\n2019-07-15 00:01:00,,288.412201,227.891556,355.644104\n2019-07-15 00:02:00,,288.366333,229.877853,362.558472\n' prophet_next.csv
r "${H}"'2019-07-15 00:00:00,,273.183075,,\n2019-07-15 00:01:00,,276.279816,,\n2019-07-15 00:02:00,,278.898224,,\n' lstm_next.csv
r "${H}"'2019-07-01 00:00:00,500,317.148987,,\n2019-07-01 00:01:00,424,322.960724,,\n2019-07-01 00:02:00,314,347.115814,,\n2019-07-01 00:03:00,0,-1.5e2,,\n' hybrid_full.csv
r "${H}"'1949-01-01,112,110.2,101.5,119\n1949-02-01,118,115.9,107.0,124.1\n1949-03-01,,130.1,121.3,139.0' monthly_no_final_newline.csv
r 'ds,y,yhat,yhat_lower,yhat_upper\r\n"2019-07-15 00:00:00","",1,"",""\r\n2019-07-15T00:01:00Z,,2,,\r\n' crlf_quoted.csv
r "${H}" header_only.csv
r 'ds,y,yhat,yhat_lower\n2019-07-15 00:00:00,,1,0\n' four_columns.csv
r "${H}"'2019-07-15 00:00:00,,1,0,2,9\n' extra_column.csv
r "${H}"'2019-07-15 00:00:00,,1,0,2\n2019-07-15 00:01:00,,1\n' short_row.csv
r "${H}"'2019-13-15 00:00:00,,1,0,2\n' bad_month.csv
r "${H}"'2019-07-15 00:00:00,nan,1e200,0x10,inf\n' bad_numbers.csv
r "${H}"'2019-07-15 00:00:00,,1,0,2\n2019-07-15 00:00:00,,1,0,2\n' duplicate_time.csv
r 'yhat,ds,y,yhat_lower,yhat_upper\n1,2019-07-15 00:00:00,,0,2\n' swapped_header.csv

# ---- 8-step forecast tables (minute,f1..f8: lstm_forecast8.csv, hybrid_forecast8.csv); first
# byte: bit 0 minute == row index, bits 1-7 max_rows + 1 (0: no limit)
e() { printf "$1" > "$C/forecast8/$2"; printf "$3" >> "$C/forecast8/$2"; }
F='minute,f1,f2,f3,f4,f5,f6,f7,f8\n'
e '\x01' env_rows "${F}"'0,322.961,318.122,315.469,315.063,316.001,317.15,318.302,319.591\n1,347.116,337.264,332.385,330.361,329.871,330.253,331.037,331.951\n2,335.107,330.787,329.042,328.678,329.13,329.969,330.928,331.88\n'
e '\x09' env_limit_3 "${F}"'0,1,2,3,4,5,6,7,8\n1,1,2,3,4,5,6,7,8\n2,1,2,3,4,5,6,7,8\n3,1,2,3,4,5,6,7,8\n'
e '\x00' hybrid_any_minutes "${F}"'20160,275.175,265.497,260.193,259.382,261.26,263.562,265.868,268.45\n20161,-0.5,0,1e15,-1e15,0.000001,7,7,7'
e '\x01' minute_not_row "${F}"'0,1,2,3,4,5,6,7,8\n2,1,2,3,4,5,6,7,8\n'
e '\x00' eight_columns "${F}"'0,1,2,3,4,5,6,7\n'
e '\x00' ten_columns "${F}"'0,1,2,3,4,5,6,7,8,9\n'
e '\x00' bad_numbers "${F}"'-1,nan,inf,0x10,1e200,1e16,"3",,\n'
e '\x01' crlf_quoted '"minute","f1","f2","f3","f4","f5","f6","f7","f8"\r\n"0",1,2,3,4,5,6,7,8\r\n'
e '\x03' header_only "${F}"
e '\x00' minute_huge "${F}"'1099511627777,1,2,3,4,5,6,7,8\n'

# ---- request bodies of the service (docs/SERVE.md): POST /api/autoscale and POST /api/observe,
# both parsers on every seed; valid bodies and one defect each
q() { printf '%s' "$1" > "$C/serve_request/$2"; }
q '{"current_instances": 5, "forecast_periods": 60}' autoscale_seed.json
q '{"current_instances": 0}' autoscale_minimal.json
q '{"current_instances": 12, "forecast_periods": 8, "function": "total", "forecaster": "lstm", "recent": [500, 424, 314, 0, 1.5e3, 7], "now": "2019-07-02T00:00:00Z"}' autoscale_all_fields.json
q '{"forecaster": "prophet", "now": "2019-07-02 00:05", "current_instances": 1000000, "function": "f\u00e9 \"q\"", "recent": [0]}' autoscale_now_space_unicode.json
q '{"current_instances": 5, "now": "2019-07-02T00:05:00+00:00", "forecaster": "hybrid"}' autoscale_now_offset.json
q '{"current_instances": 5.5}' autoscale_fraction.json
q '{"current_instances": -1, "forecast_periods": 1441}' autoscale_out_of_range.json
q '{"current_instances": 5, "current_instances": 6}' autoscale_twice.json
q '{"current_instances": 5, "recent": [1, -2, "3", null, 1e400]}' autoscale_bad_recent.json
q '{"current_instances": 5, "now": "2019-07-02T00:00:30Z"}' autoscale_now_seconds.json
q '{"current_instances": 5, "nope": true}' autoscale_unknown_key.json
q '{"current_instances": 5, "function": ""}' autoscale_empty_function.json
q '{"current_instances": 5, "forecaster": "arima", "forecast_periods": 1e2}' autoscale_bad_forecaster.json
q '[{"current_instances": 5}]' not_an_object.json
q '{"current_instances": 5} {}' text_after.json
q '{"current_instances": 5' truncated.json
q '{"function": "f", "ds": "2019-07-02T00:00:00Z", "invocations": 12}' observe_one.json
q '{"ds": "2019-07-02 00:01", "invocations": 0.5}' observe_default_function.json
q '{"observations": [{"function": "a", "ds": "2019-07-02T00:00:00Z", "invocations": 1}, {"ds": "2019-07-02T00:01:00Z", "invocations": 2}, {"function": "b", "ds": "1999-12-31T23:59:00Z", "invocations": 1e15}]}' observe_list.json
q '{"observations": []}' observe_empty_list.json
q '{"observations": [{"ds": "2019-07-02T00:00:00Z"}, 3]}' observe_missing_invocations.json
q '{"observations": [{"ds": "2019-07-02T00:00:00Z", "invocations": 1}], "function": "f"}' observe_list_and_field.json
q '{"ds": "2019-02-30T00:00:00Z", "invocations": -1}' observe_bad_date_count.json
q '2019-07-02T00:00:00Z' minute_only.txt
printf '{"current_instances": 5,\x00 "forecast_periods": 60}' > "$C/serve_request/nul_byte.json"

# ---- ds,y: the forecasters' input (from the Prophet fixtures' ds and y columns)
cut -d, -f2,4 ../fixtures/prophet/air_passengers.csv | sed '1s/.*/ds,y/' | head -13 > "$C/dsy/monthly.csv"
cut -d, -f2,4 ../fixtures/prophet/yosemite.csv | sed '1s/.*/ds,y/' | head -9 > "$C/dsy/minutes.csv"
printf 'ds,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,3.25\n"2020-01-04",4e2\n' > "$C/dsy/empty_y.csv"
printf 'ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n' > "$C/dsy/duplicate.csv"
printf 'ds,y\r\n2020-01-01 00:00:00,1\r\n2020-01-01 01:00:00,nan\r\n' > "$C/dsy/crlf_nan.csv"
printf 'y,ds\n1,2020-01-01\n' > "$C/dsy/swapped.csv"

# ---- series.csv and what the forecasters write, from small runs of the program
python3 - > "$T/m.csv" <<'PY'
import math
print("minute,invocations")
for i in range(48):
    print(f"{i},{int(50 + 40 * math.sin(i / 5.0) + (i * 7919) % 13)}")
PY
"$B" preprocess --input "$T/m.csv" --out "$T/pre" --no-plot --quiet
head -9 "$T/pre/series.csv" > "$C/series/series.csv"
head -5 "$T/pre/series.csv" | sed '4s/,[0-9.]*$/,-1/' > "$C/series/bad_log1p.csv"
head -5 "$T/pre/series.csv" | sed '3d' > "$C/series/gap.csv"
head -1 "$T/pre/series.csv" > "$C/series/header_only.csv"

cut -d, -f2,4 ../fixtures/prophet/air_passengers.csv | sed '1s/.*/ds,y/' | head -37 > "$T/ap.csv"
python3 - > "$T/hourly.csv" <<'PY'
print("ds,y")
for i in range(40):
    print(f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{10 + (i * 7) % 5}")
PY
"$B" forecast lstm --input "$T/hourly.csv" --out "$T/l1" --hidden 2 --window 4 --epochs 1 --horizon 2 --no-plot --quiet
cp "$T/l1/lstm.safetensors" "$C/lstm_weights/h2_w4.safetensors"
"$B" forecast lstm --input "$T/pre/series.csv" --out "$T/l2" --hidden 2 --layers 2 --window 3 --outputs 2 \
  --calendar --epochs 1 --horizon 2 --no-plot --quiet
cp "$T/l2/lstm.safetensors" "$C/lstm_weights/l2_k2_calendar.safetensors"
"$B" forecast prophet --input "$T/ap.csv" --out "$T/p1" --horizon 2 --no-plot --quiet
cp "$T/p1/prophet_model.json" "$C/prophet_model/monthly.json"
"$B" forecast prophet --input "$T/pre/series.csv" --out "$T/p2" --horizon 2 --no-plot --quiet
cp "$T/p2/prophet_model.json" "$C/prophet_model/minutes_log.json"

# ---- ppo_policy.safetensors: a real file's metadata, the MLPs cut to hidden 2 (the program's
# hidden 64 makes a 40 KB file); plus near-valid variants, one defect each
"$B" train-ppo --series "$T/pre" --out "$T/ppo" --envs 2 --steps 8 --total-steps 16 --holdout 8 --episode 8 \
  --no-plot --quiet
python3 - "$T/ppo/ppo_policy.safetensors" "$C" <<'PY'
import json, struct, sys
src, C = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = hdr.pop("__metadata__")
H = 2
def write(path, meta, tensors, pad_delta=0):
    h = {"__metadata__": meta}
    blob = b""
    for name, (shape, vals) in tensors.items():
        b = struct.pack("<%df" % len(vals), *vals)
        h[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(b)]}
        blob += b
    j = json.dumps(h, separators=(",", ":")).encode()
    j += b" " * ((8 - len(j) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(j) + pad_delta) + j + blob)
t = {}
for name, info in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    shape = list(info["shape"])
    layer = int(name.split(".")[1])
    rows, cols = shape[0], shape[1] if len(shape) == 2 else None
    if layer in (0, 2):
        rows = H
    if cols is not None and layer in (2, 4):
        cols = H
    newshape = [rows] + ([cols] if cols is not None else [])
    cnt = rows * (cols or 1)
    t[name] = (newshape, [((i * 37) % 11 - 5) / 10.0 for i in range(cnt)])
meta = dict(meta)
meta["hidden"] = str(H)
write(f"{C}/ppo_policy/h2.safetensors", meta, t)
bad = dict(meta); bad["hidden"] = "3"
write(f"{C}/ppo_policy/hidden_mismatch.safetensors", bad, t)
bad = dict(meta); bad["env_version"] = "0"
write(f"{C}/ppo_policy/env_version.safetensors", bad, t)
write(f"{C}/ppo_policy/header_short.safetensors", meta, t, pad_delta=-1)
PY

# ---- lstm: near-valid variants of the small file (one defect each)
python3 - "$C/lstm_weights/h2_w4.safetensors" "$C/lstm_weights" <<'PY'
import json, struct, sys
src, D = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
def write(path, h, body, delta=0):
    j = json.dumps(h, separators=(",", ":")).encode()
    j += b" " * ((8 - len(j) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(j) + delta) + j + body)
write(f"{D}/header_short.safetensors", hdr, data, -1)
h = json.loads(json.dumps(hdr)); h["__metadata__"]["hidden"] = "100000"
write(f"{D}/hidden_huge.safetensors", h, data)
h = json.loads(json.dumps(hdr)); k = next(x for x in h if x != "__metadata__"); h[k]["shape"] = [-1] + h[k]["shape"][1:]
write(f"{D}/shape_negative.safetensors", h, data)
h = json.loads(json.dumps(hdr)); h[k]["data_offsets"][1] += 4
write(f"{D}/offset_past_end.safetensors", h, data)
write(f"{D}/truncated_data.safetensors", hdr, data[:-4])
PY

# ---- prophet_model.json: near-valid variants
python3 - "$C/prophet_model/monthly.json" "$C/prophet_model" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); D = sys.argv[2]
def first_list(o):
    for k, v in o.items():
        if isinstance(v, list) and v: return k
        if isinstance(v, dict):
            r = first_list(v)
            if r: return r
b = json.loads(json.dumps(m))
k = first_list(b)
if k and k in b: b[k] = b[k][:-1]
json.dump(b, open(f"{D}/short_array.json", "w"))
open(f"{D}/truncated.json", "w").write(json.dumps(m)[:200])
PY

# ---- --config FILE.json (the fuzz target's table is preprocess's plus --holdout)
c() { printf '%s' "$1" > "$C/config/$2"; }
c '{"input":["a.csv","b.csv"],"out":"o","functions":5,"skip-bad-rows":true,"clip_k":2.5,"seed":7,"holdout":-3}' all_types.json
c '{"input":"a.csv","clip-window":61,"start":"2020-01-01 00:00:00","quiet":false,"device":"cpu"}' string_list.json
c '{"functions":1e20}' int_overflow.json
c '{"seed":-1,"holdout":9223372036854775808}' u64_i64_range.json
c '{"nope":1}' unknown_key.json
c '["input"]' not_object.json
c '{"input":[1,2]}' list_of_numbers.json
c '{"clip-k":"1e400","functions":"12abc"}' bad_text.json

# ---- hybrid_metrics.json (the per-lead Hybrid's weights and correction, as the service reads them)
h() { printf '%s\n' "$1" > "$C/hybrid_metrics/$2"; }
h '{"default": "per_lead", "per_lead": {"leads_minutes": [1, 5, 15, 60, 240, 1440], "prophet_weight": [0.275, 0.3, 0.325, 0.375, 0.475, 0.575], "residual_weight": [0.1, 0.07, 0.04, 0.02, 0.02, -0.007]}}' per_lead.json
h '{"default": "per_lead", "per_lead": {"prophet_weight": [0.25, null, null, 1, null, null]}}' no_correction.json
h '{"average": {"mae": 1}}' before_per_lead.json
h '{"per_lead": {"prophet_weight": [0, 0, 0, 0, 0, 0], "residual_weight": [0, 0, 1.5, 0, 0, 0]}}' share_out_of_range.json
h '{"per_lead": {"prophet_weight": [0, 0, 0, 0, 0]}}' five_weights.json
h '{"per_lead": {"prophet_weight": [0, "x", 0, 0, 0, 0], "residual_weight": {}}}' wrong_types.json
printf '{"per_lead": ' > "$C/hybrid_metrics/truncated.json"

du -sh "$C"/* | sort -k2
