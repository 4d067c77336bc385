#!/usr/bin/env python3
"""range_http_server.py: a tiny loopback HTTP server for tests/test_download.c.

The real archive's host cannot be reached from our machines, so the download test serves its own
archive through this server, which understands what hs_download_azure2019 relies on: HEAD,
`Range: bytes=N-` (and `bytes=N-M`) answered with 206 and Content-Range, 416 past the end, and
404 for missing files. Two flags simulate bad networks and servers:

  --drop-after K   the first GET sends the full Content-Length but only K bytes, then closes
  --ignore-range   answer every GET with 200 and the whole file, whatever Range says

It binds 127.0.0.1 on a free port (or --port), prints the port on stdout, and exits by itself
after --lifetime seconds so that a crashed test never leaves it behind. Standard library only.
"""
import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(root, drop_after, ignore_range, verbose):
    state = {"dropped": False}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if verbose:
                sys.stderr.write("range_http_server: " + (fmt % args) + "\n")

        def _file(self):
            rel = self.path.split("?", 1)[0].split("#", 1)[0].lstrip("/")
            full = os.path.realpath(os.path.join(root, rel))
            if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
                return None
            return full

        def _range(self, size):
            """(start, end) inclusive for a satisfiable range, None for no range, 'bad' for 416."""
            h = self.headers.get("Range")
            if ignore_range or not h or not h.startswith("bytes=") or "," in h:
                return None
            a, _, b = h[len("bytes="):].strip().partition("-")
            try:
                if a == "":
                    n = int(b)
                    start, end = max(size - n, 0), size - 1
                else:
                    start = int(a)
                    end = int(b) if b else size - 1
            except ValueError:
                return None
            if start >= size or start > end:
                return "bad"
            return start, min(end, size - 1)

        def _answer(self, body):
            path = self._file()
            if path is None:
                msg = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(msg)))
                self.send_header("Connection", "close")
                self.end_headers()
                if body:
                    self.wfile.write(msg)
                self.close_connection = True
                return
            size = os.path.getsize(path)
            rng = self._range(size)
            if rng == "bad":
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                return
            if rng is None:
                start, end = 0, size - 1
                self.send_response(200)
            else:
                start, end = rng
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            length = end - start + 1 if size else 0
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            if not ignore_range:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if not body:
                return
            limit = length
            with lock:
                if drop_after is not None and not state["dropped"]:
                    state["dropped"] = True
                    limit = min(length, drop_after)
            with open(path, "rb") as f:
                f.seek(start)
                left = limit
                while left > 0:
                    chunk = f.read(min(left, 65536))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            self.wfile.flush()

        def do_HEAD(self):
            self._answer(False)

        def do_GET(self):
            self._answer(True)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="folder whose files are served")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--drop-after", type=int, default=None, help="cut the first GET after K bytes")
    ap.add_argument("--ignore-range", action="store_true", help="answer 200 with the whole file")
    ap.add_argument("--lifetime", type=float, default=60.0, help="exit after this many seconds")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args()

    handler = make_handler(args.root, args.drop_after, args.ignore_range, args.verbose)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    srv.daemon_threads = True
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    deadline = time.monotonic() + args.lifetime
    srv.timeout = 0.2
    while time.monotonic() < deadline:
        srv.handle_request()
    srv.server_close()


if __name__ == "__main__":
    main()
