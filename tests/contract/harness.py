"""One harness per workbook backend, so the contract tests run against each.

A harness creates a real workbook from plain rows, hands out the backend the
program would use, and reads back what is in the workbook afterwards (values
normalised: dates as ``date``, whole floats as ``int``; fills as ``#RRGGBB``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from sync.backends.base import Backend
from sync.backends.xlsx import XlsxBackend

Rows = Sequence[Sequence[object]]


class Harness(Protocol):
    name: str

    def create(self, tabs: Mapping[str, Rows]) -> Backend: ...

    def values(self, tab: str) -> list[list[object]]: ...

    def fill(self, tab: str, row: int, col: int) -> str | None: ...

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

    def fill(self, tab: str, row: int, col: int) -> str | None:
        cell = self._sheet(tab).cell(row, col)
        if cell.fill is None or cell.fill.fill_type is None:
            return None
        return "#" + str(cell.fill.fgColor.rgb)[-6:].upper()

    def is_text(self, tab: str, row: int, col: int) -> bool:
        return self._sheet(tab).cell(row, col).data_type == "s"
