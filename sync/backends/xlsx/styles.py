"""The workbook's cell styles: which color each style shows, and new styles appended.

A new style copies a cell's own style (font, border, number format, alignment)
and changes only its color (or number format, for a date): it is appended to
``styles.xml`` with the counts kept right, unless an identical one is already
there, so repeated syncs never grow the file.
"""

from __future__ import annotations

import copy
import re

from lxml import etree

from sync.backends.looks import DATE_PATTERN
from sync.backends.xlsx.package import (
    MAIN_NS,
    STYLES_TYPE,
    Package,
    child,
    children,
    local,
)

DATE_FORMAT = DATE_PATTERN
#: Excel's built-in number formats that show dates or times.
_BUILTIN_DATES = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}
#: What in a format code is not a date token: quoted text, escapes, [colors] and [$-locales].
_NOT_TOKENS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')

_MINIMAL = (
    '<styleSheet xmlns="{ns}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
    '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
    '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
    'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles '
    'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)

#: Excel's defaults for the sections every style refers to, by section: its items.
_ITEMS = {"fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf"}
_DEFAULTS = {
    "fonts": ['<font xmlns="{ns}"><sz val="11"/><name val="Calibri"/></font>'],
    "fills": [
        '<fill xmlns="{ns}"><patternFill patternType="none"/></fill>',
        '<fill xmlns="{ns}"><patternFill patternType="gray125"/></fill>',
    ],
    "borders": ['<border xmlns="{ns}"><left/><right/><top/><bottom/><diagonal/></border>'],
    "cellXfs": ['<xf xmlns="{ns}" numFmtId="0" fontId="0" fillId="0" borderId="0"/>'],
}

#: The order of a stylesheet's children (CT_Stylesheet).
_ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)


def _fill_color(fill: etree._Element) -> str | None:
    """A fill as ``#RRGGBB``, None when it has none, else a word for what it is."""
    pattern = child(fill, "patternFill")
    if pattern is None:
        return "gradient" if child(fill, "gradientFill") is not None else None
    kind = pattern.get("patternType")
    if kind in (None, "none"):
        return None
    if kind != "solid":
        return f"pattern:{kind!s}"
    color = child(pattern, "fgColor")
    rgb = str(color.get("rgb") or "") if color is not None else ""
    if len(rgb) < 6:
        return "themed"
    return "#" + rgb[-6:].upper()


class Styles:
    """The cell styles of one package, read once, appended to as the write needs."""

    def __init__(self, package: Package) -> None:
        self.package = package
        part = package.styles_part()
        if part is None:
            part = "xl/styles.xml"
            package.set(part, _MINIMAL.format(ns=package.main_ns).encode())
            package.add_rel(package.workbook_part, "styles", part)
            package.content_override(part, STYLES_TYPE)
        self.part = part
        self.root = package.tree(part)
        self.ns = etree.QName(self.root).namespace or MAIN_NS
        self.dirty = False
        self.fonts = self._section("fonts")
        self.fills = self._section("fills")
        self._section("borders")
        self.xfs = self._section("cellXfs")
        self.colors = [_fill_color(f) for f in children(self.fills, "fill")]
        self._xf_index: dict[bytes, int] | None = None
        self._fill_index: dict[str | None, int] = {}
        for at, color in enumerate(self.colors):
            self._fill_index.setdefault(color, at)
        self._derived: dict[tuple[int, bool, str | None, bool, bool], int] = {}

    def _section(self, name: str) -> etree._Element:
        """A stylesheet section, given Excel's defaults when it is missing or empty
        (a writer may leave the stylesheet empty: ``<styleSheet/>``)."""
        found = child(self.root, name)
        if found is None:
            found = etree.Element(f"{{{self.ns}}}{name}")
            self._insert(found)
            self.dirty = True
        item = _ITEMS[name]
        if not children(found, item):
            for default in _DEFAULTS[name]:
                found.append(etree.fromstring(default.format(ns=self.ns)))
            found.set("count", str(len(children(found, item))))
            self.dirty = True
        return found

    def _insert(self, element: etree._Element) -> None:
        """Put a new stylesheet child where the schema orders it."""
        rank = _ORDER.index(local(element.tag))
        at = 0
        for i, existing in enumerate(self.root):
            name = local(existing.tag) if isinstance(existing.tag, str) else ""
            if name in _ORDER and _ORDER.index(name) < rank:
                at = i + 1
        self.root.insert(at, element)

    # --- reading ----------------------------------------------------------

    def color_of(self, style: int) -> str | None:
        """The color a cell of this style shows (see :func:`_fill_color`)."""
        xfs = children(self.xfs, "xf")
        if not 0 <= style < len(xfs):
            style = 0
            if not xfs:
                return None
        fill = int(xfs[style].get("fillId", 0) or 0)
        return self.colors[fill] if 0 <= fill < len(self.colors) else None

    def colors_by_style(self) -> list[str | None]:
        return [self.color_of(i) for i in range(len(children(self.xfs, "xf")))]

    # --- appending --------------------------------------------------------

    def _fill_id(self, color: str | None) -> int:
        found = self._fill_index.get(color)
        if found is not None:
            return found
        fill = etree.SubElement(self.fills, f"{{{self.ns}}}fill")
        pattern = etree.SubElement(fill, f"{{{self.ns}}}patternFill")
        if color is None:
            pattern.set("patternType", "none")
        else:
            argb = "FF" + color.lstrip("#").upper()
            pattern.set("patternType", "solid")
            etree.SubElement(pattern, f"{{{self.ns}}}fgColor").set("rgb", argb)
            etree.SubElement(pattern, f"{{{self.ns}}}bgColor").set("rgb", argb)
        self.fills.set("count", str(len(children(self.fills, "fill"))))
        self.colors.append(color)
        at = len(self.colors) - 1
        self._fill_index[color] = at
        self.dirty = True
        return at

    def _date_format(self) -> int:
        formats = child(self.root, "numFmts")
        if formats is None:
            formats = etree.Element(f"{{{self.ns}}}numFmts")
            self._insert(formats)
        taken = []
        for fmt in children(formats, "numFmt"):
            number = int(fmt.get("numFmtId", 0) or 0)
            if fmt.get("formatCode") == DATE_FORMAT:
                return number
            taken.append(number)
        number = max([163, *taken]) + 1
        fmt = etree.SubElement(formats, f"{{{self.ns}}}numFmt")
        fmt.set("numFmtId", str(number))
        fmt.set("formatCode", DATE_FORMAT)
        formats.set("count", str(len(children(formats, "numFmt"))))
        self.dirty = True
        return number

    def _xf(self, xf: etree._Element) -> int:
        """The index of a style identical to ``xf``, appending it when there is none."""
        xfs = children(self.xfs, "xf")
        if self._xf_index is None:
            self._xf_index = {}
            for at, existing in enumerate(xfs):
                self._xf_index.setdefault(etree.tostring(existing), at)
        found = self._xf_index.get(etree.tostring(xf))
        if found is not None:
            return found
        self.xfs.append(xf)
        at = len(xfs)
        self._xf_index[etree.tostring(xf)] = at
        self.xfs.set("count", str(at + 1))
        self.dirty = True
        return at

    def derive(
        self,
        style: int,
        *,
        set_color: bool = False,
        color: str | None = None,
        date: bool = False,
        bold: bool = False,
    ) -> int:
        """A style like ``style`` with the given color, a date format when it has no
        number format of its own, and bold when asked; ``style`` when nothing changes."""
        cache = (style, set_color, color, date, bold)
        if cache in self._derived:
            return self._derived[cache]
        xfs = children(self.xfs, "xf")
        base = xfs[style] if 0 <= style < len(xfs) else (xfs[0] if xfs else None)
        xf = copy.deepcopy(base) if base is not None else etree.Element(f"{{{self.ns}}}xf")
        for attr in ("numFmtId", "fontId", "fillId", "borderId"):
            xf.set(attr, xf.get(attr) or "0")
        changed = False
        if set_color and self.color_of(style) != color:
            xf.set("fillId", str(self._fill_id(color)))
            xf.set("applyFill", "1")
            changed = True
        if date and not self._shows_dates(int(xf.get("numFmtId") or 0)):
            xf.set("numFmtId", str(self._date_format()))
            xf.set("applyNumberFormat", "1")
            changed = True
        if bold:
            xf.set("fontId", str(self._bold_font(int(xf.get("fontId") or 0))))
            xf.set("applyFont", "1")
            changed = True
        out = self._xf(xf) if changed else style
        self._derived[cache] = out
        return out

    def _bold_font(self, font: int) -> int:
        fonts = self.fonts
        items = children(fonts, "font")
        base = items[font] if 0 <= font < len(items) else items[0]
        if child(base, "b") is not None:
            return items.index(base)
        bold = copy.deepcopy(base)
        bold.insert(0, etree.Element(f"{{{self.ns}}}b"))
        for at, existing in enumerate(items):
            if etree.tostring(existing) == etree.tostring(bold):
                return at
        fonts.append(bold)
        fonts.set("count", str(len(items) + 1))
        self.dirty = True
        return len(items)

    def _shows_dates(self, number: int) -> bool:
        """Whether a number format shows a number as a date (or a time): a date written
        into a cell whose format does not would read back as a plain number."""
        if number in _BUILTIN_DATES:
            return True
        formats = child(self.root, "numFmts")
        for fmt in children(formats, "numFmt") if formats is not None else []:
            if int(fmt.get("numFmtId", -1) or -1) == number:
                code = _NOT_TOKENS.sub("", str(fmt.get("formatCode", "")))
                return re.search(r"[dmyhsDMYHS]", code) is not None and code.lower() != "general"
        return False

    def save(self) -> None:
        if self.dirty:
            self.package.touch(self.part)
