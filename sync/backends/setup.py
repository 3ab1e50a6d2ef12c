"""What ``init`` does to a workbook, decided once for both backends.

:func:`plan_setup` takes the layout (the tabs and columns to prepare, already
fitted to the config) and what a backend found in the workbook (each tab's
header row, whether it is frozen, which columns already have a dropdown,
whether it has rows), and returns the plan: tabs to add, columns to add where,
widths, the frozen header row, dropdowns, demo cells, and the lines that tell
the practitioner what was done. It reads and writes nothing; each backend
carries the plan out in its own way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rules.model import Value
from rules.schema import CellKind, Column
from rules.values import is_blank, key, text
from sync.backends.base import Layout, WorkbookUnavailable
from sync.backends.looks import kind_of


@dataclass(frozen=True)
class TabFound:
    """An existing tab as a backend sees it."""

    title: str
    header: Sequence[object]
    frozen: bool
    #: 0-based columns whose first data row already has a dropdown.
    dropdowns: frozenset[int] = frozenset()
    has_rows: bool = False


@dataclass(frozen=True)
class NewColumn:
    col: int  # 0-based
    name: str
    width: int  # characters


@dataclass(frozen=True)
class Dropdown:
    col: int
    column: str
    #: Fixed choices, or the (tab title, 0-based column) that lists them.
    choices: tuple[str, ...] = ()
    source: tuple[str, int] | None = None

    @property
    def message(self) -> str:
        return f"Pick a {self.column} from the list (or keep what you typed)."


@dataclass(frozen=True)
class DemoCell:
    row: int  # sheet row, 1-based
    col: int
    value: Value
    kind: CellKind


@dataclass(frozen=True)
class TabSetup:
    name: str  # the layout's name for it
    title: str  # the tab's title in the workbook (the name, when it is new)
    create: bool
    columns: tuple[NewColumn, ...]
    #: Header name (as a key) -> 0-based column, after the new columns are added.
    positions: Mapping[str, int]
    freeze: bool
    dropdowns: tuple[Dropdown, ...] = ()
    demo: tuple[DemoCell, ...] = ()
    demo_rows: int = 0
    #: What to tell the practitioner: the tab and its columns, its dropdowns, its demo rows.
    said: tuple[str, ...] = ()
    said_dropdowns: tuple[str, ...] = ()
    said_demo: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetupPlan:
    tabs: tuple[TabSetup, ...]

    def __bool__(self) -> bool:
        return any(t.create or t.columns or t.freeze or t.dropdowns or t.demo for t in self.tabs)

    @property
    def done(self) -> list[str]:
        """What was done, in order: tabs and columns, then dropdowns, then demo rows."""
        return [
            *(line for t in self.tabs for line in t.said),
            *(line for t in self.tabs for line in t.said_dropdowns),
            *(line for t in self.tabs for line in t.said_demo),
        ]


def width(column: Column) -> int:
    """A new column's width in characters."""
    if column.name in ("Sync note", "Notes", "Shared with", "Balance link"):
        return 36
    if column.name == "Progress":
        return 20
    return max(12, len(column.name) + 4)


def plan_setup(layout: Layout, found: Mapping[str, TabFound]) -> SetupPlan:
    """The plan for ``layout`` on a workbook whose tabs (by key of title) are ``found``.

    With demo rows asked for, a tab that already has rows is refused, as
    ``--demo`` only fills an empty workbook. A tab ``init`` does not create (and the
    columns that go with it) is prepared only where it exists or the demo fills it.
    """
    layout = replace(layout, tabs=layout.present(lambda name: key(name) in found))
    if layout.demo:
        for tab in layout.tabs:
            existing = found.get(key(tab.name))
            if existing is not None and existing.has_rows:
                raise WorkbookUnavailable(
                    f"the {tab.name} tab already has rows: --demo only fills an empty workbook"
                )
    tabs: list[TabSetup] = []
    for tab in layout.tabs:
        done: list[str] = []
        existing = found.get(key(tab.name))
        if existing is None:
            done.append(f"added the {tab.name} tab")
        present: dict[str, int] = {}
        for at, value in enumerate(existing.header if existing else ()):
            if not is_blank(value):
                present.setdefault(key(text(value)), at)
        last = max(present.values(), default=-1)
        added = []
        for column in tab.columns:
            if key(column.name) in present:
                continue
            last += 1
            present[key(column.name)] = last
            added.append(NewColumn(last, column.name, width(column)))
        if added:
            done.append(f"{tab.name}: added the columns {', '.join(c.name for c in added)}")
        freeze = existing is None or not existing.frozen
        if freeze:
            done.append(f"{tab.name}: froze the header row")
        tabs.append(
            TabSetup(
                tab.name,
                existing.title if existing else tab.name,
                existing is None,
                tuple(added),
                present,
                freeze,
                said=tuple(done),
            )
        )
    by_name = {t.name: t for t in tabs}
    layout_tabs = {t.name: t for t in layout.tabs}
    for i, (tab, setup) in enumerate(zip(layout.tabs, tabs, strict=True)):
        existing = found.get(key(tab.name))
        have = existing.dropdowns if existing else frozenset()
        dropdowns = []
        said = []
        for column in tab.columns:
            if not column.choices and not column.choices_from:
                continue
            found_at = setup.positions.get(key(column.name))
            if found_at is None or found_at in have:
                continue
            at = found_at
            if column.choices:
                dropdowns.append(Dropdown(at, column.name, choices=column.choices))
            else:
                assert column.choices_from is not None
                source = by_name.get(column.choices_from)
                listed = layout_tabs.get(column.choices_from)
                if source is None or listed is None or not listed.columns:
                    continue
                # The column named for the choices, else the source tab's first one.
                source_at = source.positions.get(
                    key(column.choices_column or listed.columns[0].name)
                )
                if source_at is None:
                    continue
                dropdowns.append(Dropdown(at, column.name, source=(source.title, source_at)))
            said.append(f"{tab.name}: added a dropdown to {column.name}")
        tabs[i] = _replace(setup, dropdowns=tuple(dropdowns), said_dropdowns=tuple(said))
    if layout.demo:
        for i, setup in enumerate(tabs):
            rows: Sequence[Mapping[str, object]] = layout.demo.get(setup.name, ())
            cells = [
                DemoCell(r, setup.positions[key(name)], value, kind_of(value))  # type: ignore[arg-type]
                for r, row in enumerate(rows, start=2)
                for name, value in row.items()
            ]
            lines = (f"{setup.name}: added {len(rows)} demo rows",) if rows else ()
            tabs[i] = _replace(setup, demo=tuple(cells), demo_rows=len(rows), said_demo=lines)
    return SetupPlan(tuple(tabs))


def _replace(setup: TabSetup, **changes: object) -> TabSetup:
    return replace(setup, **changes)  # type: ignore[arg-type]
