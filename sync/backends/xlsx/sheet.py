"""A worksheet part, edited as bytes: only the cells written and the rows added change.

A worksheet can be hundreds of megabytes, so it is never built into a tree.
Rows are found by their ``r`` attribute (a string search), a changed row's
cells are split out with a regular expression, and the part is put back
together from the untouched byte ranges and the rewritten ``<c>`` and
``<row>`` elements. The few small elements ``init`` and a new column touch
(the frozen pane, column widths, dropdowns, the used range) are edited where
they stand, in the order the schema gives them.
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

#: The children of a worksheet, in schema order (CT_Worksheet).
ORDER = (
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
    "sheetProtection",
    "protectedRanges",
    "scenarios",
    "autoFilter",
    "sortState",
    "dataConsolidate",
    "customSheetViews",
    "mergeCells",
    "phoneticPr",
    "conditionalFormatting",
    "dataValidations",
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)


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
        self, edits: Mapping[int, Mapping[int, Any]], handler: Handler | None = None
    ) -> list[bytes | memoryview]:
        """:meth:`edit`'s result as the pieces it is joined from: views of the kept
        bytes and the rewritten rows, so a large part need not be copied whole."""
        wanted = sorted(edits)
        spans = self.locate(wanted)
        data = self.data
        view = memoryview(data)
        body: list[bytes | memoryview] = []
        pos = self.inner[0]
        max_row = max_col = -1
        for row in wanted:
            start, end = spans[row]
            body.append(view[pos:start])
            new, top = self._edit_row(row, start, end, edits[row], handler)
            body.append(new)
            if top >= 0:
                max_row, max_col = max(max_row, row), max(max_col, top)
            pos = end
        # Only the part's head (before the rows) can change besides them: the used range.
        head = data[: self.open_start]
        if max_row >= 0:
            head = grow_dimension(head, self.p, max_row, max_col)
        opening = view[self.open_start : self.inner[0]]
        if self.self_closing:
            opening = memoryview(bytes(opening)[:-2].rstrip() + b">")
            body.append(b"</" + self.p + b"sheetData>")
            pos = self.close_end
        return [head, opening, *body, view[pos:]]

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


def element_span(data: bytes, p: bytes, name: str, lo: int, hi: int) -> tuple[int, int] | None:
    """Where a worksheet child element stands between lo and hi: (start, end)."""
    found = re.compile(rb"<" + re.escape(p) + name.encode() + rb"\b[^>]*?(/?)>").search(
        data, lo, hi
    )
    if found is None:
        return None
    if found.group(1):
        return found.start(), found.end()
    close = data.find(b"</" + p + name.encode() + b">", found.end(), hi)
    if close < 0:
        return None
    return found.start(), close + len(b"</" + p + name.encode() + b">")


def insert_at(sheet: Sheet, name: str) -> int:
    """Where a new ``name`` child of the worksheet goes, by schema order."""
    data = sheet.data
    rank = ORDER.index(name)
    before_data = rank < ORDER.index("sheetData")
    lo = (
        data.find(b">", data.find(b"<" + sheet.p + b"worksheet")) + 1
        if before_data
        else sheet.close_end
    )
    hi = sheet.open_start if before_data else _ext_start(sheet)
    at = lo
    for earlier in ORDER[:rank]:
        span = element_span(data, sheet.p, earlier, lo, hi)
        if span is not None and earlier not in ("sheetData",):
            # the last of the repeatable ones (conditionalFormatting) counts
            while span is not None:
                at = max(at, span[1])
                span = element_span(data, sheet.p, earlier, span[1], hi)
    if not before_data:
        at = max(at, sheet.close_end)
    return at


def _ext_start(sheet: Sheet) -> int:
    found = sheet.data.find(b"<" + sheet.p + b"extLst", sheet.close_end)
    if found < 0:
        found = sheet.data.rfind(b"</" + sheet.p + b"worksheet>")
    return found if found >= 0 else len(sheet.data)


def head_span(sheet: Sheet, name: str) -> tuple[int, int] | None:
    """A child before ``sheetData`` (sheetViews, cols, dimension)."""
    lo = sheet.data.find(b">", sheet.data.find(b"<" + sheet.p + b"worksheet")) + 1
    return element_span(sheet.data, sheet.p, name, lo, sheet.open_start)


def tail_span(sheet: Sheet, name: str) -> tuple[int, int] | None:
    """A child after ``sheetData`` and before the extension list."""
    return element_span(sheet.data, sheet.p, name, sheet.close_end, _ext_start(sheet))


# --- column widths ---------------------------------------------------------


def widths(sheet: Sheet) -> list[tuple[int, int, dict[bytes, bytes]]]:
    """The ``<col>`` entries: (first, last, attributes), 0-based columns."""
    span = head_span(sheet, "cols")
    if span is None:
        return []
    out = []
    for found in re.finditer(
        rb"<" + re.escape(sheet.p) + rb"col\b([^>]*?)/?>", sheet.data[span[0] : span[1]]
    ):
        at = attrs(found.group(1))
        try:
            out.append((int(at.get(b"min", b"1")) - 1, int(at.get(b"max", b"1")) - 1, at))
        except ValueError:
            continue
    return out


def custom_width(sheet: Sheet, col: int) -> float | None:
    for first, last, at in widths(sheet):
        if first <= col <= last and at.get(b"customWidth") in (b"1", b"true") and b"width" in at:
            try:
                return float(at[b"width"])
            except ValueError:
                return None
    return None


def _col_element(p: bytes, first: int, last: int, at: Mapping[bytes, bytes]) -> bytes:
    rest = b"".join(b' %s="%s"' % (k, v) for k, v in at.items() if k not in (b"min", b"max"))
    return b'<%scol min="%d" max="%d"%s/>' % (p, first + 1, last + 1, rest)


def set_widths(sheet: Sheet, wanted: Mapping[int, float]) -> bytes:
    """The part with these columns' widths set (a range covering one is split)."""
    if not wanted:
        return sheet.data
    entries = widths(sheet)
    out: list[tuple[int, int, dict[bytes, bytes]]] = []
    for first, last, at in entries:
        cuts = sorted(c for c in wanted if first <= c <= last)
        start = first
        for c in cuts:
            if start < c:
                out.append((start, c - 1, at))
            start = c + 1
        if start <= last:
            out.append((start, last, at))
    for c, width in wanted.items():
        base = next((at for f, la, at in entries if f <= c <= la), {})
        new = {k: v for k, v in base.items() if k not in (b"width", b"customWidth", b"bestFit")}
        new[b"width"] = (b"%.2f" % width).rstrip(b"0").rstrip(b".")
        new[b"customWidth"] = b"1"
        out.append((c, c, new))
    out.sort(key=lambda e: e[0])
    body = b"".join(_col_element(sheet.p, f, la, at) for f, la, at in out)
    element = b"<" + sheet.p + b"cols>" + body + b"</" + sheet.p + b"cols>"
    span = head_span(sheet, "cols")
    data = sheet.data
    if span is not None:
        return data[: span[0]] + element + data[span[1] :]
    where = insert_at(sheet, "cols")
    return data[:where] + element + data[where:]


# --- the frozen header row --------------------------------------------------


def is_frozen(sheet: Sheet) -> bool:
    span = head_span(sheet, "sheetViews")
    if span is None:
        return False
    views = sheet.data[span[0] : span[1]]
    return re.search(rb'<(?:[\w.-]+:)?pane\b[^>]*\bstate="frozen', views) is not None


def freeze_header(sheet: Sheet) -> bytes:
    p = sheet.p
    pane = b'<%spane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' % p
    span = head_span(sheet, "sheetViews")
    data = sheet.data
    if span is None:
        at = insert_at(sheet, "sheetViews")
        views = b'<%ssheetViews><%ssheetView workbookViewId="0">%s</%ssheetView></%ssheetViews>' % (
            p,
            p,
            pane,
            p,
            p,
        )
        return data[:at] + views + data[at:]
    views = data[span[0] : span[1]]
    view = re.search(rb"<" + re.escape(p) + rb"sheetView\b[^>]*?(/?)>", views)
    if view is None:
        return data
    if view.group(1):
        opened = view.group(0)[:-2].rstrip() + b">"
        replaced = opened + pane + b"</" + p + b"sheetView>"
    else:
        existing = re.search(rb"<" + re.escape(p) + rb"pane\b[^>]*?/>", views[view.end() :])
        if existing is not None and existing.start() == 0:
            start = span[0] + view.end()
            return data[:start] + pane + data[start + existing.end() :]
        replaced = view.group(0) + pane
    start = span[0] + view.start()
    return data[:start] + replaced + data[span[0] + view.end() :]


# --- dropdowns --------------------------------------------------------------


def dropdown_columns(sheet: Sheet) -> set[int]:
    """The columns whose row 2 has a dropdown (a data validation, or Excel's extension)."""
    found: set[int] = set()
    tail = sheet.data[sheet.close_end :]
    refs = [
        attrs(m.group(1)).get(b"sqref", b"")
        for m in re.finditer(rb"<(?:[\w.-]+:)?dataValidation\b([^>]*)>", tail)
    ]
    refs += re.findall(rb"<(?:[\w.-]+:)?sqref>([^<]*)<", tail)
    for ref in refs:
        for r1, c1, r2, c2 in ranges(ref):
            if r1 <= 2 <= r2:
                found.update(range(c1, c2 + 1))
    return found


def add_dropdowns(sheet: Sheet, items: list[bytes]) -> bytes:
    """Append ``<dataValidation>`` elements, making the list when there is none."""
    if not items:
        return sheet.data
    data = sheet.data
    p = sheet.p
    span = tail_span(sheet, "dataValidations")
    if span is None:
        at = insert_at(sheet, "dataValidations")
        element = b'<%sdataValidations count="%d">%s</%sdataValidations>' % (
            p,
            len(items),
            b"".join(items),
            p,
        )
        return data[:at] + element + data[at:]
    block = data[span[0] : span[1]]
    count = len(re.findall(rb"<" + re.escape(p) + rb"dataValidation\b", block)) + len(items)
    opening = re.match(rb"<" + re.escape(p) + rb"dataValidations\b([^>]*?)(/?)>", block)
    assert opening is not None
    rest = re.sub(rb'\s*\bcount="\d*"', b"", opening.group(1))
    new_open = b'<%sdataValidations%s count="%d">' % (p, rest, count)
    if opening.group(2):
        body = b"".join(items) + b"</" + p + b"dataValidations>"
    else:
        close = block.rfind(b"</")
        body = block[opening.end() : close] + b"".join(items) + block[close:]
    return data[: span[0]] + new_open + body + data[span[1] :]


def replace_rows(sheet: Sheet, rows: bytes) -> bytes:
    """The part with every row replaced (a tab the sync owns), merges dropped."""
    data = sheet.data
    p = sheet.p
    head = data[: sheet.open_start]
    opening = re.match(rb"<" + re.escape(p) + rb"sheetData\b[^>]*?/?>", data[sheet.open_start :])
    assert opening is not None
    tag = opening.group(0)
    if tag.endswith(b"/>"):
        tag = tag[:-2].rstrip() + b">"
    tail = data[sheet.close_end :]
    merges = re.search(
        rb"<" + re.escape(p) + rb"mergeCells\b.*?(?:</" + re.escape(p) + rb"mergeCells>|/>)",
        tail,
        re.S,
    )
    if merges is not None:
        tail = tail[: merges.start()] + tail[merges.end() :]
    return head + tag + rows + b"</" + p + b"sheetData>" + tail
