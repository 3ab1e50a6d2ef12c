"""End to end: ``creditsheet init --demo`` and ``sync --json`` as separate processes against the
Sheets API fake served over loopback HTTP (``CREDITSHEET_SHEETS_ENDPOINT``), compared with the
xlsx backend on the same demo practice: the same statuses, notes and summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner

from rules.tabs import column_letter
from rules.values import serial_to_date
from sync.backends.google import ENDPOINT_ENV
from sync.cli import cli
from tests.sheetsfake import FakeSheets

REPO = Path(__file__).resolve().parents[1]
COMPARED = ("Clients", "Packages", "Sessions", "Templates")
SUMMARY_KEYS = (
    "rows_read",
    "cells_changed",
    "written",
    "packages",
    "sessions",
    "rows_with_problems",
    "problems",
    "structural_problems",
    "events",
)


def write_config(folder: Path, workbook: str) -> Path:
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text(
        f'[workbook]\n{workbook}\n[sync]\ntimezone = "Europe/London"\n'
        '[email]\nto = ["me@example.com"]\n',
        encoding="utf-8",
    )
    return path


def creditsheet(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENDPOINT_ENV: endpoint}
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None if value == "" else value


def google_rows(fake: FakeSheets, sid: str, tab: str) -> list[list[Any]]:
    rows = []
    for r, row in enumerate(fake.values(sid, tab), start=1):
        out = []
        for c, value in enumerate(row):
            fmt = fake.cell(sid, tab, f"{column_letter(c)}{r}").number_format or {}
            if isinstance(value, int | float) and fmt.get("type") == "DATE":
                value = serial_to_date(value)
            out.append(plain(value))
        rows.append(out)
    return rows


def xlsx_rows(path: Path, tab: str) -> list[list[Any]]:
    rows = [[plain(v) for v in row] for row in openpyxl.load_workbook(path)[tab].values]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def test_sync_over_http_matches_the_xlsx_backend_on_the_same_practice(tmp_path: Path) -> None:
    fake = FakeSheets(seed=4)
    sid = fake.create_spreadsheet("Practice")
    google = write_config(tmp_path / "google", f'backend = "google"\nspreadsheet = "{sid}"')
    local = write_config(tmp_path / "xlsx", 'path = "practice.xlsx"')

    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--demo", "--config", str(local)]).exit_code == 0
    done = runner.invoke(cli, ["sync", "--json", "--config", str(local)])
    assert done.exit_code == 0, done.output
    expected = json.loads(done.output)

    with fake.serve() as server:
        made = creditsheet(server.url, "init", "--demo", "--config", str(google))
        assert made.returncode == 0, made.stderr
        assert "Sessions: added a dropdown to Outcome" in made.stdout
        synced = creditsheet(server.url, "sync", "--json", "--config", str(google))
        assert synced.returncode == 0, synced.stderr
        again = creditsheet(server.url, "sync", "--json", "--config", str(google))
        assert again.returncode == 0, again.stderr

    summary = json.loads(synced.stdout)
    assert summary["workbook"] == f"Google Sheets 'Practice' ({sid})"
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: expected[k] for k in SUMMARY_KEYS}
    assert summary["sessions"]["rejected"] >= 1 and summary["rows_with_problems"] >= 1
    assert json.loads(again.stdout)["cells_changed"] == 0
    for tab in COMPARED:
        assert google_rows(fake, sid, tab) == xlsx_rows(tmp_path / "xlsx" / "practice.xlsx", tab)
    assert any(isinstance(v, date) for row in google_rows(fake, sid, "Packages") for v in row)
