"""The ``<c>`` elements the sync writes: plain values, never formulas.

Text is written as an inline string (nothing is added to the shared strings
table), numbers and dates as numbers (a date with a date format), a blank as a
cell that keeps only its style. A cell keeps its own style, with the color the
sync gives it; a formula it held is replaced by the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from rules.model import Value
from rules.schema import CellKind
from rules.tabs import column_letter
from sync.backends.xlsx.sheet import Cell
from sync.backends.xlsx.styles import Styles

#: What an xlsx file cannot hold as it is: control characters, and text that reads
#: as Excel's escape for one.
_UNSTORABLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_|[\ud800-\udfff\ufffe\uffff]"
)
#: Attributes a written cell drops: its type, and the metadata of a value it no longer has.
_DROPPED = (b"r", b"s", b"t", b"cm", b"vm")


def as_stored(value: str) -> str:
    """Text as Excel stores it, so it reads back as it was: ``\\x07`` as ``_x0007_``, a
    typed ``_x0041_`` as ``_x005F_x0041_``. (Non-characters, which no read can return,
    become U+FFFD.)"""

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) > 1:
            return "_x005F" + found
        return f"_x{ord(found):04X}_" if found < " " else "\ufffd"

    return _UNSTORABLE.sub(escape, value)


def escape_text(value: str) -> bytes:
    stored = as_stored(value)
    return (
        stored.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
        .encode("utf-8")
    )


def escape_attr(value: str) -> bytes:
    return escape_text(value).replace(b'"', b"&quot;").replace(b"\n", b"&#10;")


def serial(value: date, date1904: bool) -> str:
    base = date(1904, 1, 1) if date1904 else date(1899, 12, 30)
    if isinstance(value, datetime):
        delta = value - datetime(base.year, base.month, base.day, tzinfo=value.tzinfo)
        return repr(delta.total_seconds() / 86400)
    return str((value - base).days)


def number_text(value: float | int | Decimal) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or value == int(value):
        return str(int(value))
    return repr(float(value))


@dataclass
class Writer:
    """Builds the cells of one write, with the workbook's styles and date system."""

    styles: Styles
    date1904: bool
    prefix: bytes = b""
    #: Cells written over that used the shared strings table (its count goes down).
    strings_dropped: int = 0

    def cell(
        self,
        row: int,
        col: int,
        value: Value,
        kind: CellKind,
        *,
        existing: Cell | None,
        style: int | None = None,
        set_value: bool = True,
        set_color: bool = False,
        color: str | None = None,
        bold: bool = False,
    ) -> bytes:
        """The new ``<c>`` element for (row, col); ``style`` overrides the cell's own."""
        p = self.prefix
        ref = f"{column_letter(col)}{row}".encode()
        base = style if style is not None else (existing.style if existing is not None else 0)
        if not set_value and existing is not None:
            # Only the background changes: the cell's content stays as it is.
            new_style = self.styles.derive(base, set_color=set_color, color=color)
            return _restyled(existing, new_style)
        if existing is not None and existing.attrs.get(b"t") == b"s":
            self.strings_dropped += 1
        is_date = kind == "date" and isinstance(value, date)
        new_style = self.styles.derive(
            base, set_color=set_color, color=color, date=is_date, bold=bold
        )
        keep = b""
        if existing is not None:
            keep = b"".join(
                b' %s="%s"' % (k, v) for k, v in existing.attrs.items() if k not in _DROPPED
            )
        s = b' s="%d"' % new_style if new_style else b""
        head = b'<%sc r="%s"%s%s' % (p, ref, s, keep)
        if value is None or (isinstance(value, str) and value == ""):
            return head + b"/>"
        if is_date:
            assert isinstance(value, date)
            return head + b"><%sv>%s</%sv></%sc>" % (p, serial(value, self.date1904).encode(), p, p)
        if (
            kind == "number"
            and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool)
        ):
            return head + b"><%sv>%s</%sv></%sc>" % (p, number_text(value).encode(), p, p)
        text = escape_text(str(value))
        return head + b' t="inlineStr"><%sis><%st xml:space="preserve">%s</%st></%sis></%sc>' % (
            p,
            p,
            text,
            p,
            p,
            p,
        )


def _restyled(existing: Cell, style: int) -> bytes:
    found = re.match(rb"(<[^>]*?)(/?>)", existing.raw)
    assert found is not None
    tag = re.sub(rb'\s+s="[^"]*"', b"", found.group(1))
    tag = re.sub(
        rb'(\br="[^"]*")',
        lambda m: m.group(1) + (b' s="%d"' % style if style else b""),
        tag,
        count=1,
    )
    if b' r="' not in tag and style:
        tag += b' s="%d"' % style
    return tag + found.group(2) + existing.raw[found.end() :]
