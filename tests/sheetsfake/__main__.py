"""Run the fake as a process: ``python -m tests.sheetsfake --port 0 --seed FILE.json``.

Prints the base URL (``http://127.0.0.1:PORT``) as the first line on stdout, then serves
until interrupted (SIGINT/SIGTERM). State lives in memory only.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .fake import FakeSheets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sheetsfake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=Path, help="JSON file of spreadsheets to create")
    parser.add_argument("--random-seed", type=int, default=0, help="seed for generated ids")
    parser.add_argument("--require-auth", action="store_true", help="401 without credentials")
    args = parser.parse_args(argv)

    fake = FakeSheets(seed=args.random_seed, require_auth=args.require_auth)
    if args.seed:
        fake.load_seed(json.loads(args.seed.read_text(encoding="utf-8")))
    server = fake.serve(args.host, args.port)
    print(server.url, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
