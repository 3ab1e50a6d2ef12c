"""`creditsheet run` as a real subprocess against the Sheets API fake over loopback HTTP.

The fake lives in this test process (so its state survives an outage of its
HTTP server); the daemon reaches it through ``CREDITSHEET_SHEETS_ENDPOINT``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from rules.values import date_to_serial
from sync.backends.google import ENDPOINT_ENV
from tests.sheetsfake import FakeSheets
from tests.test_daemon import WAIT, wait_for

REPO = Path(__file__).resolve().parents[1]


def run(endpoint: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "CREDITSHEET_CONFIG"}
    env[ENDPOINT_ENV] = endpoint
    return subprocess.Popen(
        [sys.executable, "-m", "sync", "run", "--config", str(config)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env=env,
    )


def test_the_daemon_on_google_picks_up_sessions_and_survives_an_outage(tmp_path: Path) -> None:
    fake = FakeSheets(seed=11)
    sid = fake.create_spreadsheet("Practice")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[workbook]\nbackend = "google"\nspreadsheet = "{sid}"\n'
        '[sync]\ninterval_seconds = 1\ntimezone = "Europe/London"\n[report]\nevery = "off"\n'
    )
    log = tmp_path / "daemon.log"
    server = fake.serve()
    port = int(server.url.rsplit(":", 1)[1])
    env = {**os.environ, ENDPOINT_ENV: server.url}
    made = subprocess.run(
        [sys.executable, "-m", "sync", "init", "--demo", "--config", str(config)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    daemon = run(server.url, config, log)
    try:
        wait_for(lambda: "cycle ok" in log.read_text(), "the first cycle")
        # A session logged in the sheet, as the practitioner would type it.
        row = len(fake.values(sid, "Sessions")) + 1
        fake.set_values(sid, "Sessions", f"A{row}", [[date_to_serial(date.today()), "Anh Nguyen"]])
        wait_for(
            lambda: (
                len(fake.values(sid, "Sessions")[row - 1]) > 6
                and fake.values(sid, "Sessions")[row - 1][6] == "Deducted"
            ),
            "the new session to be deducted",
        )
        second = subprocess.run(
            [sys.executable, "-m", "sync", "run", "--config", str(config)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert second.returncode == 2 and f"(pid {daemon.pid})" in second.stderr

        server.close()  # Google unreachable for a while
        wait_for(lambda: "cycle failed:" in log.read_text(), "a failed cycle")
        fake.set_values(
            sid, "Sessions", f"A{row + 1}", [[date_to_serial(date.today()), "Bao Nguyen"]]
        )
        server = fake.serve(port=port)  # back, on the same address
        wait_for(lambda: "reachable again" in log.read_text(), "recovery", timeout=60)
        wait_for(
            lambda: (
                len(fake.values(sid, "Sessions")[row]) > 6
                and fake.values(sid, "Sessions")[row][6] == "Deducted"
            ),
            "the session typed during the outage",
        )
        assert daemon.poll() is None
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert daemon.wait(timeout=WAIT) == 0
        assert time.monotonic() - started < 10
    finally:
        if daemon.poll() is None:
            daemon.kill()
        server.close()
