"""One write or one ``init`` of an xlsx workbook: its changes gathered, then put in place."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from lxml import etree
from openpyxl.formula.translate import Translator

from rules.model import Value
from rules.schema import PACKAGES, CellKind
from rules.tabs import column_letter
from rules.values import key
from sync.backends.base import (
    AppendedCell,
    CellChange,
    WithheldIds,
    WorkbookUnavailable,
    WritePlan,
)
from sync.backends.looks import DASHBOARD_WIDTHS, HEADER_COLOR, kind_of
from sync.backends.setup import SetupPlan, TabSetup
from sync.backends.xlsx.cells import Writer, escape_attr, escape_text
from sync.backends.xlsx.elements import (
    add_dropdowns,
    custom_width,
    freeze_header,
    replace_rows,
    set_head_widths,
    set_widths,
)
from sync.backends.xlsx.package import (
    WORKSHEET_TYPE,
    Package,
    Packed,
    Unreadable,
    child,
    children,
    local,
    parse_xml,
    root_prefix,
)
from sync.backends.xlsx.sheet import (
    Cell,
    Edit,
    Sheet,
    grow_dimension,
    ranges,
    split_ref,
)
from sync.backends.xlsx.styles import Styles

# --- writing -------------------------------------------------------------------


def _quote_title(title: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


class WorkbookEdit:
    """The changes of one write or one ``init``, gathered per part, then put in place."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.styles = Styles(package)
        self.writer = Writer(self.styles, package.date1904())
        self.entries = {e.title: e for e in package.sheets()}
        self.sheets: dict[str, Sheet] = {}
        #: (sheetId, cell reference) of formulas overwritten by values.
        self.formulas_gone: set[tuple[int, str]] = set()
        self.sheets_cleared: set[int] = set()
        #: Per tab: the first cells of shared formulas overwritten, with their <f> attributes.
        self.masters_gone: dict[str, list[tuple[Cell, dict[bytes, bytes]]]] = {}
        self.values_written = False
        #: Input fills left unwritten (a formula there), and the new IDs they withhold.
        self.skipped = 0
        self.withheld = WithheldIds()

    # --- parts ---------------------------------------------------------------

    def entry(self, title: str) -> Any:
        found = self.entries.get(title) or next(
            (e for t, e in self.entries.items() if key(t) == key(title)), None
        )
        if found is None or not found.part:
            raise Unreadable(f"its tab {title} is not a worksheet that can be written")
        return found

    def sheet(self, title: str) -> Sheet:
        entry = self.entry(title)
        if entry.part not in self.sheets:
            self.sheets[entry.part] = Sheet(self.package.read(entry.part), entry.part)
        return self.sheets[entry.part]

    def put(self, title: str, data: bytes) -> None:
        entry = self.entry(title)
        self.sheets[entry.part] = Sheet(data, entry.part)
        self.package.set(entry.part, data)

    # --- checks --------------------------------------------------------------

    def merged_conflict(self, plan: WritePlan) -> str | None:
        """A planned cell inside merged cells cannot be written: say which and why.

        Skipping it would leave the plan unfinished forever (and the file re-saved
        every cycle), so the whole write waits until the practitioner unmerges.
        """
        targets: list[tuple[str, int, int, str]] = [
            (h.tab, 1, h.col, f"the '{h.name}' column") for h in plan.headers
        ]
        targets += [(c.tab, c.row, c.col, f"'{c.column}'") for c in plan.cells]
        merged: dict[str, list[tuple[bytes, tuple[int, int, int, int]]]] = {}
        for tab, row, col, what in targets:
            if tab not in merged:
                merged[tab] = self.sheet(tab).merged()
            for ref, (r1, c1, r2, c2) in merged[tab]:
                if not (r1 <= row <= r2 and c1 <= col <= c2) or (row, col) == (r1, c1):
                    continue
                coordinate = f"{column_letter(col)}{row}"
                fix = (
                    f"unmerge them, or type '{what.split(chr(39))[1]}' as a header in an empty "
                    "column yourself"
                    if row == 1
                    else "unmerge them"
                )
                return (
                    f"{tab}: {what} would go in {coordinate}, which is part of the merged "
                    f"cells {ref.decode()}: nothing was written; {fix}"
                )
        return None

    # --- a sync's write -------------------------------------------------------

    def apply(self, plan: WritePlan) -> int:
        """Put the plan's cells in; return how many input fills were skipped."""
        edits: dict[str, dict[int, dict[int, Any]]] = {}
        widths: dict[str, dict[int, float]] = {}

        def at(tab: str, row: int) -> dict[int, Any]:
            return edits.setdefault(tab, {}).setdefault(row, {})

        for header in plan.headers:
            at(header.tab, 1)[header.col] = self._header_edit(header.col, header.name)
            beside = custom_width(self.sheet(header.tab), max(header.col - 1, 0))
            widths.setdefault(header.tab, {})[header.col] = max(beside or 0, 14)
            self._grow_tables(header.tab, header.col, header.name)
        for change in plan.cells:
            at(change.tab, change.row)[change.col] = change  # made into its cell by _change
        for append in plan.appends:
            for cell in append.cells:
                at(append.tab, append.row)[cell.col] = self._appended(append.row, cell)
        # Packages first: a new package's ID left unwritten withholds its sessions' fills.
        order = sorted(edits, key=lambda t: key(t) != key(PACKAGES.name))
        for tab in order:
            sheet = self.sheet(tab)
            # Packed as its rows are made, so a large part is never held whole unpacked.
            packed = Packed()
            self.writer.prefix = sheet.p
            head = sheet.pieces(edits[tab], self._change, sink=packed.add)[0]
            self.writer.prefix = b""
            if tab in self.masters_gone:
                # A shared formula's master was overwritten: its followers change too.
                packed.finish(bytes(head))
                self.put(tab, packed.unpacked())
                self._hand_over(tab)
                if tab in widths:
                    self.put(tab, set_widths(self.sheet(tab), widths[tab]))
            else:
                if tab in widths:  # a new column's width: set in the part's head
                    head = set_head_widths(sheet, head, widths[tab])
                packed.finish(bytes(head))
                self.package.set_packed(self.entry(tab).part, packed)
        for content in plan.tabs:
            self._replace_tab(content.title, content.rows, content.exists)
        self.values_written = True
        return self.skipped

    def _header_edit(self, col: int, name: str) -> Edit:
        def make(existing: Cell | None, left: Cell | None) -> bytes:
            # Look like the header beside it.
            style = left.style if left is not None else None
            return self.writer.cell(1, col, name, "text", existing=existing, style=style)

        return make

    def _change(self, change: CellChange, existing: Cell | None, left: Cell | None) -> bytes | None:
        """The cell a planned change makes of the cell as it stands (None: left alone)."""
        if change.input_fill and existing is not None and not existing.is_blank:
            # A formula the read saw no value for: never overwrite it.
            self.skipped += 1
            self.withheld.withhold(change)
            return None
        if self.withheld.holds_back(change):
            self.skipped += 1
            return None
        if change.set_value:
            self._note_formula(change.tab, existing)
        return self.writer.cell(
            change.row,
            change.col,
            change.new,
            change.kind,
            existing=existing,
            set_value=change.set_value,
            set_color=change.set_color,
            color=change.color,
        )

    def _appended(self, row: int, cell: AppendedCell) -> Edit:
        """A cell of an appended row; one naming a new package whose ID was left
        unwritten is left out too, as a session's fill of that ID is."""
        value_edit = self._value_edit(
            row, cell.col, cell.value, cell.kind, cell.color is not None, cell.color
        )

        def make(existing: Cell | None, left: Cell | None) -> bytes | None:
            if self.withheld.holds_back_appended(cell.value, cell.kind):
                self.skipped += 1
                return None
            return value_edit(existing, left)

        return make

    def _value_edit(
        self, row: int, col: int, value: Value, kind: CellKind, set_color: bool, color: str | None
    ) -> Edit:
        def make(existing: Cell | None, left: Cell | None) -> bytes:
            return self.writer.cell(
                row, col, value, kind, existing=existing, set_color=set_color, color=color
            )

        return make

    def _note_formula(self, tab: str, existing: Cell | None) -> None:
        if existing is None or not existing.has_formula:
            return
        ref = existing.attrs.get(b"r")
        if ref is not None:
            self.formulas_gone.add((self.entry(tab).sheet_id, ref.decode()))
        found = existing.formula()
        if found and found.get(b"t") == b"shared" and b"ref" in found and ref is not None:
            self.masters_gone.setdefault(tab, []).append((existing, found))

    def _hand_over(self, tab: str) -> None:
        """A shared formula whose first cell was overwritten: its next cell takes the
        formula's text (moved to where it stands), so the cells after it keep theirs."""
        for master, found in self.masters_gone.pop(tab, []):
            body = master.body or b""
            text_match = re.search(rb"<(?:[\w.-]+:)?f\b[^>]*>(.*?)</", body, re.S)
            boxes = ranges(found[b"ref"])
            if text_match is None or not boxes:
                continue
            formula = unescape(text_match.group(1).decode())
            origin = master.attrs[b"r"].decode()
            r1, _, r2, _ = boxes[0]
            sheet = self.sheet(tab)
            rows = sheet.locate(list(range(r1, r2 + 1)))
            heir: Cell | None = None
            for row in range(r1, r2 + 1):
                start, end = rows[row]
                if start == end:
                    continue
                for cell in sheet.cells(start, end)[1]:
                    f = cell.formula()
                    if f and f.get(b"t") == b"shared" and f.get(b"si") == found.get(b"si"):
                        heir = cell
                        break
                if heir is not None:
                    break
            if heir is None or b"r" not in heir.attrs:
                continue
            target = heir.attrs[b"r"].decode()
            moved = Translator("=" + formula, origin=origin).translate_formula(target)[1:]
            element = b'<%sf t="shared" ref="%s" si="%s">%s</%sf>' % (
                sheet.p,
                found[b"ref"],
                found.get(b"si", b"0"),
                escape_text(moved),
                sheet.p,
            )
            old_f = re.search(
                rb"<(?:[\w.-]+:)?f\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?f>)", heir.raw, re.S
            )
            if old_f is None:
                continue
            new_raw = heir.raw[: old_f.start()] + element + heir.raw[old_f.end() :]
            place = heir

            def swap(existing: Cell | None, left: Cell | None, raw: bytes = new_raw) -> bytes:
                return raw

            point = split_ref(place.attrs[b"r"])
            assert point is not None
            self.put(tab, sheet.edit({point[0]: {point[1]: swap}}))

    # --- tables ----------------------------------------------------------------

    def _grow_tables(self, tab: str, col: int, name: str) -> None:
        """A new column just right of an Excel table on row 1 joins it; a column inside
        one names its table column."""
        part = self.entry(tab).part
        for table_part in self.package.related(part, "table"):
            found = self.package.find(table_part)
            if found is None:
                continue
            root = self.package.tree(found)
            boxes = ranges(str(root.get("ref", "")).encode())
            if not boxes:
                continue
            r1, c1, r2, c2 = boxes[0]
            if r1 != 1 or not c1 <= col <= c2 + 1:
                continue
            columns = child(root, "tableColumns")
            if columns is None:
                continue
            items = children(columns, "tableColumn")
            if any(str(c.get("name", "")).lower() == name.lower() for c in items):
                continue
            if col <= c2:
                if col - c1 < len(items):
                    items[col - c1].set("name", name)
            else:
                ns = etree.QName(columns).namespace
                new = etree.SubElement(columns, f"{{{ns}}}tableColumn" if ns else "tableColumn")
                new.set("id", str(max([int(c.get("id", 0) or 0) for c in items] + [0]) + 1))
                new.set("name", name)
                columns.set("count", str(len(items) + 1))
                ref = f"{column_letter(c1)}{r1}:{column_letter(col)}{r2}"
                root.set("ref", ref)
                autofilter = child(root, "autoFilter")
                if autofilter is not None:
                    autofilter.set("ref", f"{column_letter(c1)}{r1}:{column_letter(col)}{r2}")
            self.package.touch(found)

    # --- a tab the sync owns -----------------------------------------------------

    def _owned_rows(self, rows: tuple[tuple[Value, ...], ...]) -> bytes:
        p = self.writer.prefix
        out = []
        title_row = True
        for r, row in enumerate(rows, start=1):
            cells = [
                self.writer.cell(r, c, value, kind_of(value), existing=None, bold=title_row)
                for c, value in enumerate(row)
                if value is not None and value != ""
            ]
            if cells:
                out.append(b'<%srow r="%d">' % (p, r) + b"".join(cells) + b"</%srow>" % p)
            title_row = not row
        return b"".join(out)

    def _replace_tab(self, title: str, rows: tuple[tuple[Value, ...], ...], exists: bool) -> None:
        widths = {col: float(chars) for col, chars in DASHBOARD_WIDTHS.items()}
        if exists:
            sheet = self.sheet(title)
            self.writer.prefix = sheet.p
            if sheet.formulas():
                self.sheets_cleared.add(self.entry(title).sheet_id)
            lo, hi = sheet.inner
            self.writer.strings_dropped += len(
                re.findall(rb'<(?:[\w.-]+:)?c\b[^>]*?\st="s"', sheet.data[lo:hi])
            )
            self.put(title, replace_rows(sheet, self._owned_rows(rows)))
            self.writer.prefix = b""
        else:
            self._new_sheet(title, self._owned_rows(rows), frozen=False)
        sheet = self.sheet(title)
        last_row = max((r for r, row in enumerate(rows, start=1) if row), default=1)
        last_col = max((len(row) - 1 for row in rows), default=0)
        self.put(title, grow_dimension(set_widths(sheet, widths), sheet.p, last_row, last_col))

    # --- new tabs ------------------------------------------------------------------

    def _new_sheet(self, title: str, rows: bytes, *, frozen: bool) -> None:
        package = self.package
        ns = package.main_ns
        views = (
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            if frozen
            else '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        )
        xml = (
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{ns}" xmlns:r="{package.rel_ns}"><dimension ref="A1"/>{views}'
                '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
            ).encode()
            + rows
            + (
                b'</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                b'header="0.3" footer="0.3"/></worksheet>'
            )
        )
        part = package.new_part_name("xl/worksheets/sheet{}.xml")
        package.set(part, xml)
        package.content_override(part, WORKSHEET_TYPE)
        rid = package.add_rel(package.workbook_part, "worksheet", part)
        workbook = package.workbook
        sheets = child(workbook, "sheets")
        if sheets is None:
            raise Unreadable("its workbook part lists no tabs")
        taken = [e.sheet_id for e in self.entries.values()]
        sheet_id = max([0, *taken]) + 1
        new = etree.SubElement(sheets, f"{{{ns}}}sheet")
        new.set("name", title)
        new.set("sheetId", str(sheet_id))
        new.set(f"{{{package.rel_ns}}}id", rid)
        package.touch(package.workbook_part)
        self.entries = {e.title: e for e in package.sheets()}
        self.sheets[part] = Sheet(xml, part)

    # --- init -------------------------------------------------------------------------

    def setup(self, plan: SetupPlan) -> None:
        for tab in plan.tabs:
            if tab.create:
                self._new_sheet(tab.title, b"", frozen=True)
        for tab in plan.tabs:
            self._setup_tab(tab)

    def _setup_tab(self, tab: TabSetup) -> None:
        sheet = self.sheet(tab.title)
        rows: dict[int, dict[int, Edit]] = {}
        merged = sheet.merged()
        for column in tab.columns:
            for _, (r1, c1, r2, c2) in merged:
                if r1 <= 1 <= r2 and c1 <= column.col <= c2 and (1, column.col) != (r1, c1):
                    raise WorkbookUnavailable(
                        f"{tab.name}: cell {column_letter(column.col)}1 is part of merged "
                        "cells; unmerge the header row so init can add the column"
                    )
            rows.setdefault(1, {})[column.col] = self._init_header(column.col, column.name)
            self._grow_tables(tab.title, column.col, column.name)
        for cell in tab.demo:
            rows.setdefault(cell.row, {})[cell.col] = self._value_edit(
                cell.row, cell.col, cell.value, cell.kind, False, None
            )
        if rows:
            self.writer.prefix = sheet.p
            self.put(tab.title, sheet.edit(rows))
            self.writer.prefix = b""
            self.values_written = True
        if tab.columns:
            self.put(
                tab.title,
                set_widths(self.sheet(tab.title), {c.col: float(c.width) for c in tab.columns}),
            )
        if tab.freeze and not tab.create:
            self.put(tab.title, freeze_header(self.sheet(tab.title)))
        if tab.dropdowns:
            items = [self._dropdown(d, self.sheet(tab.title).p) for d in tab.dropdowns]
            self.put(tab.title, add_dropdowns(self.sheet(tab.title), items))

    def _init_header(self, col: int, name: str) -> Edit:
        def make(existing: Cell | None, left: Cell | None) -> bytes:
            return self.writer.cell(
                1,
                col,
                name,
                "text",
                existing=existing,
                set_color=True,
                color=HEADER_COLOR,
                bold=True,
            )

        return make

    @staticmethod
    def _dropdown(d: Any, p: bytes) -> bytes:
        letter = column_letter(d.col)
        if d.choices:
            formula = '"' + ",".join(d.choices) + '"'
        else:
            title, at = d.source
            src = column_letter(at)
            formula = f"{_quote_title(title)}!${src}$2:${src}$5000"
        return (
            b'<%sdataValidation type="list" errorStyle="warning" allowBlank="1" '
            b'showErrorMessage="1" errorTitle="%s" error="%s" sqref="%s2:%s1048576">'
            b"<%sformula1>%s</%sformula1></%sdataValidation>"
            % (
                p,
                escape_attr(d.column),
                escape_attr(d.message),
                letter.encode(),
                letter.encode(),
                p,
                escape_text(formula),
                p,
                p,
            )
        )

    # --- the workbook-wide parts --------------------------------------------------

    def finish(self) -> None:
        self.styles.save()
        self._calc_chain()
        self._string_count()
        if self.values_written and not self._recalculates() and self._has_formulas():
            self._recalculate_on_open()

    def _string_count(self) -> None:
        """The shared strings table counts the cells that use it: fewer do now."""
        dropped = self.writer.strings_dropped
        targets = self.package.related(self.package.workbook_part, "sharedStrings")
        part = self.package.find(targets[0]) if targets else None
        if not dropped or part is None:
            return
        data = self.package.read(part)
        root = re.search(rb"<(?:[\w.-]+:)?sst\b[^>]*>", data)
        count = re.search(rb'\scount="(\d+)"', root.group(0)) if root else None
        if root is None or count is None:
            return
        at = root.start() + count.start(1)
        new = str(max(int(count.group(1)) - dropped, 0)).encode()
        self.package.set(part, data[:at] + new + data[at + len(count.group(1)) :])

    def _has_formulas(self) -> bool:
        for entry in self.package.sheets():
            if not entry.part:
                continue
            if entry.part in self.sheets:
                sheet = self.sheets[entry.part]
                data, p = sheet.data, sheet.p
            else:
                data = self.package.read(entry.part)
                p = root_prefix(data)
            if any(b"<" + p + b"f" + end in data for end in (b">", b" ", b"/")):
                return True
        return False

    def _recalculates(self) -> bool:
        calc = child(self.package.workbook, "calcPr")
        return calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")

    def _recalculate_on_open(self) -> None:
        workbook = self.package.workbook
        calc = child(workbook, "calcPr")
        if calc is None:
            ns = etree.QName(workbook).namespace
            calc = etree.Element(f"{{{ns}}}calcPr")
            order = [
                "fileVersion",
                "fileSharing",
                "workbookPr",
                "workbookProtection",
                "bookViews",
                "sheets",
                "functionGroups",
                "externalReferences",
                "definedNames",
            ]
            at = 0
            for i, existing in enumerate(workbook):
                if isinstance(existing.tag, str) and local(existing.tag) in order:
                    at = i + 1
            workbook.insert(at, calc)
        elif calc.get("fullCalcOnLoad") in ("1", "true"):
            return
        calc.set("fullCalcOnLoad", "1")
        self.package.touch(self.package.workbook_part)

    def _calc_chain(self) -> None:
        if not self.formulas_gone and not self.sheets_cleared:
            return
        targets = self.package.related(self.package.workbook_part, "calcChain")
        part = self.package.find(targets[0]) if targets else None
        if part is None:
            return
        root = parse_xml(self.package.read(part), part)
        sheet = 0
        kept = []
        for item in children(root, "c"):
            sheet = int(item.get("i") or sheet)
            gone = (sheet, str(item.get("r", ""))) in self.formulas_gone
            if gone or sheet in self.sheets_cleared:
                root.remove(item)
            else:
                item.set("i", str(sheet))
                kept.append(item)
        if kept:
            self.package.set(
                part, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            )
            return
        self.package.remove(part)
        self.package.remove_rel(self.package.workbook_part, part)
        self.package.content_override(part, None)
