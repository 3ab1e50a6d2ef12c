"""Desired state vs. what the sheet shows now -> the cells to write.

No difference, no write: a cycle that changes nothing leaves the workbook
untouched. Computed cells are compared by kind (``3`` and ``3.0`` are the
same number; the text ``"3"`` is not a number cell and is rewritten).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

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
        read_colors = snapshot.colors.get(tab.title, {})
        for name, col in sorted(tab.new_headers.items(), key=lambda item: item[1]):
            headers.append(HeaderChange(tab.title, col, name))
        rows = table.rows
        differing = [
            _differing(
                _column(rows, tab.positions[column.name], len(column.values)),
                column.values,
                column.kind,
                snapshot.numbers_are_dates,
            )
            for column in tab.columns
        ]
        # Rows with any computed value to rewrite: where colors cannot be read,
        # a row's colors are written whenever anything in it is.
        changed_rows: set[int] | None = None
        changed_order: list[int] = []
        for column, set_values in zip(tab.columns, differing, strict=True):
            col = tab.positions[column.name]
            colors = column.colors
            to_color: Collection[int] = ()
            current = read_colors.get(col) if colors is not None else None
            if colors is None:
                order = sorted(set_values)
            elif current is None:
                if changed_rows is None:
                    changed_rows = set().union(*differing)
                    changed_order = sorted(changed_rows)
                to_color, order = changed_rows, changed_order  # set_values is among them
            else:
                to_color = _differing_colors(current, colors)
                order = sorted(set_values.union(to_color))
            for i in order:
                cells.append(
                    CellChange(
                        tab.title,
                        i + 2,
                        col,
                        column.name,
                        _at(rows[i], col),
                        column.values[i],
                        column.kind,
                        colors[i] if colors is not None else None,
                        i in set_values,
                        i in to_color,
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


#: Blocks of this many cells are compared at once (in C, as lists) before any one cell is.
_BLOCK = 2048

#: The types of a desired value that equal an old value of the same type only when
#: :func:`same` says so too, by the column's kind.
_PLAIN_TYPES: dict[str, frozenset[type]] = {
    "text": frozenset({str, type(None)}),
    "number": frozenset({int, float, str, type(None)}),
    "date": frozenset({date, str, type(None)}),
}


def _column(rows: Sequence[Sequence[object]], col: int, n: int) -> list[object]:
    """The cells at ``col`` of the first ``n`` rows (None past a row's end)."""
    head = rows[:n] if len(rows) > n else rows
    try:
        return list(map(itemgetter(col), head))
    except IndexError:  # a row shorter than the column: read it as blank
        return [row[col] if col < len(row) else None for row in head]


def _differing(
    olds: Sequence[object], values: Sequence[Value], kind: CellKind, numbers_are_dates: bool
) -> set[int]:
    """The row indexes whose cell does not already show its desired value.

    Most blocks of a column are unchanged from one cycle to the next: a block whose
    old and desired values are equal as lists, of the same types, each one of the
    kind's plain types, is the same cell for cell, so only the other blocks are
    compared one cell at a time.
    """
    plain = _PLAIN_TYPES.get(kind, frozenset())
    out: set[int] = set()
    for start in range(0, len(values), _BLOCK):
        have, want = olds[start : start + _BLOCK], values[start : start + _BLOCK]
        if (
            have == want
            and list(map(type, have)) == list(map(type, want))
            and plain.issuperset(map(type, want))
        ):
            continue
        if have.count(None) == len(have):  # blank cells (a new column): all but blanks differ
            out.update(i for i, new in enumerate(want, start) if new is not None)
            continue
        for i, (old, new) in enumerate(zip(have, want, strict=False), start):
            if not same(old, new, kind, numbers_are_dates):
                out.add(i)
    if len(olds) < len(values):
        for i in range(len(olds), len(values)):
            if not same(None, values[i], kind, numbers_are_dates):
                out.add(i)
    return out


def _differing_colors(current: Sequence[str | None], desired: Sequence[str | None]) -> set[int]:
    """The row indexes whose background is not already the desired one."""
    out: set[int] = set()
    for start in range(0, len(desired), _BLOCK):
        have, want = current[start : start + _BLOCK], desired[start : start + _BLOCK]
        if have == want:
            continue
        for i, color in enumerate(want, start):
            if (current[i] if i < len(current) else None) != color:
                out.add(i)
    return out


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
