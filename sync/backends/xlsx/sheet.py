"""A worksheet part, edited as bytes: only the cells written and the rows added change.

A worksheet can be hundreds of megabytes, so it is never built into a tree.
Rows are found by their ``r`` attribute (a string search), a changed row's
cells are split out with a regular expression, and the part is put back
together from the untouched byte ranges and the rewritten ``<c>`` and
``<row>`` elements. The small elements around the cells are in
:mod:`sync.backends.xlsx.elements`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rules.tabs import column_letter
from sync.backends.xlsx.package import Unreadable, root_prefix

_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def attrs(raw: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(raw)
    }


def col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def split_ref(ref: bytes) -> tuple[int, int] | None:
    """``b"C7"`` -> (row 7, column 2)."""
    found = _REF.match(ref.strip())
    if found is None:
        return None
    return int(found.group(2)), col_index(found.group(1))


def ranges(sqref: bytes) -> list[tuple[int, int, int, int]]:
    """``b"A2:A9 C3"`` -> [(row1, col1, row2, col2), ...] (0-based columns)."""
    out = []
    for part in sqref.split():
        a, _, b = part.partition(b":")
        first, last = split_ref(a), split_ref(b or a)
        if first is None or last is None:
            continue
        out.append(
            (
                min(first[0], last[0]),
                min(first[1], last[1]),
                max(first[0], last[0]),
                max(first[1], last[1]),
            )
        )
    return out


@dataclass(eq=False)
class Cell:
    """One ``<c>`` element as it stands in the part."""

    col: int
    tag: bytes  # the attributes of the opening tag, as they stand
    body: bytes | None  # what is between the tags; None when self-closing
    raw: bytes

    @functools.cached_property
    def attrs(self) -> dict[bytes, bytes]:
        return attrs(self.tag)

    @property
    def style(self) -> int:
        try:
            return int(self.attrs.get(b"s", b"0") or 0)
        except ValueError:
            return 0

    @property
    def has_formula(self) -> bool:
        return self.body is not None and re.search(rb"<(?:[\w.-]+:)?f[\s/>]", self.body) is not None

    @property
    def is_blank(self) -> bool:
        return self.body is None or not re.search(rb"<(?:[\w.-]+:)?(?:f|v|is)[\s/>]", self.body)

    def formula(self) -> dict[bytes, bytes] | None:
        """The attributes of its ``<f>`` element, when it has one."""
        if self.body is None:
            return None
        found = re.search(rb"<(?:[\w.-]+:)?f\b([^>]*?)/?>", self.body)
        return attrs(found.group(1)) if found else None


#: What to put in a cell: given the cell as it stands (None if absent) and the cell on
#: its left in the same row, the new ``<c>`` element's bytes, or None to leave it.
Edit = Callable[[Cell | None, Cell | None], bytes | None]
#: What to put in a cell for an edit given as a plain value instead (one per cell of a
#: large write, with no function made for each): the value, the cell, the cell on its left.
Handler = Callable[[Any, Cell | None, Cell | None], bytes | None]


class Sheet:
    """One worksheet part's bytes, with the positions of its sections."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.p = root_prefix(data)
        p = re.escape(self.p)
        found = re.search(rb"<" + p + rb"sheetData\b[^>]*?(/?)>", data)
        if found is None:
            raise Unreadable(f"its part {name} is not a worksheet")
        self.open_start = found.start()
        if found.group(1):
            self.inner = (found.end(), found.end())
            self.close_end = found.end()
            self.self_closing = True
        else:
            close = data.find(b"</" + self.p + b"sheetData>", found.end())
            if close < 0:
                raise Unreadable(f"its part {name} is damaged (not well-formed XML)")
            self.inner = (found.end(), close)
            self.close_end = close + len(b"</" + self.p + b"sheetData>")
            self.self_closing = False
        self._row_open = re.compile(rb"<" + p + rb"row\b([^>]*?)(/?)>")
        self._cell = re.compile(
            rb"<" + p + rb'c\b(?=\s+r="([A-Z]+)\d+")?([^>]*?)(?:/>|>(.*?)</' + p + rb"c>)", re.S
        )

    # --- the rows ---------------------------------------------------------

    def _row_end(self, open_match: re.Match[bytes]) -> int:
        if open_match.group(2):
            return open_match.end()
        close = self.data.find(b"</" + self.p + b"row>", open_match.end(), self.inner[1])
        if close < 0:
            raise Unreadable(f"its part {self.name} is damaged (a row is not closed)")
        return close + len(b"</" + self.p + b"row>")

    def rows(self) -> Iterator[tuple[int, int, int]]:
        """Every row element: (row number, start, end)."""
        last = 0
        pos, end = self.inner
        while True:
            found = self._row_open.search(self.data, pos, end)
            if found is None:
                return
            number = attrs(found.group(1)).get(b"r")
            row = int(number) if number else last + 1
            stop = self._row_end(found)
            yield row, found.start(), stop
            last, pos = row, stop

    def _last_row(self) -> int:
        at = self.data.rfind(b"<" + self.p + b"row", self.inner[0], self.inner[1])
        while at >= 0:
            found = self._row_open.match(self.data, at)
            if found is not None:
                number = attrs(found.group(1)).get(b"r")
                return int(number) if number else -1
            at = self.data.rfind(b"<" + self.p + b"row", self.inner[0], at)
        return 0

    def locate(self, wanted: list[int]) -> dict[int, tuple[int, int]]:
        """Where each wanted row is: (start, end) of its element, or (at, at) where a
        new row goes. ``wanted`` is sorted."""
        out: dict[int, tuple[int, int]] = {}
        last = self._last_row()
        if last >= 0:
            pos = self.inner[0]
            fast = True
            for row in wanted:
                if row > last:
                    out[row] = (self.inner[1], self.inner[1])
                    continue
                tag = b"<" + self.p + b'row r="%d"' % row
                at = self.data.find(tag, pos, self.inner[1])
                if at < 0 or self.data[at + len(tag) : at + len(tag) + 1] not in (b" ", b">", b"/"):
                    fast = False
                    break
                found = self._row_open.match(self.data, at)
                assert found is not None
                end = self._row_end(found)
                out[row] = (at, end)
                pos = end
            if fast:
                return out
        out = {}
        pending = list(wanted)
        i = 0
        for row, start, end in self.rows():
            while i < len(pending) and pending[i] < row:
                out[pending[i]] = (start, start)
                i += 1
            if i < len(pending) and pending[i] == row:
                out[row] = (start, end)
                i += 1
        for row in pending[i:]:
            out[row] = (self.inner[1], self.inner[1])
        return out

    def cells(self, start: int, end: int) -> tuple[bytes, list[Cell], bytes]:
        """A row element split: its opening tag, its cells, and what follows them."""
        found = self._row_open.match(self.data, start)
        assert found is not None
        if found.group(2):
            return found.group(0), [], b""
        inner_end = end - len(b"</" + self.p + b"row>")
        out = []
        col = -1
        pos = found.end()
        tail_at = pos
        for cell in self._cell.finditer(self.data, pos, inner_end):
            letters = cell.group(1)
            if letters:
                col = col_index(letters)
            else:
                where = split_ref(attrs(cell.group(2)).get(b"r", b""))
                col = where[1] if where else col + 1
            out.append(Cell(col, cell.group(2), cell.group(3), cell.group(0)))
            tail_at = cell.end()
        return found.group(0), out, self.data[tail_at:inner_end]

    def edit(self, edits: Mapping[int, Mapping[int, Any]], handler: Handler | None = None) -> bytes:
        """The part with the edited cells rewritten and missing rows added. An edit is
        an :data:`Edit`, or a value that ``handler`` turns into the cell."""
        return b"".join(self.pieces(edits, handler))

    def pieces(
        self,
        edits: Mapping[int, Mapping[int, Any]],
        handler: Handler | None = None,
        sink: Callable[[bytes | memoryview], None] | None = None,
    ) -> list[bytes | memoryview]:
        """:meth:`edit`'s result as the pieces it is joined from: views of the kept
        bytes and the rewritten rows, so a large part need not be copied whole.

        With a ``sink``, every piece but the first (the part's head, before its
        rows, whose used range is known only at the end) is handed to it as soon
        as it is made, and only the head is returned.
        """
        wanted = sorted(edits)
        spans = self.locate(wanted)
        data = self.data
        view = memoryview(data)
        body: list[bytes | memoryview] = []
        put = sink or body.append
        opening = view[self.open_start : self.inner[0]]
        if self.self_closing:
            opening = memoryview(bytes(opening)[:-2].rstrip() + b">")
        put(opening)
        pos = self.inner[0]
        max_row = max_col = -1
        for row in wanted:
            start, end = spans[row]
            if start > pos:  # rows written one after another leave nothing between them
                put(view[pos:start])
            new, top = self._edit_row(row, start, end, edits[row], handler)
            put(new)
            if top >= 0:
                max_row, max_col = max(max_row, row), max(max_col, top)
            pos = end
        if self.self_closing:
            put(b"</" + self.p + b"sheetData>")
            pos = self.close_end
        put(view[pos:])
        # Only the part's head (before the rows) can change besides them: the used range.
        head = data[: self.open_start]
        if max_row >= 0:
            head = grow_dimension(head, self.p, max_row, max_col)
        return [head, *body]

    def _edit_row(
        self, row: int, start: int, end: int, edits: Mapping[int, Any], handler: Handler | None
    ) -> tuple[bytes, int]:
        cells: list[Cell] = []
        if start == end:
            opening, tail = b"<" + self.p + b'row r="%d">' % row, b""
        else:
            opening, cells, tail = self.cells(start, end)
        by_col = {c.col: c for c in cells}
        columns = sorted(set(by_col) | set(edits))
        parts: list[bytes] = []
        left: Cell | None = None
        top = -1
        for col in columns:
            existing = by_col.get(col)
            new = None
            if col in edits:
                edit = edits[col]
                new = edit(existing, left) if callable(edit) else handler(edit, existing, left)  # type: ignore[misc]
            if new is None:
                if existing is not None:
                    parts.append(existing.raw)
            else:
                parts.append(new)
                top = max(top, col)
            if existing is not None:
                left = existing
        if opening.endswith(b"/>"):
            opening = opening[:-2].rstrip() + b">"
        opening = _widen_spans(opening, columns)
        return opening + b"".join(parts) + tail + b"</" + self.p + b"row>", top

    # --- reading colors ---------------------------------------------------

    def _cells_named(self, lo: int, hi: int) -> bool:
        """Whether every cell of the rows names itself first (``<c r="B7"``), as every
        program seen writes them, judged on the first and last 256 KiB of the rows (the
        whole is counted when smaller); the other way to write cells is read row by row."""
        p = self.p
        windows = [(lo, hi)] if hi - lo <= 1 << 19 else [(lo, lo + (1 << 18)), (hi - (1 << 18), hi)]
        for a, end in windows:
            b = max(self.data.find(b">", end, hi) + 1, end) if end < hi else hi
            if self.data.count(b"<" + p + b"c>", a, b):
                return False
            if self.data.count(b"<" + p + b"c ", a, b) != self.data.count(
                b"<" + p + b'c r="', a, b
            ):
                return False
        return True

    def styles_of(self, columns: list[int], rows: int) -> dict[int, list[int]]:
        """The style index of each given column's cell in rows 2 .. rows + 1."""
        out = {c: [0] * rows for c in columns}
        if not columns or rows <= 0:
            return out
        data = self.data
        p = re.escape(self.p)
        lo, hi = self.inner
        if self._cells_named(lo, hi):
            for c in columns:
                letter = column_letter(c).encode()
                pattern = re.compile(rb"<" + p + rb'c r="' + letter + rb'(\d+)"[^>]*?\bs="(\d+)"')
                styled = {int(r): int(s) for r, s in pattern.findall(data, lo, hi)}
                out[c] = [styled.get(r, 0) for r in range(2, rows + 2)]
            return out
        wanted = set(columns)
        for row, start, end in self.rows():
            i = row - 2
            if not 0 <= i < rows:
                continue
            for cell in self.cells(start, end)[1]:
                if cell.col in wanted:
                    out[cell.col][i] = cell.style
        return out

    # --- the rest of the part ---------------------------------------------

    def merged(self) -> list[tuple[bytes, tuple[int, int, int, int]]]:
        tail = self.data[self.close_end :]
        out = []
        for found in re.finditer(rb"<" + re.escape(self.p) + rb"mergeCell\b([^>]*)>", tail):
            ref = attrs(found.group(1)).get(b"ref", b"")
            for box in ranges(ref):
                out.append((ref, box))
        return out

    def formulas(self) -> bool:
        lo, hi = self.inner
        return re.search(rb"<" + re.escape(self.p) + rb"f[\s/>]", self.data[lo:hi]) is not None


def _widen_spans(opening: bytes, columns: list[int]) -> bytes:
    found = re.search(rb'\bspans="(\d+):(\d+)"', opening)
    if found is None or not columns:
        return opening
    lo, hi = int(found.group(1)), int(found.group(2))
    new_lo, new_hi = min(lo, columns[0] + 1), max(hi, columns[-1] + 1)
    if (new_lo, new_hi) == (lo, hi):
        return opening
    return opening[: found.start()] + b'spans="%d:%d"' % (new_lo, new_hi) + opening[found.end() :]


def grow_dimension(data: bytes, p: bytes, row: int, col: int) -> bytes:
    """Make the part's used range (``<dimension ref>``) cover the cell (row, col)."""
    found = re.search(rb"<" + re.escape(p) + rb'dimension\b[^>]*?\bref="([^"]*)"', data)
    if found is None:
        return data
    boxes = ranges(found.group(1))
    if not boxes:
        return data
    r1, c1, r2, c2 = boxes[0]
    if r1 == r2 == 1 and c1 == c2 == 0 and b":" not in found.group(1):
        r1 = 1  # "A1" is what an empty sheet says: its range starts there
    nr2, nc2 = max(r2, row), max(c2, col)
    if (nr2, nc2) == (r2, c2):
        return data
    ref = f"{column_letter(c1)}{r1}:{column_letter(nc2)}{nr2}".encode()
    return data[: found.start(1)] + ref + data[found.end(1) :]
