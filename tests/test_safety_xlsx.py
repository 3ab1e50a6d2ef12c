"""xlsx faults: a save killed at any moment, and a workbook open in a spreadsheet program.

A child process (forked from the test, so no start-up cost per kill) runs one
real cycle on a real workbook file and is SIGKILLed: at each part of the save
(the fault points of :mod:`tests.safety.faults`), just before and just after
the rename, and at random moments of a save slowed down to last a while.
Claims: the workbook is always either the old file, byte for byte, or the new
one, loadable and equal to a crash-free cycle's; never a broken file; the
temporary file a kill leaves behind is never read and changes nothing.
With LibreOffice's or Excel's lock file present, the file is never written.
Figures: ``test-artifacts/reliability/xlsx-*.json``.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import IO

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from sync import bootstrap
from sync.backends.xlsx import XlsxBackend, lock_files
from sync.backends.xlsx.package import Package
from sync.config import Config, load
from sync.cycle import run_cycle
from tests.safety import faults, record, size
from tests.safety import practice as scenario

KILLS_AT_RANDOM = size(12, 120)
SEED = 7311
SLOW_PART = 0.03  # seconds before each part of the slowed save


def make_practice(folder: Path) -> Config:
    """The demo practice (never synced), with a file outbox: no server needed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        '[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n'
        '[email]\nto = ["coach@example.com"]\n[report]\nevery = "off"\n'
    )
    config = load(path)
    XlsxBackend(config.workbook_path).prepare(bootstrap.layout(config, demo_for=scenario.TODAY))
    return config


def sync(config: Config) -> object:
    return run_cycle(config, XlsxBackend(config.workbook_path), now=scenario.START)


def start_child(config: Config, trace: Path, crash: str | None, slow: float = 0.0) -> int:
    """Fork a process that runs one cycle with the fault points in place; its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.environ[faults.ENV_TRACE] = str(trace)
        os.environ[faults.ENV_SLOW] = str(slow)
        if crash:
            os.environ[faults.ENV_CRASH] = crash
        faults.install()
        sync(config)
        code = 0
    finally:
        os._exit(code)


def wait_child(pid: int, timeout: float = 60.0) -> int:
    """The child's end: its exit status, or minus the signal that killed it."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the child {pid} did not finish within {timeout} s")
        time.sleep(0.002)


def temp_files(folder: Path, name: str = "practice.xlsx") -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp"))


def verdict(path: Path, old: bytes, new: scenario.Cells) -> str:
    """'old' (the same bytes), 'new' (loads in both readers, the synced cells), else 'broken'."""
    data = path.read_bytes()
    if data == old:
        return "old"
    try:
        openpyxl.load_workbook(io.BytesIO(data))
        CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Sessions").to_python()
    except Exception:
        return "broken"
    return "new" if scenario.cells(path) == new else "broken"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, scenario.Cells]:
    """The unsynced workbook and the cells a crash-free cycle leaves in it."""
    folder = tmp_path_factory.mktemp("pristine")
    config = make_practice(folder)
    copy = folder / "synced"
    copy.mkdir()
    shutil.copy(config.workbook_path, copy / "practice.xlsx")
    shutil.copy(config.source, copy / "config.toml")
    synced = load(copy / "config.toml")
    sync(synced)
    return config.workbook_path, scenario.cells(synced.workbook_path)


def fresh(pristine: Path, folder: Path) -> Config:
    folder.mkdir(parents=True)
    shutil.copy(pristine, folder / "practice.xlsx")
    shutil.copy(pristine.parent / "config.toml", folder / "config.toml")
    return load(folder / "config.toml")


def test_a_kill_at_every_step_of_the_save_leaves_the_old_file_or_the_new_one(
    pristine: tuple[Path, scenario.Cells], tmp_path: Path
) -> None:
    source, new = pristine
    old = source.read_bytes()
    # A crash-free child, traced, says how many parts a save writes.
    config = fresh(source, tmp_path / "count")
    assert wait_child(start_child(config, tmp_path / "count.trace", None)) == 0
    parts = sum(1 for line in faults.lines(tmp_path / "count.trace") if line.startswith("save "))
    assert parts >= 10
    aims = [f"save:{n}" for n in range(1, parts + 1)] + ["rename:1", "renamed:1"]
    outcomes: dict[str, str] = {}
    for aim in aims:
        folder = tmp_path / aim.replace(":", "-")
        config = fresh(source, folder)
        trace = folder / "trace"
        assert wait_child(start_child(config, trace, aim)) == -signal.SIGKILL
        assert faults.lines(trace)[-1].startswith(f"kill {aim}")
        outcomes[aim] = verdict(config.workbook_path, old, new)
        left = temp_files(folder)
        # Killed before the rename: the old file, and a temporary file beside it that is
        # hidden, never a lock file's name, and (but for the last step) no workbook at all.
        if aim == "renamed:1":
            assert outcomes[aim] == "new" and left == []
        else:
            assert outcomes[aim] == "old" and len(left) == 1, (aim, left)
            assert left[0].name.startswith(".") and left[0] not in lock_files(source)
        # The next cycle is not disturbed by what the kill left behind.
        sync(config)
        assert scenario.cells(config.workbook_path) == new, aim
        assert temp_files(folder) == left
    assert set(outcomes.values()) <= {"old", "new"}
    record(
        "xlsx-steps",
        {
            "parts_per_save": parts,
            "kills": len(aims),
            "outcomes": dict(Counter(outcomes.values())),
            "broken": sum(v == "broken" for v in outcomes.values()),
        },
    )


def test_kills_at_random_moments_of_a_slow_save_never_leave_a_broken_file(
    pristine: tuple[Path, scenario.Cells], tmp_path: Path
) -> None:
    source, new = pristine
    old = source.read_bytes()
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    landed: Counter[str] = Counter()
    # How long a whole cycle with the slowed save takes, crash-free: the kills land inside.
    config = fresh(source, tmp_path / "timing")
    started = time.monotonic()
    assert wait_child(start_child(config, tmp_path / "timing.trace", None, slow=SLOW_PART)) == 0
    cycle = time.monotonic() - started
    for i in range(KILLS_AT_RANDOM):
        folder = tmp_path / f"kill-{i}"
        config = fresh(source, folder)
        trace = folder / "trace"
        pid = start_child(config, trace, None, slow=SLOW_PART)
        time.sleep(rng.uniform(0.0, cycle))
        os.kill(pid, signal.SIGKILL)
        code = wait_child(pid)
        steps = faults.lines(trace)
        last = steps[-1].split()[0] if steps else "start"
        landed[last if code == -signal.SIGKILL else "finished"] += 1
        outcome = verdict(config.workbook_path, old, new)
        outcomes[outcome] += 1
        assert outcome != "broken", (i, steps[-3:])
        assert len(temp_files(folder)) <= 1
    record(
        "xlsx-random",
        {
            "seed": SEED,
            "kills": KILLS_AT_RANDOM,
            "cycle_seconds": round(cycle, 3),
            "outcomes": dict(outcomes),
            "broken": outcomes["broken"],
            "last_step_before_the_kill": dict(landed),
        },
    )
    assert outcomes["broken"] == 0
    assert landed["save"] >= 1, landed  # the kills do land inside the save


@pytest.mark.parametrize("lock", [".~lock.practice.xlsx#", "~$practice.xlsx"])
def test_a_workbook_open_in_a_spreadsheet_program_is_never_written(
    pristine: tuple[Path, scenario.Cells], tmp_path: Path, lock: str
) -> None:
    source, _ = pristine
    config = fresh(source, tmp_path / "open")
    path = config.workbook_path
    (path.parent / lock).write_text("user,host,date\n")
    before, stat = path.read_bytes(), path.stat()
    cycles = size(25, 500)
    for i in range(cycles):
        if i % 5 == 4:  # the practitioner keeps typing (saved as LibreOffice would)
            scenario_edit = openpyxl.load_workbook(path)
            scenario_edit["Sessions"].append([date(2026, 11, 22), "Maya Patel"])
            scenario_edit.save(path)
            before, stat = path.read_bytes(), path.stat()
        report = sync(config)
        outcome = report.outcome  # type: ignore[attr-defined]
        assert not outcome.written and lock in outcome.reason
        assert path.read_bytes() == before and path.stat().st_mtime_ns == stat.st_mtime_ns
        assert temp_files(path.parent) == []
    (path.parent / lock).unlink()
    assert sync(config).outcome.written  # type: ignore[attr-defined]
    record(f"xlsx-lock-{'libreoffice' if lock.startswith('.') else 'excel'}", {"cycles": cycles})


def test_a_lock_that_appears_during_the_save_stops_the_rename(
    pristine: tuple[Path, scenario.Cells], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = pristine
    config = fresh(source, tmp_path / "late")
    path = config.workbook_path
    before = path.read_bytes()
    lock = path.with_name(f".~lock.{path.name}#")
    real_save = Package.save

    def save_then_open(package: Package, target: IO[bytes]) -> None:
        real_save(package, target)
        lock.write_text("someone opened it just now\n")

    monkeypatch.setattr(Package, "save", save_then_open)
    outcome = sync(config).outcome  # type: ignore[attr-defined]
    assert not outcome.written and "open in a spreadsheet program" in outcome.reason
    assert path.read_bytes() == before
    assert temp_files(path.parent) == []
