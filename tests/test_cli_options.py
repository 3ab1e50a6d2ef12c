"""`--config`, `-v` and `-q` before or after the command's name: the same run either way.

Each command runs twice, in-process, on two identical practices: once with the
options before its name (``creditsheet --config c.toml sync``) and once after
(``creditsheet sync --config c.toml``). The exit status, the output (with the
folder, times, durations and random links masked) and the files left behind
must be the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sync import bootstrap
from sync.cli import cli
from sync.config import load
from sync.lock import InstanceLock

BASE = "https://credits.example.com"


def write_practice(folder: Path, *, balance: bool = False) -> Path:
    """A synced-before-nothing demo practice in ``folder``; returns its config."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    text = (
        '[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n'
        '[email]\nto = ["coach@example.com"]\n'
    )
    if balance:
        text += f'[balance]\nenabled = true\nbase_url = "{BASE}"\n'
    config.write_text(text)
    done = CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)])
    assert done.exit_code == 0, done.output
    return config


def synced(folder: Path, *, balance: bool = False) -> Path:
    config = write_practice(folder, balance=balance)
    done = CliRunner().invoke(cli, ["sync", "-q", "--config", str(config)])
    assert done.exit_code == 0, done.output
    return config


@contextmanager
def daemon_running(config: Path) -> Iterator[None]:
    """Hold the workbook's daemon lock, as a running `creditsheet run` would."""
    lock = InstanceLock(bootstrap.workbook_id(load(config)))
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def nothing(config: Path) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class Case:
    """A command line (without the common options) and the practice it runs on."""

    args: tuple[str, ...]
    prepare: Callable[[Path], Path] = write_practice
    around: Callable[[Path], object] = field(default=nothing)


CASES = {
    "init": Case(("init",)),
    "init --demo": Case(("init", "--demo"), prepare=lambda d: _bare(d)),
    "sync": Case(("sync",)),
    "sync --dry-run": Case(("sync", "--dry-run")),
    "sync --json": Case(("sync", "--json")),
    "check": Case(("check",)),
    "report": Case(("report",), prepare=synced),
    "report --send": Case(("report", "--send"), prepare=synced),
    "test-email": Case(("test-email",)),
    "status": Case(("status",), prepare=synced),
    "run": Case(("run",), around=daemon_running),
    "serve": Case(("serve",)),
    "export": Case(("export", "--to", "ledger.csv"), prepare=synced),
    "balance rotate": Case(
        ("balance", "rotate", "Maya Patel"), prepare=lambda d: synced(d, balance=True)
    ),
}


def _bare(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n')
    return config


def masked(text: str, folder: Path, cwd: Path) -> str:
    text = text.replace(str(folder), "<folder>").replace(str(cwd), "<cwd>")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,\d+| \w+)", "<time>", text)
    text = re.sub(r"\d+\.\d+ s\b", "<seconds> s", text)
    text = re.sub(r'"duration_seconds": [0-9.e-]+', '"duration_seconds": 0', text)
    text = re.sub(r"pid \d+", "pid <pid>", text)
    text = re.sub(r"creditsheet-[0-9a-f]{16}\.lock", "<lock>", text)
    text = _tokens_masked(text)
    return re.sub(r"at \d\d:\d\d UTC", "at <hh:mm> UTC", text)


def _token_masked(value: object) -> object:
    """A balance link's random part masked (each practice gets its own tokens)."""
    return _tokens_masked(value) if isinstance(value, str) else value


def _tokens_masked(text: str) -> str:
    return re.sub(re.escape(BASE) + r"/b/[A-Za-z0-9_-]+", f"{BASE}/b/<token>", text)


def leftovers(folder: Path, cwd: Path) -> dict[str, object]:
    """What a run leaves behind: every workbook cell, how many emails went out, and
    any file it wrote where it was run."""
    found: dict[str, object] = {}
    workbook = folder / "practice.xlsx"
    if workbook.exists():
        wb = openpyxl.load_workbook(workbook)
        found["workbook"] = {
            ws.title: [[_token_masked(v) for v in row] for row in ws.iter_rows(values_only=True)]
            for ws in wb
        }
    outbox = folder / "outbox"
    found["emails"] = len(list(outbox.glob("*.eml"))) if outbox.exists() else 0
    found["here"] = {
        f.name: f.read_bytes().replace(str(folder).encode(), b"<folder>") for f in cwd.iterdir()
    }
    return found


def run(
    case: Case,
    tmp_path: Path,
    options: tuple[str, ...],
    before: bool,
    chdir: Callable[[Path], None],
) -> tuple[object, ...]:
    """Run ``case`` with the options before or after its name, from an empty folder
    (so no ./config.toml is there to be found by default)."""
    form = "before" if before else "after"
    folder, cwd = tmp_path / form, tmp_path / f"{form}-cwd"
    cwd.mkdir()
    config = case.prepare(folder)
    common = ["--config", str(config), *options]
    line = [*common, *case.args] if before else [*case.args, *common]
    chdir(cwd)
    with case.around(config):  # type: ignore[attr-defined]
        result = CliRunner().invoke(cli, line)
    return result.exit_code, masked(result.output, folder, cwd), leftovers(folder, cwd)


@pytest.mark.parametrize("options", [(), ("-q",), ("-v",)], ids=["config", "quiet", "verbose"])
@pytest.mark.parametrize("name", list(CASES))
def test_common_options_before_or_after_the_command_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, options: tuple[str, ...]
) -> None:
    case = CASES[name]
    monkeypatch.delenv("CREDITSHEET_CONFIG", raising=False)
    results = [run(case, tmp_path, options, before, monkeypatch.chdir) for before in (True, False)]
    (code_before, out_before, files_before), (code_after, out_after, files_after) = results
    assert (code_before, out_before) == (code_after, out_after)
    assert files_before == files_after
    # And the options did their job: the config was the one named (no ./config.toml
    # default), and -q kept a successful sync silent.
    assert "no config file at config.toml" not in out_before
    if name == "sync" and options == ("-q",):
        assert (code_before, out_before) == (0, "")


def test_every_command_is_covered() -> None:
    import click

    names = set()
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names |= {f"{name} {sub}" for sub in command.commands}
        else:
            names.add(name)
    assert names <= {case.split(" --")[0] for case in CASES}


def test_after_the_name_wins_when_both_are_given(tmp_path: Path) -> None:
    right = write_practice(tmp_path / "right")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[workbook]\npath = "nowhere.xlsx"\n')
    result = CliRunner().invoke(cli, ["--config", str(wrong), "sync", "--config", str(right)])
    assert result.exit_code == 0, result.output
    assert "rows read:   Clients 11" in result.output
    backwards = CliRunner().invoke(cli, ["--config", str(right), "sync", "--config", str(wrong)])
    assert backwards.exit_code == 3
    assert "nowhere.xlsx" in backwards.output


def test_quiet_before_and_verbose_after_both_count(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "missing.xlsx"\n')
    result = CliRunner().invoke(cli, ["-q", "sync", "-v", "--config", str(config)])
    assert result.exit_code == 3
    assert "Traceback" in result.output  # -v after the name: tracebacks shown
    assert "Error: no workbook at" in result.output


def test_help_shows_the_common_options_once_where_a_command_is_described() -> None:
    for line in (["sync", "--help"], ["balance", "rotate", "--help"]):
        out = CliRunner().invoke(cli, line).output
        assert out.count("--config PATH") == 1, line
        assert out.count("-v, --verbose") == 1 and out.count("-q, --quiet") == 1, line
    top = CliRunner().invoke(cli, ["--help"]).output
    assert "-v, --verbose" not in top  # listed by each command's help, not twice
    assert "before or\n  after its name" in top


def test_run_and_serve_start_with_the_options_before_their_name(tmp_path: Path) -> None:
    """The two commands that keep running, for real, as subprocesses (their form with
    the options after the name is what test_daemon and test_balance_e2e start)."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = synced(tmp_path, balance=True)
    with config.open("a") as f:
        f.write(f'listen = "127.0.0.1:{port}"\n[report]\nevery = "off"\n')
    log = tmp_path / "run.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "sync", "--config", str(config), "-v", "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "sync", "-q", "--config", str(config), "serve"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while "cycle ok" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/b/x", timeout=5):
                        pass
                except urllib.error.HTTPError as err:  # the server answers: no such page
                    assert err.code == 404
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.1)
        finally:
            daemon.send_signal(signal.SIGTERM)
            server.terminate()
            assert daemon.wait(timeout=20) == 0
            server.wait(timeout=20)
    assert f"running: {config.parent / 'practice.xlsx'}" in log.read_text()  # the config named
