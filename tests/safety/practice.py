"""The practice the crash runs edit and sync: the demo workbook, then a human's edits.

Stage 0 is ``creditsheet init --demo`` dated :data:`TODAY`; each later stage is
what a practitioner does between syncs (log sessions, sell a package, fix a
typo), saved the way a spreadsheet program saves: a new file renamed into place.
A crash run and the crash-free reference apply the same stages to their own copy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from sync import bootstrap
from sync.backends.xlsx import XlsxBackend
from sync.config import load

TODAY = date(2026, 11, 22)
#: 08:00 in London (UTC in November): every restart of a run stays on TODAY.
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
#: Each process of a run starts this much later than the one before: past the
#: 10-minute lease a killed process may hold on a message it was sending.
RESTART_GAP = timedelta(minutes=11)


def config_text(smtp_port: int) -> str:
    return (
        '[workbook]\npath = "practice.xlsx"\n'
        '[sync]\ninterval_seconds = 1\ntimezone = "Europe/London"\n'
        '[email]\nbackend = "smtp"\nhost = "127.0.0.1"\n'
        f'port = {smtp_port}\nsecurity = "none"\ntimeout_seconds = 10\n'
        'to = ["coach@example.com"]\nsender = "creditsheet <cs@example.com>"\n'
        "[notify]\nclients = true\n"
        '[report]\nevery = "off"\n'
    )


def create(folder: Path, smtp_port: int) -> Path:
    """The config and the demo workbook (stage 0) in ``folder``; returns the config path."""
    config_path = folder / "config.toml"
    config_path.write_text(config_text(smtp_port))
    config = load(config_path)
    XlsxBackend(config.workbook_path).prepare(bootstrap.layout(config, demo_for=TODAY))
    return config_path


def _ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _header(ws: Worksheet) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[1] if c.value is not None}


def _append(ws: Worksheet, row: dict[str, Any]) -> None:
    at, cols = ws.max_row + 1, _header(ws)
    for name, value in row.items():
        cell = ws.cell(at, cols[name], value)
        if isinstance(value, date):
            cell.number_format = "yyyy-mm-dd"


def _stage_1(wb: openpyxl.Workbook) -> None:
    """Four sessions today, a new package for Tom (blank ID and date), his session on it."""
    sessions, packages = wb["Sessions"], wb["Packages"]
    for client in ("Maya Patel", "Anh Nguyen", "Bao Nguyen", "Priya Shah"):
        _append(sessions, {"Date": _ago(0), "Client": client})
    _append(packages, {"Client": "Tom Becker", "Template": "10-Session Pack"})
    _append(sessions, {"Date": _ago(0), "Client": "Tom Becker", "Outcome": "Attended"})
    _append(sessions, {"Date": _ago(1), "Client": "Sofia Alvarez", "Outcome": "Late cancel"})


def _stage_2(wb: openpyxl.Workbook) -> None:
    """The typo fixed, Maya's pack used up (and one session too many), Sofia's last two."""
    sessions = wb["Sessions"]
    client_col = _header(sessions)["Client"]
    for row in range(2, sessions.max_row + 1):
        if sessions.cell(row, client_col).value == "Maya Patell":
            sessions.cell(row, client_col).value = "Maya Patel"
    for days in (0, 0):
        _append(sessions, {"Date": _ago(days), "Client": "Maya Patel", "Notes": "double"})
    for days in (0, 0):
        _append(sessions, {"Date": _ago(days), "Client": "Sofia Alvarez"})
    _append(sessions, {"Date": _ago(0), "Client": "Bao Nguyen", "Outcome": "No-show"})


STAGES: tuple[Callable[[openpyxl.Workbook], None], ...] = (_stage_1, _stage_2)


def edit(workbook: Path, stage: int) -> None:
    """Apply stage ``stage`` (1-based) as a spreadsheet program would save it."""
    wb = openpyxl.load_workbook(workbook)
    STAGES[stage - 1](wb)
    temp = workbook.with_name("saving-by-hand.xlsx")
    wb.save(temp)
    os.replace(temp, workbook)


Cells = dict[tuple[str, str], tuple[object, str | None]]


def cells(workbook: Path) -> Cells:
    """Every non-empty cell of every tab: its value and its background color."""
    wb = openpyxl.load_workbook(workbook)
    out: Cells = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                color = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type else None
                if c.value is not None or color is not None:
                    out[(ws.title, c.coordinate)] = (c.value, str(color) if color else None)
    return out
