"""`deadlines notify` on a generated portfolio, through a real SMTP server on loopback.

What it does:

1. Writes a CSV of N contracts (default 1,000), spread round-robin over the six shipped
   agreements, each owned by one of --owners people (default 25), with a 12-month term that
   renews by itself with 30 days' notice for two contracts in three and does not renew for the
   third; the starts fall within the year before the as-of date, so some notice deadlines and
   expiries come within 7 days. `deadlines import` turns it into event logs, and each log gets
   a breach notice 25 days before the as-of date (its cure, 30 days, falls within 7 days).
2. Starts aiosmtpd on a loopback port, then times `deadlines notify` (a subprocess: the
   command a cron job runs, interpreter start-up included) at a fixed as-of date:
     first    every alert the portfolio has (the first run after an import: missed recurring
              duties included), one message per owner
     again    the same run at once: nothing new, 0 messages
     later    one day later: what entered a new stage overnight
3. Prints wall time, the messages the server accepted and the alerts they held.

    python bench/notify.py                     # 1,000 contracts, 25 owners
    python bench/notify.py --contracts 200 --owners 10
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

AS_OF = date(2026, 6, 1)
AGREEMENTS = ("freshhawk-standard", "freshhawk-enterprise", "openmethods", "bcr", "aircall",
              "zuper")
ROOT = Path(__file__).resolve().parent.parent


def deadlines() -> list[str]:
    return [sys.executable, "-m", "deadlines"]


def write_portfolio(folder: Path, contracts: int, owners: int) -> None:
    lines = ["id,agreement,start,name,owner,term_initial,term_auto_renew,term_notice"]
    for i in range(contracts):
        start = AS_OF - timedelta(days=20 + (i * 7) % 345)
        auto = i % 3 != 2
        who = i % owners
        lines.append(f"c{i:05d},{AGREEMENTS[i % len(AGREEMENTS)]},{start.isoformat()},"
                     f"Contract {i},Owner {who} <owner{who}@example.org>,12 months,"
                     f"{'true' if auto else 'false'},{'30 days' if auto else ''}")
    (folder / "contracts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run([*deadlines(), "import", "contracts.csv"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    breach = (AS_OF - timedelta(days=25)).isoformat()
    for path in sorted((folder / "events").glob("*.yaml")):
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"  - id: breach-1\n    type: breach_notice\n    at: {breach}\n")


class Server:
    """aiosmtpd on 127.0.0.1, counting what it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                server.messages.append(email.message_from_bytes(envelope.content,
                                                                policy=email.policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def timed_run(folder: Path, server: Server, as_of: str) -> tuple[float, int, int]:
    before = len(server.messages)
    started = time.perf_counter()
    result = subprocess.run([*deadlines(), "notify", "--as-of", as_of, "--smtp",
                             f"127.0.0.1:{server.port}", "--from", "deadlines@example.org"],
                            cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"notify failed ({result.returncode}): {result.stderr}")
    new = server.messages[before:]
    alerts = sum(str(m.get_body(("plain",)).get_content()).count("\n  Due: ") for m in new)
    return elapsed, len(new), alerts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--owners", type=int, default=25)
    parser.add_argument("--keep", type=Path, default=None, help="keep the portfolio here")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="deadlines-notify-"))
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    try:
        write_portfolio(folder, args.contracts, args.owners)
        server = Server()
        try:
            print(f"{args.contracts} contracts, {args.owners} owners, as of {AS_OF}")
            for label, as_of in (("first", f"{AS_OF}T08:00"), ("again", f"{AS_OF}T08:05"),
                                 ("later", f"{AS_OF + timedelta(days=1)}T08:00")):
                seconds, messages, alerts = timed_run(folder, server, as_of)
                print(f"  {label:<6} {seconds:6.2f} s  {messages:4d} message(s)  "
                      f"{alerts:6d} alert(s)")
        finally:
            server.stop()
        if args.keep is not None:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
