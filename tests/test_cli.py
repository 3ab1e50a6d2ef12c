"""The command line, run in-process: help, exit statuses, output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sync.cli import cli

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    """A config and an unsynced demo workbook beside it; returns the config path."""
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n')
    result = CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return config


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def commands() -> list[tuple[list[str], object]]:
    """Every command, with groups walked into: (["balance", "rotate"], command)."""
    import click

    found: list[tuple[list[str], object]] = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            assert command.help, name
            found += [([name, sub], c) for sub, c in command.commands.items()]
        else:
            found.append(([name], command))
    return found


def test_every_command_has_help() -> None:
    for path, command in commands():
        name = " ".join(path)
        assert command.help, name  # type: ignore[attr-defined]
        result = invoke(*path, "-h")
        assert result.exit_code == 0, name  # type: ignore[attr-defined]
        assert "--config PATH" in result.output  # type: ignore[attr-defined]
        assert "-v, --verbose" in result.output  # type: ignore[attr-defined]
        assert "-q, --quiet" in result.output  # type: ignore[attr-defined]


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.output.startswith("creditsheet, version ")  # type: ignore[attr-defined]


def test_init_demo_creates_every_tab(practice: Path) -> None:
    wb = openpyxl.load_workbook(practice.parent / "practice.xlsx")
    assert wb.sheetnames == ["Clients", "Packages", "Sessions", "Templates", "Session types"]
    assert wb["Sessions"].freeze_panes == "A2"
    assert wb["Packages"]["B2"].value == "Maya Patel"


def test_init_demo_refuses_to_pollute_a_workbook_with_rows(practice: Path) -> None:
    result = invoke("init", "--demo", "--config", str(practice))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    assert "--demo only fills an empty workbook" in result.output  # type: ignore[attr-defined]


def test_init_on_an_existing_workbook_adds_only_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "mine.xlsx"\n')
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "clients"
    ws.append(["Phone", "Client"])
    ws.append(["123", "Ann"])
    wb.save(tmp_path / "mine.xlsx")
    result = invoke("init", "--config", str(config))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    wb = openpyxl.load_workbook(tmp_path / "mine.xlsx")
    assert wb.sheetnames == ["clients", "Packages", "Sessions", "Templates"]
    assert [c.value for c in wb["clients"][1]] == [
        "Phone",
        "Client",
        "Email",
        "Billing",
        "Credits left",
        "Sync note",
    ]
    assert [c.value for c in wb["clients"][2]] == ["123", "Ann", None, None, None, None]
    again = invoke("init", "--config", str(config))
    assert "nothing to do" in again.output  # type: ignore[attr-defined]


def test_sync_prints_the_summary_and_second_sync_changes_nothing(practice: Path) -> None:
    result = invoke("sync", "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "rows read:   Clients 11, Packages 9, Sessions 39, Templates 5, Session types 3" in out
    assert "packages:    1 Expired, 1 Exhausted, 2 Low, 5 Active" in out
    assert "sessions:    33 deducted, 3 not deducted, 2 rejected, 1 invalid" in out
    assert "problems:    1 row with problems" in out
    assert "(did you mean 'Maya Patel'?)" in out
    assert "cells:       247 changed" in out
    again = invoke("sync", "--config", str(practice))
    assert "cells:       0 changed" in again.output  # type: ignore[attr-defined]


def test_dry_run_prints_cell_by_cell_and_writes_nothing(practice: Path) -> None:
    workbook = practice.parent / "practice.xlsx"
    before = workbook.read_bytes()
    result = invoke("sync", "--dry-run", "--config", str(practice))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "would change:" in out
    assert "  Packages!M2: (blank) -> 3" in out
    assert "  Packages!O2: (blank) -> Low, color amber" in out
    assert "  Packages!A2: (blank) -> P-0001 (filled blank input)" in out
    assert workbook.read_bytes() == before


def test_json_summary_parses(practice: Path) -> None:
    result = invoke("sync", "--json", "--config", str(practice))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["rows_read"] == {
        "Clients": 11,
        "Packages": 9,
        "Sessions": 39,
        "Templates": 5,
        "Session types": 3,
    }
    assert data["cells_changed"] == 247
    assert data["written"] is True
    assert data["packages"] == {"Invalid": 0, "Expired": 1, "Exhausted": 1, "Low": 2, "Active": 5}
    assert data["sessions"] == {"deducted": 33, "not_deducted": 3, "rejected": 2, "invalid": 1}
    assert data["rows_with_problems"] == 1
    assert {e["kind"] for e in data["events"]} == {
        "expiring_soon",
        "expired_unused",
        "low",
        "exhausted",
        "rejected_session",
        "sheet_problem",
    }


def test_bad_config_exits_2_naming_the_key_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[rules]\nlow_credit_threshold = "two"\nsurprise = 1\n')
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.output == (  # type: ignore[attr-defined]
        f"Error: {config}: [rules] low_credit_threshold: must be a whole number (got 'two'); "
        "[rules] surprise: unknown key\n"
    )


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = invoke("check", "--config", str(tmp_path / "none.toml"))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "no config file at" in result.output  # type: ignore[attr-defined]


def test_config_from_the_environment_and_paths_relative_to_it(
    practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("CREDITSHEET_CONFIG", str(practice))
    result = invoke("sync", "-q")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert result.output == ""  # type: ignore[attr-defined]
    assert list(elsewhere.iterdir()) == []


def test_missing_workbook_exits_3(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "missing.xlsx"\n')
    result = invoke("sync", "--config", str(config))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    assert "Error: no workbook at" in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_broken_structure_exits_3_and_writes_nothing(practice: Path) -> None:
    workbook = practice.parent / "practice.xlsx"
    wb = openpyxl.load_workbook(workbook)
    wb["Sessions"].title = "Appointments"
    wb.save(workbook)
    before = workbook.read_bytes()
    result = invoke("sync", "--config", str(practice))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    assert "Error: the workbook's structure is broken, so nothing was written: " in (
        result.output  # type: ignore[attr-defined]
    )
    assert "the 'Sessions' tab is missing" in result.output  # type: ignore[attr-defined]
    assert workbook.read_bytes() == before


def test_a_workbook_open_elsewhere_exits_3_and_says_why(practice: Path) -> None:
    (practice.parent / ".~lock.practice.xlsx#").write_text("x")
    result = invoke("sync", "--config", str(practice))
    assert result.exit_code == 3  # type: ignore[attr-defined]
    assert "is open in a spreadsheet program" in result.output  # type: ignore[attr-defined]


def test_check_reports_what_is_fine_and_writes_nothing(practice: Path) -> None:
    workbook = practice.parent / "practice.xlsx"
    before = workbook.read_bytes()
    result = invoke("check", "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "ok: every required tab and column is there" in result.output  # type: ignore[attr-defined]
    assert "note: 1 row with problems" in result.output  # type: ignore[attr-defined]
    assert workbook.read_bytes() == before


def test_python_dash_m_sync_is_the_same_command(practice: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sync", "sync", "--json", "--config", str(practice)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cells_changed"] == 247


def test_check_accepts_a_workbook_with_a_chart(practice: Path) -> None:
    # The workbook is edited in place, so a chart is kept and is no reason to refuse.
    from openpyxl.chart import BarChart, Reference

    workbook = practice.parent / "practice.xlsx"
    wb = openpyxl.load_workbook(workbook)
    chart = BarChart()
    chart.add_data(Reference(wb["Templates"], min_col=2, min_row=1, max_row=3))
    wb["Templates"].add_chart(chart, "F2")
    wb.save(workbook)
    result = invoke("check", "--config", str(practice))
    assert "creditsheet will not save over it" not in result.output  # type: ignore[attr-defined]
    assert "ok: every required tab and column is there" in result.output  # type: ignore[attr-defined]


def test_a_workbook_changed_during_the_sync_exits_0_and_says_so(practice: Path) -> None:
    from sync.backends.xlsx import XlsxBackend
    from sync.config import load
    from sync.cycle import run_cycle
    from sync.views import summary

    config = load(practice)

    class EditedMeanwhile(XlsxBackend):
        """The practitioner saves the file between the sync's read and its write."""

        def read(self) -> object:  # type: ignore[override]
            snapshot = super().read()
            wb = openpyxl.load_workbook(self.path)
            wb["Clients"]["B10"] = "daniel@example.com"
            wb.save(self.path)
            return snapshot

    report = run_cycle(config, EditedMeanwhile(config.workbook_path), now=NOW)
    assert not report.outcome.written
    assert report.outcome.retry_next_cycle
    assert "changed on disk since it was read" in summary(report)
    # The next sync starts from the edited file and writes.
    result = invoke("sync", "--config", str(practice))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert openpyxl.load_workbook(config.workbook_path)["Clients"]["B10"].value == (
        "daniel@example.com"
    )
