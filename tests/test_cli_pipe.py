"""A reader that closes the pipe early (``creditsheet status | head -1``) ends the
command quietly: no "Error:", no Python name, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def creditsheet(
    *args: str, cwd: Path, stdout: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pipe")
    (folder / "config.toml").write_text('[workbook]\npath = "practice.xlsx"\n')
    assert creditsheet("init", "--demo", cwd=folder).returncode == 0
    assert creditsheet("sync", cwd=folder).returncode == 0
    return folder


def into_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command's standard output is a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return creditsheet(*args, cwd=cwd, stdout=write)
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args", [("status",), ("sync", "--dry-run"), ("export", "--to", "-"), ("report",)]
)
def test_a_closed_pipe_ends_the_command_quietly(practice: Path, args: tuple[str, ...]) -> None:
    done = into_closed_pipe(*args, cwd=practice)
    assert done.stderr == ""
    assert done.returncode == 0


def test_the_output_is_whole_when_the_reader_stays(practice: Path) -> None:
    done = creditsheet("status", cwd=practice)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[0] == "daemon: not running"
    assert "last cycles:" in done.stdout


def test_a_real_head_takes_the_first_line(practice: Path) -> None:
    shell = f"{sys.executable} -m sync status | head -1; echo status=${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=practice,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.stdout.splitlines()[0] == "daemon: not running"
    assert done.stdout.splitlines()[-1] in ("status=0", "status=141")
    assert "Error" not in done.stderr and "BrokenPipe" not in done.stderr
