"""Where a write's filled input cells landed, judged from the sheet as it was right after.

The Sheets API has no compare-and-swap and its writes are positional: an edit that
reaches Google after the verification read and before the write (one round trip) can
move rows under the write. For the cells the sync owns (Remaining, Status, notes,
colors) that is repaired by the next cycle, which works everything out again. A filled
*input* cell is different: a Package ID written onto another row would be taken by the
next cycle as typed by the practitioner, and could move a deduction to another package.

So a write that fills input cells asks Google for those rows as they are right after it
was applied (in the answer of the same atomic ``batchUpdate``), and :func:`judge` checks
each. A row that still holds the inputs it was verified with got its fill where it
belongs. Otherwise the fill landed on another row, and each such cell is put back as that
row had it: the row is found among the rows the cycle read (it was moved there by an
insert, a delete or a sort), or it is a newly inserted empty row (blank). When neither
tells, the cell is cleared and reported, since a wrong Package ID is worse than none.
A new package's ID put back this way is also taken back from the sessions that were given
it in the same write, so none names an ID that no package has.

Columns inserted, deleted or moved in that round trip shift *every* cell of the write
onto another column. The answer also carries each written tab's header, and
:func:`judge_columns` puts back each cell that landed under another column's header as
the read had that column on that row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.model import Table
from rules.tabs import column_letter
from rules.values import is_blank, key, text
from sync.backends.base import CellChange, WithheldIds
from sync.backends.google.cells import effective

Rows = Mapping[int, Sequence[object]]  # 1-based sheet row -> its cells as the values API gives


@dataclass(frozen=True, slots=True)
class Restore:
    """Put ``value`` (None: blank) back into a cell (``row`` 1-based, ``col`` 0-based)."""

    tab: str
    row: int
    col: int
    value: object
    #: Also clear the background the write painted there (what it was is not known).
    clear_color: bool = False


@dataclass
class Landing:
    """The judgement on one write's fills."""

    #: (tab, row) of each row whose fills landed on a row other than the one verified.
    moved: list[tuple[str, int]] = field(default_factory=list)
    restore: list[Restore] = field(default_factory=list)
    #: Cells cleared because what they held before the write cannot be known.
    unknown: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.restore)


def cell_at(row: Sequence[object], col: int) -> object:
    """A row's cell as the values API gives it, with Google's empty strings (and cells
    past the row's end) as blanks."""
    value = row[col] if col < len(row) else None
    return None if value == "" else value


def judge(
    fills: Sequence[CellChange],
    before: Mapping[str, Rows],
    after: Mapping[str, Rows],
    tables: Mapping[str, Table],
    positions: Mapping[str, Sequence[int]],
    written: Mapping[tuple[str, int], Collection[int]] | None = None,
    spans: Mapping[str, int] | None = None,
) -> Landing:
    """Judge ``fills`` (input cells just written) by their rows ``before`` the write (as
    verified) and ``after`` it; ``tables`` are the tabs as the cycle read them and
    ``positions`` each tab's input columns (what a row *is*). ``written``: every column
    the write set on each (tab, row), fills or not; a row that moved is found among the
    rows read by all its other cells. ``spans``: how many columns (from A) ``after``
    holds of each tab; only those tell rows apart."""
    written = written or {}
    spans = spans or {}

    def finder_for(tab: str, row: int) -> _Finder:
        table = tables.get(tab)
        mine = frozenset(written.get((tab, row), ())) | frozenset(
            c.col for c in by_row.get((tab, row), ())
        )
        found = finders.get((tab, mine))
        if found is None:
            width = len(table.header) if table is not None else 0
            width = min(width, spans.get(tab, width))
            found = finders[(tab, mine)] = _Finder(
                table, [c for c in range(width) if c not in mine]
            )
        return found

    by_row: dict[tuple[str, int], list[CellChange]] = {}
    for change in fills:
        by_row.setdefault((change.tab, change.row), []).append(change)
    landing = Landing()
    finders: dict[tuple[str, frozenset[int]], _Finder] = {}
    taken_back = WithheldIds()
    # First the rows each moved row can be; then, where several read alike, the one as
    # far away as the rows that could be told apart moved (an insert or a delete moves
    # every row below it by the same count).
    suspects: list[tuple[str, int, list[CellChange], list[int]]] = []
    shifts: Counter[tuple[str, int]] = Counter()
    for (tab, row), changes in by_row.items():
        filled = frozenset(c.col for c in changes)
        same = [p for p in positions.get(tab, ()) if p not in filled]
        was = before.get(tab, {}).get(row, ())
        now = after.get(tab, {}).get(row, ())
        if all(cell_at(was, p) == cell_at(now, p) for p in same):
            continue
        candidates = finder_for(tab, row).candidates(now)
        if len(candidates) == 1 and candidates[0] >= 0:
            shifts[(tab, candidates[0] - row)] += 1
        suspects.append((tab, row, changes, candidates))
    # Every other row the answer carries tells how far rows moved, by all its inputs.
    for tab in {t for t, _, _, _ in suspects}:
        for row, now in after.get(tab, {}).items():
            if (tab, row) not in by_row and row > 1:
                candidates = finder_for(tab, row).candidates(now)
                if len(candidates) == 1 and candidates[0] >= 0:
                    shifts[(tab, candidates[0] - row)] += 1
    for tab, row, changes, candidates in suspects:
        landing.moved.append((tab, row))
        if len(candidates) > 1:
            likely = [
                c for c in candidates if shifts[(tab, c - row)] and _most(shifts, tab, c - row)
            ]
            candidates = likely if len(likely) == 1 else candidates
        table = tables.get(tab)
        for change in changes:
            held = {
                None if c < 0 or table is None else cell_at(table.rows[c - 2], change.col)
                for c in candidates
            }
            value = held.pop() if len(held) == 1 else None
            if len(held) > 0 or not candidates:
                value = None
                landing.unknown.append(f"{tab}!{column_letter(change.col)}{row}")
            landing.restore.append(Restore(tab, row, change.col, value))
            taken_back.withhold(change)
    if taken_back.ids:
        moved = set(landing.moved)
        landing.restore += [
            Restore(c.tab, c.row, c.col, None)
            for c in fills
            if taken_back.holds_back(c) and (c.tab, c.row) not in moved
        ]
    return landing


class _Finder:
    """The rows the cycle read, found by the cells in columns ``same``."""

    def __init__(self, table: Table | None, same: Sequence[int]) -> None:
        self.same = same
        self.rows: dict[tuple[object, ...], list[int]] = {}
        for i, row in enumerate(table.rows if table is not None else ()):
            self.rows.setdefault(self._sig(row), []).append(i + 2)

    def _sig(self, row: Sequence[object]) -> tuple[object, ...]:
        return tuple(cell_at(row, p) for p in self.same)

    def candidates(self, occupant: Sequence[object]) -> list[int]:
        """The sheet rows (as read) the row now at a position can be; [-1]: a row inserted
        empty in the meantime."""
        sig = self._sig(occupant)
        if all(is_blank(v) for v in sig):
            return [-1]
        return self.rows.get(sig, [])


def _most(shifts: Counter[tuple[str, int]], tab: str, shift: int) -> bool:
    """Whether ``shift`` is the most common among the rows of ``tab`` told apart."""
    best = max((n for (t, _), n in shifts.items() if t == tab), default=0)
    return shifts[(tab, shift)] == best


def column_map(
    before: Sequence[object], after: Sequence[object], ours: Collection[int]
) -> list[int | None] | None:
    """For each column of ``after`` (a header as it is now), the column it was in
    ``before`` (as verified; None: inserted since), when what changed is one block of up
    to three columns inserted or deleted. None when the header tells no such story.
    ``ours``: columns whose header cell the write itself set (they may not match)."""
    was, now = trimmed(before), trimmed(after)
    for shift in (0, 1, -1, 2, -2, 3, -3):
        for at in range(len(was) + 1):
            mapping = _shifted(len(now), at, shift)
            if all(
                c in ours or _same(now[c], None if j is None or j >= len(was) else was[j])
                for c, j in enumerate(mapping)
            ):
                return mapping
    return None


def _shifted(width: int, at: int, shift: int) -> list[int | None]:
    """Columns now -> columns before, for ``shift`` columns inserted (deleted when
    negative) at column ``at``."""
    out: list[int | None] = []
    for c in range(width):
        if c < at:
            out.append(c)
        elif shift > 0 and c < at + shift:
            out.append(None)
        else:
            out.append(c - shift)
    return out


def _same(a: object, b: object) -> bool:
    if is_blank(a) or is_blank(b):
        return is_blank(a) and is_blank(b)
    return key(text(a)) == key(text(b))


def judge_columns(
    changes: Sequence[CellChange],
    mapping: Sequence[int | None],
    after: Rows,
    table: Table | None,
    inputs: Collection[int],
) -> Landing:
    """Columns moved under the write (``mapping``: each column now -> the column it was
    when read, see :func:`column_map`). Each cell of ``changes`` (all written to the tab)
    that landed in another column is put back as the row there had that column when the
    cycle read it. ``after``: the written rows as they are now; ``inputs``: the input
    columns (as read) that tell a row, by which the row is found among those read."""

    def was(col: int) -> int | None:
        return mapping[col] if col < len(mapping) else col

    now_of = {j: c for c, j in enumerate(mapping) if j is not None}
    rows = table.rows if table is not None else []
    by_row: dict[int, list[CellChange]] = {}
    for change in changes:
        by_row.setdefault(change.row, []).append(change)
    landing = Landing()
    indexes: dict[tuple[int, ...], dict[tuple[object, ...], list[Sequence[object]]]] = {}
    for row, written in by_row.items():
        astray = [c for c in written if was(c.col) != c.col]
        if not astray:
            continue
        landing.moved.append((written[0].tab, row))
        mine = {c.col for c in written}
        cols = tuple(j for j in sorted(inputs) if j in now_of and now_of[j] not in mine)
        index = indexes.get(cols)
        if index is None:
            index = indexes[cols] = {}
            for r in rows:
                index.setdefault(tuple(cell_at(r, j) for j in cols), []).append(r)
        now = after.get(row, ())
        sig = tuple(cell_at(now, now_of[j]) for j in cols)
        found = index.get(sig, [])
        for change in astray:
            j = was(change.col)
            held = {None if j is None else cell_at(r, j) for r in found}
            value: object = None
            if j is None or all(is_blank(v) for v in sig):
                value = None  # an inserted column, or a row inserted empty
            elif len(held) == 1:
                value = held.pop()
            else:
                landing.unknown.append(f"{change.tab}!{column_letter(change.col)}{row}")
            landing.restore.append(Restore(change.tab, row, change.col, value, change.set_color))
    return landing


def trimmed(row: Sequence[object]) -> list[object]:
    """A row's cells (see :func:`cell_at`) without its trailing blanks."""
    out = [cell_at(row, i) for i in range(len(row))]
    while out and out[-1] is None:
        out.pop()
    return out


def landed_rows(answer: Mapping[str, Any]) -> dict[str, dict[int, list[object]]]:
    """Per tab title, 1-based row -> its effective values, from a batchUpdate's answer."""
    out: dict[str, dict[int, list[object]]] = {}
    for sheet in (answer.get("updatedSpreadsheet") or {}).get("sheets") or []:
        title = str((sheet.get("properties") or {}).get("title", ""))
        rows = out.setdefault(title, {})
        for data in sheet.get("data") or []:
            first, left = int(data.get("startRow") or 0), int(data.get("startColumn") or 0)
            for i, row in enumerate(data.get("rowData") or []):
                values = [effective(cell) for cell in row.get("values") or []]
                rows[first + i + 1] = [None] * left + values
    return out
