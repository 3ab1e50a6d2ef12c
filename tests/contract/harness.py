"""One harness per workbook backend, so the contract tests run against each.

A harness creates a real workbook from plain rows, hands out the backend the
program would use, and reads back what is in the workbook afterwards (values
normalised: dates as ``date``, whole floats as ``int``; colors as ``#RRGGBB``).
The Google harness runs the real gspread client against the Sheets API fake
(``tests/sheetsfake``) in-process; ``close()`` stops routing requests to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from rules.tabs import column_letter
from rules.values import serial_to_date
from sync.backends.base import Backend
from sync.backends.google import GoogleBackend
from sync.backends.google.client import RetryPolicy
from sync.backends.xlsx import XlsxBackend
from tests.sheetsfake import GOOGLE_BASE_URL, CellView, FakeSheets

Rows = Sequence[Sequence[object]]


class Harness(Protocol):
    name: str

    def create(self, tabs: Mapping[str, Rows]) -> Backend: ...

    def values(self, tab: str) -> list[list[object]]: ...

    def color(self, tab: str, row: int, col: int) -> str | None: ...

    def is_text(self, tab: str, row: int, col: int) -> bool: ...


def normal(value: object) -> object:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "":
        return None
    return value


class XlsxHarness:
    name = "xlsx"

    def __init__(self, folder: Path) -> None:
        self.path = folder / "practice.xlsx"

    def create(self, tabs: Mapping[str, Rows]) -> Backend:
        wb = openpyxl.Workbook()
        assert wb.active is not None
        wb.remove(wb.active)
        for title, rows in tabs.items():
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(list(row))
            for cells in ws.iter_rows():
                for cell in cells:
                    if isinstance(cell.value, date):
                        cell.number_format = "yyyy-mm-dd"
                    elif isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # typed text, as a person would type it
        wb.save(self.path)
        return XlsxBackend(self.path)

    def _sheet(self, tab: str) -> Worksheet:
        ws = openpyxl.load_workbook(self.path)[tab]
        assert isinstance(ws, Worksheet)
        return ws

    def values(self, tab: str) -> list[list[object]]:
        rows = [[normal(c) for c in row] for row in self._sheet(tab).iter_rows(values_only=True)]
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        for row in rows:
            while row and row[-1] is None:
                row.pop()
        return rows

    def color(self, tab: str, row: int, col: int) -> str | None:
        cell = self._sheet(tab).cell(row, col)
        if cell.fill is None or cell.fill.fill_type is None:
            return None
        return "#" + str(cell.fill.fgColor.rgb)[-6:].upper()

    def is_text(self, tab: str, row: int, col: int) -> bool:
        return self._sheet(tab).cell(row, col).data_type == "s"


class GoogleHarness:
    name = "google"

    def __init__(self, folder: Path) -> None:
        self.fake = FakeSheets(seed=1)
        self.sid = ""
        self._mock = self.fake.mocked()
        self._mock.__enter__()

    def close(self) -> None:
        self._mock.__exit__(None, None, None)

    def create(self, tabs: Mapping[str, Rows]) -> Backend:
        sheets = {title: [list(row) for row in rows] for title, rows in tabs.items()}
        self.sid = self.fake.create_spreadsheet("Practice", sheets)
        return GoogleBackend(
            self.sid,
            endpoint=GOOGLE_BASE_URL,
            policy=RetryPolicy(attempts=2, total_seconds=1.0),
            sleep=lambda seconds: None,
        )

    def values(self, tab: str) -> list[list[object]]:
        rows = []
        for r, row in enumerate(self.fake.values(self.sid, tab), start=1):
            out = []
            for c, value in enumerate(row, start=1):
                if isinstance(value, int | float) and self._is_date(tab, r, c):
                    value = serial_to_date(value)
                out.append(normal(value))
            while out and out[-1] is None:
                out.pop()
            rows.append(out)
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def _view(self, tab: str, row: int, col: int) -> CellView:
        return self.fake.cell(self.sid, tab, f"{column_letter(col - 1)}{row}")

    def _is_date(self, tab: str, row: int, col: int) -> bool:
        number_format = self._view(tab, row, col).number_format or {}
        return number_format.get("type") in ("DATE", "DATE_TIME")

    def color(self, tab: str, row: int, col: int) -> str | None:
        color = self._view(tab, row, col).background
        if not color:
            return None
        channels = (round(float(color.get(c, 0)) * 255) for c in ("red", "green", "blue"))
        return "#" + "".join(f"{n:02X}" for n in channels)

    def is_text(self, tab: str, row: int, col: int) -> bool:
        return "stringValue" in (self._view(tab, row, col).raw.get("userEnteredValue") or {})
