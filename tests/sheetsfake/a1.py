"""A1 notation: parse ranges such as ``'My Tab'!A2:C`` and print them the way Google does.

Rows and columns are 0-based here; an end index is exclusive and ``None`` means "unbounded"
(``A:C`` has no row bounds, ``2:5`` has no column bounds, a bare tab name has none at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]{0,3})([0-9]*)$")
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}[0-9]+$")
_LOOKS_LIKE_R1C1 = re.compile(r"^[Rr][0-9]*[Cc][0-9]*$")


class A1Error(ValueError):
    """The text is not valid A1 notation."""


@dataclass(frozen=True)
class A1Range:
    """A parsed range; ``sheet`` is None when the text named no tab (meaning the first tab)."""

    sheet: str | None
    start_row: int | None = None
    start_col: int | None = None
    end_row: int | None = None
    end_col: int | None = None

    @property
    def whole_sheet(self) -> bool:
        return (self.start_row, self.start_col, self.end_row, self.end_col) == (None,) * 4


def col_letters(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    n = index + 1
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """'A' -> 0, 'AA' -> 26 (case-insensitive)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_index(a1: str) -> tuple[int, int]:
    """'B3' -> (row 2, col 1)."""
    m = _CELL.match(a1.strip())
    if not m or not m.group(1) or not m.group(2) or int(m.group(2)) < 1:
        raise A1Error(a1)
    return int(m.group(2)) - 1, col_index(m.group(1))


def quote_sheet_name(name: str) -> str:
    """Quote a tab name only where Google does: 'Sheet1' stays bare, 'My Tab' gets quotes."""
    if (
        _PLAIN_NAME.match(name)
        and not _LOOKS_LIKE_CELL.match(name)
        and not _LOOKS_LIKE_R1C1.match(name)
    ):
        return name
    return "'" + name.replace("'", "''") + "'"


def format_cells(start_row: int, start_col: int, end_row: int, end_col: int) -> str:
    """Inclusive-exclusive box to 'A1:B2' (or 'A1' for a single cell)."""
    first = f"{col_letters(start_col)}{start_row + 1}"
    last = f"{col_letters(end_col - 1)}{end_row}"
    return first if first == last else f"{first}:{last}"


def format_range(title: str, start_row: int, start_col: int, end_row: int, end_col: int) -> str:
    """Box on a tab to Google's form, e.g. ``'My Tab'!A1:C10``."""
    return f"{quote_sheet_name(title)}!{format_cells(start_row, start_col, end_row, end_col)}"


def _parse_part(text: str) -> tuple[int | None, int | None]:
    m = _CELL.match(text)
    if not m or not (m.group(1) or m.group(2)):
        raise A1Error(text)
    col = col_index(m.group(1)) if m.group(1) else None
    if m.group(2):
        if int(m.group(2)) < 1:
            raise A1Error(text)
        row: int | None = int(m.group(2)) - 1
    else:
        row = None
    return row, col


def parse_cells(text: str) -> tuple[int | None, int | None, int | None, int | None]:
    """'A2:C' -> (start_row, start_col, end_row, end_col) with None for unbounded ends."""
    parts = text.strip().split(":")
    if len(parts) == 1:
        row, col = _parse_part(parts[0])
        if row is None or col is None:
            raise A1Error(text)
        return row, col, row + 1, col + 1
    if len(parts) != 2:
        raise A1Error(text)
    (r1, c1), (r2, c2) = _parse_part(parts[0]), _parse_part(parts[1])
    if r1 is None and c1 is not None and r2 is not None and c2 is not None:
        r1 = 0  # "A:B5" reads as A1:B5
    if (r1 is None) != (r2 is None) and r1 is None:
        raise A1Error(text)
    if c1 is None and c2 is not None:
        raise A1Error(text)
    if r1 is not None and r2 is not None and r2 < r1:
        r1, r2 = r2, r1
    if c1 is not None and c2 is not None and c2 < c1:
        c1, c2 = c2, c1
    return (
        r1,
        c1,
        None if r2 is None else r2 + 1,
        None if c2 is None else c2 + 1,
    )


def parse_range(text: str) -> A1Range:
    """Parse ``Tab``, ``'Quoted Tab'!A1:B2``, ``Tab!A:C``, ``A1:B2`` (first tab), ..."""
    text = text.strip()
    if not text:
        raise A1Error(text)
    if text.startswith("'"):
        name: list[str] = []
        i = 1
        while True:
            if i >= len(text):
                raise A1Error(text)
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(text[i])
            i += 1
        rest = text[i + 1 :]
        if not rest:
            return A1Range("".join(name))
        if not rest.startswith("!") or len(rest) == 1:
            raise A1Error(text)
        return A1Range("".join(name), *parse_cells(rest[1:]))
    if "!" in text:
        sheet, cells = text.rsplit("!", 1)
        if not sheet or not cells:
            raise A1Error(text)
        return A1Range(sheet, *parse_cells(cells))
    try:
        return A1Range(None, *parse_cells(text))
    except A1Error:
        return A1Range(text)
