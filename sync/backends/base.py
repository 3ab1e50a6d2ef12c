"""The workbook backend interface: read every tab, write a plan of cell changes.

A backend reads the whole workbook into a :class:`Snapshot` and later carries
out a :class:`WritePlan` against that snapshot, re-checking that what it is
about to write onto is still what it read. Both backends (xlsx, google) pass
one shared contract test suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from rules.model import Table, Value
from rules.schema import PACKAGES, SESSIONS, CellKind, Tab
from rules.values import key, text
from sync.errors import EXIT_WORKBOOK, CreditsheetError


class WorkbookUnavailable(CreditsheetError):
    """The workbook cannot be reached or read at all (exit status 3)."""

    exit_status = EXIT_WORKBOOK


@dataclass(frozen=True)
class Snapshot:
    """The workbook as read at the start of a cycle."""

    tables: Mapping[str, Table]
    #: Per tab title: column index -> color of each data row (``#RRGGBB`` or None),
    #: for the columns whose colors the backend read. A column missing here has
    #: colors the backend could not read.
    colors: Mapping[str, Mapping[int, Sequence[str | None]]]
    numbers_are_dates: bool = False
    #: The workbook's own time zone, where it has one (Google).
    timezone: str | None = None
    #: Reasons this workbook must not be written (it holds something a save would drop).
    write_blockers: tuple[str, ...] = ()
    #: Backend-private proof of what was read (xlsx: the file's bytes and stat).
    version: object = None
    #: A fingerprint of everything read (None: the backend has none). Two reads
    #: with the same digest hold the same tables, so the same results follow
    #: (xlsx: the file's SHA-256; Google: of the values answer's bytes, with the
    #: tab titles asked for and the time zone).
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderChange:
    tab: str
    col: int  # 0-based
    name: str


@dataclass(frozen=True, slots=True)
class CellChange:
    """One cell to write; ``row`` is the sheet row (1-based), ``col`` 0-based."""

    tab: str
    row: int
    col: int
    column: str
    old: object
    new: Value
    kind: CellKind
    color: str | None
    #: Write the value / the background (a change may touch only one of them).
    set_value: bool
    set_color: bool
    #: A blank input cell being filled (IDs, template values, dates): only ever
    #: written onto a cell that is still blank.
    input_fill: bool = False


def is_id_fill(change: CellChange, tab: str) -> bool:
    """A blank ``Package ID`` cell of ``tab`` being filled.

    A new package's ID is given in the same write as the sessions that name it: a
    backend that leaves a Packages ID fill unwritten leaves those sessions' fills of
    that ID unwritten too, or they would name an ID no row has (the next cycle numbers
    new packages past every ID already named) and stay Invalid until a person fixes them.
    """
    return change.input_fill and key(change.tab) == key(tab) and change.column == "Package ID"


class WithheldIds:
    """New packages' IDs a write leaves unwritten, and what goes with them (see
    :func:`is_id_fill`): the rule is decided here once; each backend tells it which
    Packages ID fills it could not write, and asks it which other cells to leave out."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def withhold(self, change: CellChange) -> None:
        """Note that ``change`` is left unwritten: a new package's ID withholds its sessions'."""
        if is_id_fill(change, PACKAGES.name):
            self.ids.add(key(text(change.new)))

    def holds_back(self, change: CellChange) -> bool:
        """A session's fill of a withheld ID: left unwritten too."""
        return is_id_fill(change, SESSIONS.name) and key(text(change.new)) in self.ids

    def holds_back_appended(self, value: Value, kind: CellKind) -> bool:
        """A cell of an appended row naming a withheld ID: left out too."""
        return bool(self.ids) and kind == "text" and key(text(value)) in self.ids


@dataclass(frozen=True, slots=True)
class TabContent:
    """A tab the sync owns entirely (the Dashboard): replaced as a whole.

    ``title`` is the existing tab's name, or the name to create it under.
    """

    title: str
    rows: tuple[tuple[Value, ...], ...]
    exists: bool


@dataclass(frozen=True, slots=True)
class AppendedCell:
    """One cell of a new row: ``col`` is 0-based."""

    col: int
    value: Value
    kind: CellKind
    color: str | None = None


@dataclass(frozen=True, slots=True)
class RowAppend:
    """A new row added at the end of a tab (a booking the calendar import logs).

    ``row`` is the sheet row (1-based) the rules decided it as: the first row
    after the last row read, in the order the appends are listed. A backend
    writes it after the tab's last row, in the same atomic write as the plan's
    other cells; where the tab grew since the read, the row still goes after its
    last row, never onto a row someone else wrote.
    """

    tab: str
    row: int
    cells: tuple[AppendedCell, ...]


@dataclass(frozen=True)
class WritePlan:
    headers: tuple[HeaderChange, ...] = ()
    cells: tuple[CellChange, ...] = ()
    tabs: tuple[TabContent, ...] = ()
    #: New rows at the end of a tab, in order.
    appends: tuple[RowAppend, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.headers or self.cells or self.tabs or self.appends)

    @property
    def size(self) -> int:
        """Cells written: each header and cell, every cell of an appended row, and
        every value of a replaced tab."""
        owned = sum(len(row) for tab in self.tabs for row in tab.rows)
        added = sum(len(row.cells) for row in self.appends)
        return len(self.headers) + len(self.cells) + owned + added


@dataclass(frozen=True)
class WriteOutcome:
    written: bool
    #: Why nothing (or not everything) was written, for the summary.
    reason: str | None = None
    cells_written: int = 0
    rows_skipped: int = 0
    requests: int = 0
    #: Nothing is wrong with the workbook: it changed while the cycle ran, and
    #: the next cycle writes what this one could not.
    retry_next_cycle: bool = False


@dataclass(frozen=True)
class Layout:
    """What ``init`` prepares: tabs with exactly the columns to prepare (those the
    config leaves off already taken out), and optional demo rows."""

    tabs: tuple[Tab, ...]
    #: Tab name -> rows keyed by column name.
    demo: Mapping[str, Sequence[Mapping[str, object]]] = field(default_factory=dict)

    def present(self, exists: Callable[[str], bool]) -> tuple[Tab, ...]:
        """The tabs to prepare: a tab ``init`` does not create only where it exists
        (``exists(name)``) or demo rows go into it; and a column that belongs with a tab
        (``Sessions.Type`` with ``Session types``) only where that tab is prepared too."""
        tabs = [t for t in self.tabs if t.created or t.name in self.demo or exists(t.name)]
        names = {t.name for t in tabs}
        return tuple(
            replace(t, columns=tuple(c for c in t.columns if c.with_tab in (None, *names)))
            for t in tabs
        )


class Backend(Protocol):
    #: Where the workbook is, for messages (a file path or a sheet title).
    location: str

    def read(self) -> Snapshot: ...

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome: ...

    def prepare(self, layout: Layout) -> list[str]:
        """Create the workbook or its missing parts; return what was done."""
        ...
