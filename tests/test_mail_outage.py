"""An SMTP outage, end to end: aiosmtpd on loopback is down during a sync, then back up.

A `creditsheet sync` run by hand tries every pending email at once and sends
each exactly once; the daemon under the same outage keeps its backoff, until a
`creditsheet test-email` that gets through tells its next cycle to try at once.
"""

from __future__ import annotations

import signal
from pathlib import Path

from click.testing import CliRunner

from sync.cli import cli
from sync.config import load
from sync.store import Store
from tests.mailfixtures import Recorder, free_port, smtp_server
from tests.test_daemon import Running, wait_for


def practice(tmp_path: Path, port: int, *, interval: int = 60) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[workbook]\npath = "practice.xlsx"\n'
        f'[sync]\ninterval_seconds = {interval}\ntimezone = "Europe/London"\n'
        '[report]\nevery = "off"\n'
        '[email]\nbackend = "smtp"\nhost = "127.0.0.1"\n'
        f'port = {port}\nsecurity = "none"\ntimeout_seconds = 5\n'
        'to = ["coach@example.com"]\nsender = "creditsheet <cs@example.com>"\n'
    )
    done = CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)])
    assert done.exit_code == 0, done.output
    return config


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def pending(config: Path) -> int:
    with Store(load(config).state_path) as store:
        return len(store.outbox.pending())


def test_a_sync_by_hand_after_an_outage_sends_the_pending_email_once(tmp_path: Path) -> None:
    port = free_port()
    config = practice(tmp_path, port)
    down = invoke("sync", "--config", str(config))
    assert "alerts:      1 queued, 0 sent, 1 pending, 1 failed to send" in down
    status = invoke("status", "--config", str(config))
    assert "alerts pending delivery: 1" in status
    assert "next try " in status and ", 1 try so far)" in status
    assert "last error: " in status and "refused" in status
    handler = Recorder()
    with smtp_server(handler, port=port):
        # The backoff has a minute or so to run: a sync by hand does not wait for it.
        up = invoke("sync", "--config", str(config))
        assert "alerts:      0 queued, 1 sent, 0 pending" in up
        again = invoke("sync", "--config", str(config))
        assert "alerts:      0 queued, 0 sent, 0 pending" in again
    assert len(handler.messages) == 1
    assert handler.messages[0]["Subject"] == "creditsheet: 8 things need your attention"
    assert pending(config) == 0
    assert "alerts pending delivery: none" in invoke("status", "--config", str(config))


def test_the_daemon_keeps_its_backoff_until_a_test_email_gets_through(tmp_path: Path) -> None:
    port = free_port()
    config = practice(tmp_path, port, interval=1)
    daemon = Running(config)
    try:
        daemon.wait_log("could not send 'creditsheet: 8 things need your attention'")
        handler = Recorder()
        with smtp_server(handler, port=port):
            # The server is back, but the alert email's next try is 30 s or more away:
            # several cycles go by and none of them sends it.
            seen = daemon.log().count("cycle ok")
            daemon.wait_log("cycle ok", count=seen + 3)
            assert handler.messages == []
            assert pending(config) == 1
            sent = invoke("test-email", "--config", str(config))
            assert "1 email waiting in the outbox" in sent
            assert [m["Subject"] for m in handler.messages] == ["creditsheet test email"]
            daemon.wait_log("a test email went through: trying the pending emails now")
            wait_for(lambda: len(handler.messages) == 2, "the alert email sent by the daemon")
            seen = daemon.log().count("cycle ok")
            daemon.wait_log("cycle ok", count=seen + 2)
        subjects = [m["Subject"] for m in handler.messages]
        assert subjects == [
            "creditsheet test email",
            "creditsheet: 8 things need your attention",
        ]
        assert pending(config) == 0
    finally:
        assert daemon.stop(signal.SIGTERM) == 0
