"""A real SMTP server for the integration tests (aiosmtpd), writing each
accepted message to DIR/<n>.eml and its envelope recipients to DIR/<n>.rcpt.
Prints "READY <port>" once listening (--port 0 picks a free port); stops
when stdin closes (the test dropped its handle) or on SIGTERM.

    python3 smtp_sink.py --port 2525 --dir /tmp/mail [--temp-fail N] [--perm-fail] [--auth]

With --auth, the server offers AUTH (PLAIN, LOGIN) without TLS, accepts any
login, and appends each login name to DIR/logins.
"""

import argparse
import asyncio
import itertools
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, out_dir, temp_fail, perm_fail):
        self.out_dir = out_dir
        self.temp_fail = temp_fail
        self.perm_fail = perm_fail
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.perm_fail:
            return "554 5.7.1 Message rejected by test server"
        if self.temp_fail > 0:
            self.temp_fail -= 1
            return "451 4.3.0 Temporary failure, try again later"
        n = next(self.counter)
        tmp = os.path.join(self.out_dir, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        # The envelope recipients: who the message really went to.
        with open(os.path.join(self.out_dir, f"{n:04}.rcpt"), "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        os.rename(tmp, os.path.join(self.out_dir, f"{n:04}.eml"))
        return "250 2.0.0 Message accepted"


async def serve(args):
    handler = Sink(args.dir, args.temp_fail, args.perm_fail)
    loop = asyncio.get_running_loop()
    def accept_any(server, session, envelope, mechanism, auth_data):
        with open(os.path.join(args.dir, "logins"), "a") as f:
            f.write(auth_data.login.decode() + "\n")
        return AuthResult(success=True)

    def smtp():
        if args.auth:
            return SMTP(handler, authenticator=accept_any, auth_require_tls=False)
        return SMTP(handler)

    # Port 0 lets the OS pick a free port, which we report: no race with
    # other tests for a port chosen in advance.
    server = await loop.create_server(smtp, host="127.0.0.1", port=args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--temp-fail", type=int, default=0)
    parser.add_argument("--perm-fail", action="store_true")
    parser.add_argument("--auth", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
