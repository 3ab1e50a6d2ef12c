"""A worksheet's small elements around its cells, edited as bytes where they stand.

What ``init`` and a new column touch besides the cells: the frozen header row,
column widths and dropdowns; each new element goes where the schema orders it
among the worksheet's children, and everything else in the part stays byte for
byte. Replacing every row of a tab the sync owns is here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sync.backends.xlsx.sheet import Sheet, attrs, ranges

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


def set_head_widths(sheet: Sheet, head: bytes | memoryview, wanted: Mapping[int, float]) -> bytes:
    """:func:`set_widths` on the part's head alone (what precedes its ``sheetData``, as
    :meth:`Sheet.pieces` gives it first), so a large edited part need not be joined
    into one to set a new column's width: the widths are all in the head."""
    closing = b"<" + sheet.p + b"sheetData/></" + sheet.p + b"worksheet>"
    head_only = Sheet(bytes(head) + closing, sheet.name)
    return set_widths(head_only, wanted)[: -len(closing)]


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
