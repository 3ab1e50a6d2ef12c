"""Build workbook tables from plain rows, for tests of every layer.

Rows are dicts keyed by column name; the header is the contract's column order
(with any extra columns the rows use appended), so a test reads like the sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rules.engine import compute
from rules.model import PackageResult, Result, SessionResult, Settings, Table
from rules.schema import CLIENTS, PACKAGES, SESSION_TYPES, SESSIONS, TEMPLATES, Tab

TODAY = date(2026, 11, 20)

Row = Mapping[str, object]


def table(spec: Tab, rows: Sequence[Row], *, title: str | None = None) -> Table:
    header = [c.name for c in spec.columns]
    for row in rows:
        header += [name for name in row if name not in header]
    return Table(title or spec.name, header, [[row.get(h) for h in header] for row in rows])


def tables(
    clients: Sequence[Row] = (),
    packages: Sequence[Row] = (),
    sessions: Sequence[Row] = (),
    templates: Sequence[Row] | None = None,
    types: Sequence[Row] | None = None,
) -> dict[str, Table]:
    out = {
        "Clients": table(CLIENTS, clients),
        "Packages": table(PACKAGES, packages),
        "Sessions": table(SESSIONS, sessions),
    }
    if templates is not None:
        out["Templates"] = table(TEMPLATES, templates)
    if types is not None:
        out["Session types"] = table(SESSION_TYPES, types)
    return out


@dataclass
class Run:
    """A computed result with lookups by sheet row and by package ID."""

    result: Result

    def package(self, package_id: str) -> PackageResult:
        for r in self.result.packages:
            if r.package.id == package_id:
                return r
        raise KeyError(package_id)

    def session(self, row: int) -> SessionResult:
        for s in self.result.sessions:
            if s.row == row:
                return s
        raise KeyError(row)

    def cell(self, tab: str, row: int, column: str) -> object:
        for t in self.result.tabs:
            if t.title == tab:
                for c in t.columns:
                    if c.name == column:
                        return c.values[row - 2]
        raise KeyError((tab, column))

    def color(self, tab: str, row: int, column: str) -> str | None:
        for t in self.result.tabs:
            if t.title == tab:
                for c in t.columns:
                    if c.name == column:
                        assert c.colors is not None
                        return c.colors[row - 2]
        raise KeyError((tab, column))

    def filled(self, tab: str) -> dict[tuple[int, str], object]:
        for t in self.result.tabs:
            if t.title == tab:
                return {(f.row, f.column): f.value for f in t.fills}
        raise KeyError(tab)

    def note(self, tab: str, row: int) -> object:
        return self.cell(tab, row, "Sync note")


def run(
    clients: Sequence[Row] = (),
    packages: Sequence[Row] = (),
    sessions: Sequence[Row] = (),
    templates: Sequence[Row] | None = None,
    *,
    today: date = TODAY,
    settings: Settings | None = None,
    types: Sequence[Row] | None = None,
    **kwargs: object,
) -> Run:
    return Run(
        compute(
            tables(clients, packages, sessions, templates, types),
            today=today,
            settings=settings or Settings(),
            **kwargs,  # type: ignore[arg-type]
        )
    )
