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
from rules.schema import DASHBOARD, CellKind
from rules.values import date_to_serial, is_blank, key
from sync.backends.base import (
    CellChange,
    HeaderChange,
    Snapshot,
    TabContent,
    WritePlan,
)
from sync.backends.looks import kind_of


def plan(
    snapshot: Snapshot, result: Result, *, dashboard: Sequence[Sequence[Value]] | None = None
) -> WritePlan:
    """The cells to write so the sheet shows ``result`` (and ``dashboard``, if given)."""
    headers: list[HeaderChange] = []
    cells: list[CellChange] = []
    for tab in result.tabs:
        table = snapshot.tables[tab.title]
        fills = snapshot.fills.get(tab.title, {})
        for name, col in sorted(tab.new_headers.items(), key=lambda item: item[1]):
            headers.append(HeaderChange(tab.title, col, name))
        # Rows with any computed value to rewrite: where colors cannot be read,
        # a row's colors are written whenever anything in it is.
        changed_rows = {
            i
            for column in tab.columns
            for i, new in enumerate(column.values)
            if not same(
                _at(table.rows[i], tab.positions[column.name]),
                new,
                column.kind,
                snapshot.numbers_are_dates,
            )
        }
        for column in tab.columns:
            col = tab.positions[column.name]
            current_fills = fills.get(col)
            for i, new in enumerate(column.values):
                old = _at(table.rows[i], col)
                fill = column.fills[i] if column.fills is not None else None
                set_value = not same(old, new, column.kind, snapshot.numbers_are_dates)
                set_fill = column.fills is not None and (
                    i in changed_rows
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
    owned = _owned_tab(snapshot, DASHBOARD, dashboard) if dashboard is not None else None
    return WritePlan(tuple(headers), tuple(cells), (owned,) if owned else ())


def _owned_tab(snapshot: Snapshot, name: str, rows: Sequence[Sequence[Value]]) -> TabContent | None:
    """The whole-tab replacement, or None when the tab already shows ``rows``."""
    found = [t for title, t in snapshot.tables.items() if key(title) == key(name)]
    desired = tuple(tuple(row) for row in rows)
    if not found:
        return TabContent(name, desired, exists=False)
    table = found[0]
    current = [list(table.header), *(list(r) for r in table.rows)]
    while current and all(is_blank(v) for v in current[-1]):
        current.pop()
    if len(current) == len(desired) and all(
        _same_row(have, want, snapshot.numbers_are_dates)
        for have, want in zip(current, desired, strict=True)
    ):
        return None
    return TabContent(table.title, desired, exists=True)


def _same_row(have: Sequence[object], want: Sequence[Value], numbers_are_dates: bool) -> bool:
    width = max(len(have), len(want))
    for i in range(width):
        old = have[i] if i < len(have) else None
        new = want[i] if i < len(want) else None
        if not same(old, new, kind_of(new), numbers_are_dates):
            return False
    return True


def _at(row: Sequence[object], col: int) -> object:
    return row[col] if col < len(row) else None


def same(old: object, new: Value, kind: CellKind, numbers_are_dates: bool) -> bool:
    """Whether the cell already shows ``new`` as a cell of the right kind."""
    if new is None:
        return is_blank(old)
    if kind == "number" and not isinstance(new, str):
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
