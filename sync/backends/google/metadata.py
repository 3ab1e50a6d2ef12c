"""The spreadsheet's metadata: tab ids, titles, grid sizes, time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules.values import key

META_FIELDS = (
    "properties(title,timeZone,locale),"
    "sheets(properties(sheetId,title,index,sheetType,"
    "gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,range,description,warningOnly))"
)


@dataclass
class TabInfo:
    """One tab as the metadata describes it."""

    sheet_id: int
    title: str
    rows: int
    columns: int
    frozen_rows: int = 0
    protected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Metadata:
    """The spreadsheet's title, time zone and tabs, read once and kept."""

    title: str
    time_zone: str | None
    tabs: list[TabInfo]
    read_at: float = 0.0

    @classmethod
    def parse(cls, raw: Mapping[str, Any], read_at: float) -> Metadata:
        props = raw.get("properties") or {}
        tabs = []
        for sheet in raw.get("sheets") or []:
            p = sheet.get("properties") or {}
            if p.get("sheetType", "GRID") != "GRID":
                continue
            grid = p.get("gridProperties") or {}
            tabs.append(
                TabInfo(
                    int(p.get("sheetId") or 0),
                    str(p.get("title", "")),
                    int(grid.get("rowCount") or 0),
                    int(grid.get("columnCount") or 0),
                    int(grid.get("frozenRowCount") or 0),
                    list(sheet.get("protectedRanges") or []),
                )
            )
        return cls(str(props.get("title", "")), props.get("timeZone"), tabs, read_at)

    def find(self, name: str) -> TabInfo | None:
        """A tab by its title: exactly, else case-insensitively with spaces trimmed."""
        for tab in self.tabs:
            if tab.title == name:
                return tab
        return next((t for t in self.tabs if key(t.title) == key(name)), None)


#: A tab's title and grid (rows, columns) as a read's range showed them.
Shown = tuple[str, tuple[int, int] | None]


class MetadataCache:
    """The metadata as last read, kept between cycles: the one place it is changed.

    It is read again when forgotten (a write found the layout moved, ``init`` changed
    it) or when the backend asks (a tab is missing, it is too old)."""

    def __init__(self) -> None:
        self._meta: Metadata | None = None

    @property
    def kept(self) -> Metadata | None:
        return self._meta

    def keep(self, raw: Mapping[str, Any], read_at: float) -> Metadata:
        """Google's answer to a metadata read, parsed and kept."""
        self._meta = Metadata.parse(raw, read_at)
        return self._meta

    def forget(self) -> None:
        """The layout may have moved: the next use reads it again."""
        self._meta = None

    def note_shown(self, meta: Metadata, shown: Sequence[Shown]) -> None:
        """Each tab's title and grid as a values read showed them (in tab order): a rename
        may have changed only a title's case, and the grid may have grown."""
        for tab, (title, end) in zip(meta.tabs, shown, strict=False):
            tab.title = title
            if end is not None:
                tab.rows, tab.columns = end

    def note_written(
        self,
        meta: Metadata,
        added: Sequence[TabInfo],
        rows: Mapping[int, int],
        columns: Mapping[int, int],
    ) -> None:
        """What a write did to the layout: tabs added, and rows and columns (by sheet id)
        each tab now has."""
        meta.tabs.extend(added)
        for info in meta.tabs:
            info.rows = rows.get(info.sheet_id, info.rows)
            info.columns = columns.get(info.sheet_id, info.columns)


def quote_title(title: str) -> str:
    """A tab title as an A1 range: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def grid_end(a1: str) -> tuple[int, int] | None:
    """(rows, columns) a whole-tab range such as ``'Tab'!A1:Z1000`` reaches."""
    m = re.search(r"!([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$", a1)
    if not m:
        return None
    letters, number = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(number), col


def range_title(a1: str) -> str | None:
    """The tab title of a range as Google prints it (``'My Tab'!A1:B2`` -> ``My Tab``)."""
    head, sep, _ = a1.rpartition("!")
    if not sep or not head:
        return None
    if len(head) > 1 and head[0] == head[-1] == "'":
        return head[1:-1].replace("''", "'")
    return head
