"""An in-memory workbook backend: the fake of :class:`sync.backends.base.Backend`.

It applies a write plan the way the real backends do (values by kind, colors,
new header cells, blank input cells only), so cycle-level properties can be
checked quickly without files.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy

from rules.model import Table
from sync.backends.base import Layout, Snapshot, WriteOutcome, WritePlan


class MemoryBackend:
    location = "memory"

    def __init__(self, tables: Mapping[str, Table], *, numbers_are_dates: bool = False) -> None:
        self.header: dict[str, list[object]] = {t: list(v.header) for t, v in tables.items()}
        self.rows: dict[str, list[list[object]]] = {
            t: [list(r) for r in v.rows] for t, v in tables.items()
        }
        self.colors: dict[str, dict[tuple[int, int], str | None]] = {t: {} for t in tables}
        self.numbers_are_dates = numbers_are_dates
        self.writes = 0

    def read(self) -> Snapshot:
        tables = {
            t: Table(t, deepcopy(self.header[t]), deepcopy(self.rows[t])) for t in self.header
        }
        colors = {
            t: {
                col: [self.colors[t].get((r + 2, col)) for r in range(len(self.rows[t]))]
                for col in range(len(self.header[t]))
            }
            for t in self.header
        }
        return Snapshot(tables=tables, colors=colors, numbers_are_dates=self.numbers_are_dates)

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        self.writes += 1
        for t in plan.tabs:
            rows = [list(r) for r in t.rows] or [[]]
            self.header[t.title], self.rows[t.title] = rows[0], rows[1:]
            self.colors.setdefault(t.title, {})
        for h in plan.headers:
            header = self.header[h.tab]
            header.extend([None] * (h.col + 1 - len(header)))
            header[h.col] = h.name
        for c in plan.cells:
            rows = self.rows[c.tab]
            while len(rows) < c.row - 1:
                rows.append([])
            row = rows[c.row - 2]
            row.extend([None] * (c.col + 1 - len(row)))
            if c.input_fill and row[c.col] not in (None, ""):
                continue
            if c.set_value:
                row[c.col] = c.new
            if c.set_color:
                self.colors[c.tab][(c.row, c.col)] = c.color
        return WriteOutcome(written=True, cells_written=plan.size, requests=1)

    def prepare(self, layout: Layout) -> list[str]:
        return []
