"""A real HTTP server that receives webhooks for the integration tests.

Answers the n-th POST with the n-th scripted reply, then 200. A reply is a
status ("500"), a status with Retry-After seconds ("429:2"), or "hang" (never
answer). With --secret, checks each request's Standard Webhooks signature
with the `standardwebhooks` package from PyPI: an implementation we did not
write. Appends one JSON line per request to DIR/requests.jsonl. Prints
"READY <port>" once listening; stops when stdin closes.

    python3 webhook_sink.py --port 0 --dir /tmp/hooks [--script 500,429:2,410] [--secret whsec_...]
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--script", default="")
    parser.add_argument("--secret")
    args = parser.parse_args()
    script = [s for s in args.script.split(",") if s]
    verifier = standardwebhooks.Webhook(args.secret) if args.secret else None
    lock = threading.Lock()
    log_path = os.path.join(args.dir, "requests.jsonl")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = None
            if verifier is not None:
                try:
                    verifier.verify(body, headers)
                    verified = True
                except Exception as e:  # any failure is recorded, not raised
                    verified = f"{type(e).__name__}: {e}"
            with lock:
                reply = script.pop(0) if script else "200"
                record = {
                    "path": self.path,
                    "headers": headers,
                    "body": body.decode("utf-8", "replace"),
                    "verified": verified,
                    "reply": reply,
                    "at": time.time(),
                }
                with open(log_path, "a") as f:
                    f.write(json.dumps(record) + "\n")
            if reply == "hang":
                time.sleep(3600)
                return
            status, _, retry_after = reply.partition(":")
            self.send_response(int(status))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"test sink says {status}".encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_address[1]}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
