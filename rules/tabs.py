"""Finding tabs and columns by name, the structural checks, and row access."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.model import RowProblem, Table
from rules.schema import Tab
from rules.values import is_blank, key, text


def column_letter(index: int) -> str:
    """0-based column index as a sheet letter: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class TabView:
    """A tab matched against its contract: where each known column is."""

    spec: Tab
    table: Table
    #: Contract column name -> 0-based index in the sheet.
    index: Mapping[str, int]
    #: Where computed columns that are missing will be added (name -> index).
    added: Mapping[str, int]

    @property
    def title(self) -> str:
        return self.table.title

    def cell(self, row: Sequence[object], column: str) -> object:
        at = self.index.get(column)
        if at is None or at >= len(row):
            return None
        value = row[at]
        # is_blank, inlined: this runs for every cell the parsers read.
        return None if isinstance(value, str) and not value.strip() else value

    def is_blank(self, row: Sequence[object]) -> bool:
        """Every input column blank (computed and unknown columns do not count)."""
        width = len(row)
        return all(at >= width or is_blank(row[at]) for at in self.input_positions)

    @functools.cached_property
    def input_positions(self) -> tuple[int, ...]:
        return tuple(self.index[c.name] for c in self.spec.inputs if c.name in self.index)

    def has(self, column: str) -> bool:
        return column in self.index

    def rows(self) -> Sequence[Sequence[object]]:
        return self.table.rows

    def typed(self, column: str) -> list[object]:
        """Every row's ``column`` as typed, blank text included: None past a row's end.

        Empty when the tab has no such column.
        """
        at = self.index.get(column)
        if at is None:
            return []
        return [row[at] if at < len(row) else None for row in self.table.rows]


def find_table(tables: Mapping[str, Table], name: str) -> list[Table]:
    """Every tab whose name matches ``name`` (case-insensitive, trimmed)."""
    return [t for title, t in tables.items() if key(title) == key(name)]


def view(
    spec: Tab, tables: Mapping[str, Table], *, skip: frozenset[str] = frozenset()
) -> tuple[TabView | None, list[RowProblem]]:
    """Match a tab against its contract, or say why it cannot be used."""
    found = find_table(tables, spec.name)
    if not found:
        if not spec.required:
            return None, []
        return None, [RowProblem(spec.name, 0, None, f"the '{spec.name}' tab is missing")]
    if len(found) > 1:
        names = ", ".join(f"'{t.title}'" for t in found)
        return None, [
            RowProblem(spec.name, 0, None, f"several tabs are named like '{spec.name}': {names}")
        ]
    table = found[0]
    positions: dict[str, list[int]] = {}
    known = {key(c.name): c.name for c in spec.columns if c.name not in skip}
    last = -1
    for at, raw in enumerate(table.header):
        if is_blank(raw):
            continue
        last = at
        name = known.get(key(text(raw)))
        if name is not None:
            positions.setdefault(name, []).append(at)
    problems = []
    for name, places in positions.items():
        if len(places) > 1:
            letters = " and ".join(column_letter(p) for p in places)
            problems.append(
                RowProblem(
                    table.title,
                    0,
                    name,
                    f"the '{name}' column appears more than once (columns {letters}): "
                    "rename or remove all but one",
                )
            )
    for column in spec.columns:
        if column.required and column.name not in positions:
            problems.append(
                RowProblem(
                    table.title, 0, column.name, f"the required column '{column.name}' is missing"
                )
            )
    if problems:
        return None, problems
    index = {name: places[0] for name, places in positions.items()}
    added: dict[str, int] = {}
    for column in spec.computed:
        if column.name not in index and column.name not in skip:
            last += 1
            added[column.name] = last
    return TabView(spec, table, {**index, **added}, added), []
