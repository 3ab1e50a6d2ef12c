"""What the verification read found, and how a read is fingerprinted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rules.schema import TABS
from rules.values import is_blank, key, text

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


def read_digest(key: str, time_zone: str | None, titles: Sequence[str], answer: bytes) -> str:
    """The fingerprint of a read (``Snapshot.digest``).

    Google's answer byte for byte holds every value of every tab read and each tab's range
    (its title and grid); with it go the spreadsheet, its time zone and the titles asked
    for, in order. Anything a cycle's result could depend on changes the digest.
    """
    digest = hashlib.sha256(json.dumps([key, time_zone, list(titles)]).encode())
    digest.update(b"\n")
    digest.update(answer)
    return digest.hexdigest()
