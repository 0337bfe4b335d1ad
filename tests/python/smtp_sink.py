#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): accepts every message on 127.0.0.1:PORT and
writes each to DIR/<n>.eml (the raw message, with `X-Envelope-To:` lines first).

Usage: smtp_sink.py PORT DIR [--die-after N]. Prints "ready" once listening; runs until
killed.

With `--die-after N` it stands for a mail server that crashes during a send: it accepts N
messages as usual, and when the next message's DATA has been received it exits at once
(os._exit, nothing written, no reply), so the client sees the connection drop before the
server says whether it took the message, and later connections are refused.
"""

import argparse
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, die_after=None):
        self.directory = directory
        self.die_after = die_after
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.die_after is not None and self.count >= self.die_after:
            print(
                f"smtp_sink: dying, as asked, after {self.count} messages "
                f"(a message to {', '.join(envelope.rcpt_tos)} is left unanswered)",
                file=sys.stderr,
                flush=True,
            )
            # Abruptly: no reply, no cleanup; the kernel closes the sockets.
            os._exit(3)
        self.count += 1
        path = os.path.join(self.directory, f"{self.count:04}.eml")
        with open(path + ".tmp", "wb") as f:
            for rcpt in envelope.rcpt_tos:
                f.write(f"X-Envelope-To: {rcpt}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description="A real SMTP server for tests.")
    parser.add_argument("port", type=int)
    parser.add_argument("directory")
    parser.add_argument(
        "--die-after",
        type=int,
        default=None,
        metavar="N",
        help="accept N messages, then exit abruptly when the next one's DATA arrives",
    )
    args = parser.parse_args()
    if args.die_after is not None and args.die_after < 0:
        parser.error("--die-after takes a number of messages, 0 or more")
    sink = Sink(args.directory, args.die_after)
    controller = Controller(sink, hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
