"""What the verification read found, and how a read is fingerprinted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.schema import TABS
from rules.values import is_blank, key, text
from sync.backends.base import Snapshot, WritePlan
from sync.backends.google.landing import cell_at, trimmed
from sync.backends.google.metadata import Metadata, quote_title

#: Verify at most this many separate row ranges; beyond, one range per tab.
MAX_VERIFY_RANGES = 60

_KNOWN = {key(tab.name): tab for tab in TABS}


def input_positions(title: str, header: Sequence[object]) -> list[int]:
    """Columns whose cells tell whether a row is still the one that was read.

    The input columns the contract knows; on a tab it does not know, every column.
    """
    spec = _KNOWN.get(key(title))
    if spec is None:
        return list(range(len(header)))
    inputs = {key(c.name) for c in spec.inputs}
    return [i for i, h in enumerate(header) if not is_blank(h) and key(text(h)) in inputs]


def row_runs(rows: Iterable[int], gap: int = 20) -> list[tuple[int, int]]:
    """Sorted 1-based rows as inclusive (first, last) runs, merging gaps up to ``gap`` rows."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row - runs[-1][1] <= gap:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    return [(a, b) for a, b in runs]


@dataclass
class SafeRows:
    """What the verification read found: per tab, the rows safe to write."""

    header_ok: dict[str, bool] = field(default_factory=dict)
    current: dict[str, dict[int, Sequence[object]]] = field(default_factory=dict)
    rows_ok: dict[str, set[int]] = field(default_factory=dict)


def read_digest(
    spreadsheet_id: str, time_zone: str | None, titles: Sequence[str], answer: bytes
) -> str:
    """The fingerprint of a read (``Snapshot.digest``).

    Google's answer byte for byte holds every value of every tab read and each tab's range
    (its title and grid); with it go the spreadsheet, its time zone and the titles asked
    for, in order. Anything a cycle's result could depend on changes the digest.
    """
    digest = hashlib.sha256(json.dumps([spreadsheet_id, time_zone, list(titles)]).encode())
    digest.update(b"\n")
    digest.update(answer)
    return digest.hexdigest()


@dataclass(frozen=True)
class VerifyRange:
    """One range of the verification read: a tab's rows from ``first`` on, as A1."""

    tab: str
    first: int
    a1: str


def verify_ranges(plan: WritePlan, meta: Metadata) -> tuple[dict[str, set[int]], list[VerifyRange]]:
    """The rows a plan writes, per tab, and the ranges that read them again (each tab's
    header too); a tab the metadata lacks gets no range. Beyond
    :data:`MAX_VERIFY_RANGES` ranges in all, one range per tab."""
    rows_by_tab: dict[str, set[int]] = {}
    for change in plan.cells:
        rows_by_tab.setdefault(change.tab, set()).add(change.row)
    for header in plan.headers:
        rows_by_tab.setdefault(header.tab, set())
    for append in plan.appends:
        rows_by_tab.setdefault(append.tab, set())
    wanted: list[VerifyRange] = []
    runs = {title: row_runs(rows) for title, rows in rows_by_tab.items()}
    many = sum(len(r) for r in runs.values()) > MAX_VERIFY_RANGES
    for title, tab_runs in runs.items():
        info = meta.find(title)
        if info is None:
            continue
        if many and tab_runs:
            tab_runs = [(tab_runs[0][0], tab_runs[-1][1])]
        q = quote_title(info.title)
        wanted.append(VerifyRange(title, 1, f"{q}!1:1"))
        for first, last in tab_runs:
            last = min(last, info.rows)
            if first <= last:
                wanted.append(VerifyRange(title, first, f"{q}!{first}:{last}"))
    return rows_by_tab, wanted


def safe_rows(
    snapshot: Snapshot,
    meta: Metadata,
    rows_by_tab: Mapping[str, set[int]],
    wanted: Sequence[VerifyRange],
    answer: Sequence[Mapping[str, Any]],
) -> SafeRows:
    """What the verification read's ``answer`` (to ``wanted``) shows: per tab, whether its
    header is the one read, and the rows whose input cells did not change."""
    verified = SafeRows()
    for title in rows_by_tab:
        if meta.find(title) is None:
            verified.header_ok[title] = False
    for at, found in zip(wanted, answer, strict=False):
        values = found.get("values") or []
        current = verified.current.setdefault(at.tab, {})
        for i, row in enumerate(values, start=at.first):
            # Google's "" is a blank, as it is in the tables read (Table rows).
            current[i] = [None if v == "" else v for v in row] if "" in row else row
        if at.first == 1:
            current.setdefault(1, [])
    for title, rows in rows_by_tab.items():
        if title in verified.header_ok:
            continue
        table = snapshot.tables.get(title)
        current = verified.current.get(title, {})
        if table is None:
            verified.header_ok[title] = False
            continue
        header_ok = trimmed(current.get(1, [])) == trimmed(table.header)
        verified.header_ok[title] = header_ok
        positions = input_positions(title, table.header)
        ok = set()
        if header_ok:
            # Quick: every cell up to the last input column is the same (blanks and
            # trimmed cells alike); else input cell by input cell.
            reach = max(positions, default=-1) + 1
            for row in rows:
                i = row - 2
                before = table.rows[i] if 0 <= i < len(table.rows) else ()
                now = current.get(row, ())
                if before[:reach] == now[:reach] or all(
                    cell_at(before, p) == cell_at(now, p) for p in positions
                ):
                    ok.add(row)
        verified.rows_ok[title] = ok
    return verified


def input_span(snapshot: Snapshot, title: str) -> int:
    """How many columns, from A, hold a tab's input columns (at least one)."""
    table = snapshot.tables.get(title)
    header = table.header if table is not None else ()
    return max(input_positions(title, header), default=0) + 1
