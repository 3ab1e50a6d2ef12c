"""`creditsheet run` as a real subprocess against a real xlsx workbook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sync.cli import cli

WAIT = 20.0  # seconds: a bound for each expectation, never a target


def wait_for(check: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A daemon process and its log."""

    def __init__(self, config: Path, *extra: str) -> None:
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self.log_file = self.log_path.open("w")
        env = {k: v for k, v in os.environ.items() if k != "CREDITSHEET_CONFIG"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync", "run", "--config", str(config), *extra],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_log(self, text: str, count: int = 1) -> None:
        wait_for(lambda: self.log().count(text) >= count, f"{text!r} x{count} in the log")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            self.log_file.close()


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[workbook]\npath = "practice.xlsx"\n'
        '[sync]\ninterval_seconds = 1\ntimezone = "Europe/London"\n'
        '[email]\nto = ["coach@example.com"]\n[report]\nevery = "off"\n'
    )
    result = CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture
def daemon(practice: Path) -> Iterator[Running]:
    running = Running(practice)
    yield running
    running.stop(signal.SIGKILL if running.proc.poll() is None else signal.SIGTERM)


def add_session(workbook: Path, client: str, day: date) -> int:
    """Log a session the way a spreadsheet program saves: a new file renamed into place."""
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Sessions"]
    row = ws.max_row + 1
    ws.cell(row, 1, day).number_format = "yyyy-mm-dd"
    ws.cell(row, 2, client)
    temp = workbook.with_name("saving.xlsx")
    wb.save(temp)
    os.replace(temp, workbook)
    return row


def session_status(workbook: Path, row: int) -> object:
    try:
        ws = openpyxl.load_workbook(workbook)["Sessions"]
    except Exception:  # caught mid-rename: try again
        return None
    return ws.cell(row, 7).value


def test_a_session_added_between_cycles_is_picked_up(daemon: Running, practice: Path) -> None:
    workbook = practice.parent / "practice.xlsx"
    daemon.wait_log("cycle ok")
    row = add_session(workbook, "Anh Nguyen", date.today())
    assert wait_for(lambda: session_status(workbook, row) == "Deducted", "the new session")
    assert daemon.stop() == 0
    assert "stopped after" in daemon.log()


def test_sigterm_exits_0_and_leaves_the_workbook_whole(practice: Path) -> None:
    running = Running(practice)
    running.wait_log("running:")  # the first cycle starts right after this line
    started = time.monotonic()
    assert running.stop() == 0
    assert time.monotonic() - started < 5
    workbook = practice.parent / "practice.xlsx"
    openpyxl.load_workbook(workbook)  # a whole file, old or new
    again = CliRunner().invoke(cli, ["sync", "--config", str(practice)])
    assert again.exit_code == 0, again.output
    assert [p.name for p in practice.parent.glob(".practice.xlsx.*")] == []


def test_a_second_instance_is_refused_naming_the_holder(daemon: Running, practice: Path) -> None:
    daemon.wait_log("cycle ok")
    second = subprocess.run(
        [sys.executable, "-m", "sync", "run", "--config", str(practice)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert second.returncode == 2
    assert f"(pid {daemon.proc.pid})" in second.stderr
    status = CliRunner().invoke(cli, ["status", "--config", str(practice)])
    assert f"daemon: running (pid {daemon.proc.pid})" in status.output


def test_an_unreachable_workbook_is_waited_for_without_a_restart(
    daemon: Running, practice: Path
) -> None:
    workbook = practice.parent / "practice.xlsx"
    away = practice.parent / "away.xlsx"
    daemon.wait_log("cycle ok")
    os.replace(workbook, away)
    daemon.wait_log("cycle failed: no workbook at")
    os.replace(away, workbook)
    row = add_session(workbook, "Anh Nguyen", date.today())
    daemon.wait_log("reachable again")
    assert wait_for(lambda: session_status(workbook, row) == "Deducted", "the new session")
    assert daemon.proc.poll() is None


def test_status_shows_what_the_cycles_did(daemon: Running, practice: Path) -> None:
    daemon.wait_log("cycle ok", count=2)
    status = CliRunner().invoke(cli, ["status", "--config", str(practice)])
    assert status.exit_code == 0, status.output
    assert "247 cells changed, 1 alert queued, 1 sent" in status.output
    assert "alerts pending delivery: none" in status.output


def test_sighup_rereads_the_config_and_a_bad_one_is_kept_out(
    daemon: Running, practice: Path
) -> None:
    daemon.wait_log("cycle ok")
    good = practice.read_text()
    practice.write_text(good + "[rules]\nlow_credit_threshold = -1\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log("SIGHUP: kept the old config")
    assert "[rules] low_credit_threshold" in daemon.log()
    practice.write_text(good.replace("[report]", '[rules]\ncurrency = "EUR"\n[report]'))
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_log("SIGHUP: config re-read")
    count = daemon.log().count("cycle ok")
    daemon.wait_log("cycle ok", count=count + 1)
    assert daemon.proc.poll() is None


def test_json_logs_one_object_per_line(practice: Path) -> None:
    running = Running(practice, "--log-format", "json")
    try:
        wait_for(lambda: '"cycle"' in running.log(), "a cycle line")
    finally:
        assert running.stop() == 0
    lines = [json.loads(line) for line in running.log().splitlines() if line.strip()]
    cycles = [line for line in lines if "cycle" in line]
    assert cycles[0]["level"] == "info"
    assert cycles[0]["cycle"]["rows_read"]["Sessions"] == 39
    assert lines[-1]["message"].startswith("stopped after")
