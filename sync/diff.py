"""Desired state vs. what the sheet shows now -> the cells to write.

No difference, no write: a cycle that changes nothing leaves the workbook
untouched. Computed cells are compared by kind (``3`` and ``3.0`` are the
same number; the text ``"3"`` is not a number cell and is rewritten).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from rules.model import Result, Value
from rules.schema import CellKind
from rules.values import date_to_serial, is_blank
from sync.backends.base import CellChange, HeaderChange, Snapshot, WritePlan


def plan(snapshot: Snapshot, result: Result) -> WritePlan:
    headers: list[HeaderChange] = []
    cells: list[CellChange] = []
    for tab in result.tabs:
        table = snapshot.tables[tab.title]
        fills = snapshot.fills.get(tab.title, {})
        for name, col in sorted(tab.new_headers.items(), key=lambda item: item[1]):
            headers.append(HeaderChange(tab.title, col, name))
        for column in tab.columns:
            col = tab.positions[column.name]
            current_fills = fills.get(col)
            for i, new in enumerate(column.values):
                old = _at(table.rows[i], col)
                fill = column.fills[i] if column.fills is not None else None
                set_value = not same(old, new, column.kind, snapshot.numbers_are_dates)
                # Where the backend could not read the current fills, the fill
                # travels with the value, so an idle cycle still writes nothing.
                set_fill = column.fills is not None and (
                    set_value
                    if current_fills is None
                    else (current_fills[i] if i < len(current_fills) else None) != fill
                )
                if set_value or set_fill:
                    cells.append(
                        CellChange(
                            tab.title,
                            i + 2,
                            col,
                            column.name,
                            old,
                            new,
                            column.kind,
                            fill,
                            set_value,
                            set_fill,
                        )
                    )
        for f in tab.fills:
            col = tab.positions[f.column]
            cells.append(
                CellChange(
                    tab.title,
                    f.row,
                    col,
                    f.column,
                    None,
                    f.value,
                    f.kind,
                    None,
                    True,
                    False,
                    input_fill=True,
                )
            )
    return WritePlan(tuple(headers), tuple(cells))


def _at(row: Sequence[object], col: int) -> object:
    return row[col] if col < len(row) else None


def same(old: object, new: Value, kind: CellKind, numbers_are_dates: bool) -> bool:
    """Whether the cell already shows ``new`` as a cell of the right kind."""
    if new is None:
        return is_blank(old)
    if kind == "number":
        return (
            isinstance(old, int | float)
            and not isinstance(old, bool)
            and isinstance(new, int | float | Decimal)
            and float(old) == float(new)
        )
    if kind == "date":
        if isinstance(old, datetime):
            return old.date() == new
        if isinstance(old, date):
            return old == new
        return (
            numbers_are_dates
            and isinstance(old, int | float)
            and isinstance(new, date)
            and old == date_to_serial(new)
        )
    return isinstance(old, str) and old == new


def describe(value: object) -> str:
    """A cell value as the dry run shows it."""
    if value is None or (isinstance(value, str) and not value):
        return "(blank)"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
