"""The embedded default backend: a local ``.xlsx`` workbook, edited in place.

Reading takes the cells' values with python-calamine and the computed cells'
fills from the worksheets' style indexes and ``styles.xml``. Writing changes
only what it writes: in each worksheet it writes, only the ``<c>`` elements of
the changed cells (and the ``<row>`` elements it adds); new styles are
appended to ``styles.xml``; every other part of the zip is carried over as it
was, in the same order under the same name. The save is atomic (a temporary
file beside the workbook, then a rename), after checking that no spreadsheet
program holds the file open and that the file on disk is still the one read.

No well-kept Python library edits an xlsx package in place (openpyxl loads
and re-serialises the whole workbook, dropping what it does not model), so
this small editor is the project's own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.formula.translate import Translator
from python_calamine import CalamineWorkbook, SheetTypeEnum

from rules.model import Table, Value
from rules.schema import PACKAGES, TABS, CellKind
from rules.tabs import column_letter
from rules.values import key, text
from sync.backends.base import (
    AppendedCell,
    CellChange,
    Layout,
    Snapshot,
    WithheldIds,
    WorkbookUnavailable,
    WriteOutcome,
    WritePlan,
)
from sync.backends.looks import DASHBOARD_WIDTHS, HEADER_FILL, kind_of
from sync.backends.setup import SetupPlan, TabFound, TabSetup, plan_setup
from sync.backends.xlsx.cells import Writer, escape_attr, escape_text
from sync.backends.xlsx.package import (
    CT_NS,
    REL_NS,
    WORKSHEET_TYPE,
    Package,
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
    add_dropdowns,
    custom_width,
    dropdown_columns,
    freeze_header,
    grow_dimension,
    is_frozen,
    ranges,
    replace_rows,
    set_widths,
    split_ref,
)
from sync.backends.xlsx.styles import Styles
from sync.cycle import collector_paused

log = logging.getLogger(__name__)

#: Worksheets the read unpacks are kept for the write below this size; a larger one
#: would hold its size in memory through the whole cycle to save a second unpacking.
_KEEP_UNPACKED = 32 << 20


@dataclass(frozen=True)
class FileVersion:
    """What was read: the bytes (for the write) and how to tell if they changed."""

    data: bytes
    digest: str
    mtime_ns: int
    size: int
    #: The parts already unpacked by the read, for the write to reuse.
    parts: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


def lock_files(path: Path) -> list[Path]:
    """The lock files Excel and LibreOffice keep beside a workbook they have open."""
    name = path.name
    candidates = [f"~${name}", f".~lock.{name}#"]
    if len(name) > 2:
        candidates.append(f"~${name[2:]}")  # Excel shortens long names this way
    return [path.with_name(c) for c in candidates]


def _file_kind(data: bytes) -> str | None:
    """Why bytes are not an xlsx package at all, in plain words (None: they may be)."""
    if data.startswith(b"PK"):
        return None
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptionInfo".encode("utf-16-le") in data[: 1 << 20] or b"E\x00n\x00c\x00r" in data:
            return (
                "it is password-protected: remove the password in Excel (File > Info) and save it"
            )
        return "it is an old-format Excel file (.xls): open it and save it as .xlsx"
    return "it is not a workbook (an .xlsx file is a zip package; this file is not one)"


class XlsxBackend:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._last: Snapshot | None = None

    def _unreadable(self, reason: str) -> WorkbookUnavailable:
        return WorkbookUnavailable(f"{self.path.name} cannot be read: {reason}")

    # --- read --------------------------------------------------------------

    def read(self) -> Snapshot:
        version = self._version()
        if self._last is not None and self._last.digest == version.digest:
            # The same bytes as last time: the same tables (a running daemon's idle cycle).
            return dataclasses.replace(self._last, version=version)
        reason = _file_kind(version.data)
        if reason:
            raise self._unreadable(reason)
        try:
            package = Package(version.data)
            entries = package.sheets()
            styles = Styles(package)
        except Unreadable as err:
            raise self._unreadable(str(err)) from None
        with collector_paused():  # the cells read are kept: collecting finds nothing
            return self._read_cells(version, package, entries, styles)

    def _read_cells(
        self, version: FileVersion, package: Package, entries: list[Any], styles: Styles
    ) -> Snapshot:
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(version.data))
            tables = {
                meta.name: _table(meta.name, book.get_sheet_by_name(meta.name))
                for meta in book.sheets_metadata
                if meta.typ == SheetTypeEnum.WorkSheet
            }
        except Exception:  # calamine raises several kinds for a broken file
            raise self._unreadable(
                "its cells cannot be read (the file is damaged, or not an xlsx workbook)"
            ) from None
        try:
            fills = _read_fills(package, entries, tables, styles, version.parts)
        except Unreadable as err:
            raise self._unreadable(str(err)) from None
        self._last = Snapshot(
            tables=tables,
            fills=fills,
            numbers_are_dates=False,
            version=version,
            digest=version.digest,
        )
        return self._last

    def _version(self) -> FileVersion:
        try:
            data = self.path.read_bytes()
            stat = self.path.stat()
        except FileNotFoundError:
            raise WorkbookUnavailable(
                f"no workbook at {self.path}: run `creditsheet init` to create one, "
                "or fix [workbook] path"
            ) from None
        except OSError as err:
            raise WorkbookUnavailable(f"{self.path} cannot be read: {err.strerror}") from None
        return FileVersion(data, hashlib.sha256(data).hexdigest(), stat.st_mtime_ns, stat.st_size)

    # --- write -------------------------------------------------------------

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        if not plan:
            return WriteOutcome(written=False)
        version = snapshot.version
        assert isinstance(version, FileVersion)
        refusal = self._cannot_write_now(version)
        if refusal:
            return refusal
        try:
            package = Package(version.data)
            package.cache.update(version.parts)
            edit = _Edit(package)
            reason = edit.merged_conflict(plan)
            if reason:
                return WriteOutcome(written=False, reason=reason)
            skipped = edit.apply(plan)
            edit.finish()
        except Unreadable as err:
            return WriteOutcome(
                written=False,
                reason=f"{self.path.name} cannot be read: {err}: nothing was written",
            )
        refusal = self._save(package, version)
        if refusal:
            return refusal
        return WriteOutcome(
            written=True, cells_written=plan.size - skipped, rows_skipped=skipped, requests=1
        )

    def _cannot_write_now(self, version: FileVersion) -> WriteOutcome | None:
        """Why the file must not be written now, as the outcome to report; None if it may."""
        for lock in lock_files(self.path):
            if lock.exists():
                return WriteOutcome(
                    written=False,
                    reason=(
                        f"{self.path.name} is open in a spreadsheet program ({lock.name} "
                        "exists): nothing was written; close it and the next sync will write"
                    ),
                )
        try:
            stat = self.path.stat()
        except OSError:
            return WriteOutcome(
                written=False,
                reason=f"{self.path.name} disappeared since it was read: nothing was written",
            )
        if (stat.st_mtime_ns, stat.st_size) != (version.mtime_ns, version.size):
            current = hashlib.sha256(self.path.read_bytes()).hexdigest()
            if current != version.digest:
                return WriteOutcome(
                    written=False,
                    reason=(
                        f"{self.path.name} changed on disk since it was read: nothing was "
                        "written; the next sync starts from the new file"
                    ),
                    retry_next_cycle=True,
                )
        return None

    def _save(self, package: Package, version: FileVersion | None) -> WriteOutcome | None:
        """Save beside the workbook and rename over it; the refusal if it could not."""
        folder = self.path.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                package.save(handle)
                handle.flush()
                os.fsync(handle.fileno())
            if version is not None:
                refusal = self._cannot_write_now(version)
                if refusal:
                    return refusal
                with contextlib.suppress(OSError):
                    os.chmod(temp, self.path.stat().st_mode & 0o7777)
            os.replace(temp, self.path)
            _fsync_dir(folder)
            return None
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    # --- init --------------------------------------------------------------

    def prepare(self, layout: Layout) -> list[str]:
        version: FileVersion | None = None
        created = not self.path.exists()
        if not created:
            snapshot = self.read()
            assert isinstance(snapshot.version, FileVersion)
            version = snapshot.version
            refusal = self._cannot_write_now(version)
            if refusal:
                raise WorkbookUnavailable(refusal.reason or "the workbook cannot be written now")
            package = Package(version.data)
            package.cache.update(version.parts)
            tables = snapshot.tables
        else:
            if not self.path.parent.exists():
                raise WorkbookUnavailable(f"the folder {self.path.parent} does not exist")
            package = Package(_empty_workbook())
            tables = {}
        try:
            found = _found_tabs(package, tables)
            setup = plan_setup(layout, found)
            edit = _Edit(package)
            edit.setup(setup)
            edit.finish()
        except Unreadable as err:
            raise self._unreadable(str(err)) from None
        done = ([f"created {self.path}"] if created else []) + list(setup.done)
        if not setup and not created:
            return done
        refusal = self._save(package, version)
        if refusal:
            raise WorkbookUnavailable(refusal.reason or "the workbook cannot be written now")
        return done


# --- reading helpers ---------------------------------------------------------


def _table(title: str, sheet: Any) -> Table:
    """A worksheet's cell values from row 1 (empty cells are ``""``), trailing blank rows cut."""
    rows = sheet.to_python(skip_empty_area=False)
    end = len(rows)
    while end > 1 and all(v == "" or v is None for v in rows[end - 1]):
        end -= 1
    header = rows[0] if rows else []
    return Table(title, header, rows[1:end])


#: The computed cells the contract colors (status, progress and credits cells): the
#: only ones whose fills the read needs.
_COLORED = {key("Status"), key("Progress"), key("Credits left")}


def _computed_columns(table: Table) -> list[int]:
    """The 0-based columns of a tab that hold the sync's colored computed values."""
    tab = next((t for t in TABS if key(t.name) == key(table.title)), None)
    if tab is None:
        return []
    names = {key(c.name) for c in tab.computed} & _COLORED
    return [at for at, name in enumerate(table.header) if key(text(name)) in names]


def _read_fills(
    package: Package,
    entries: list[Any],
    tables: Mapping[str, Table],
    styles: Styles,
    parts: dict[str, bytes],
) -> dict[str, dict[int, list[str | None]]]:
    """Per tab: the fill each computed column's cells show, from their styles."""
    by_style = styles.fills_by_style()
    default = by_style[0] if by_style else None
    out: dict[str, dict[int, list[str | None]]] = {}
    for entry in entries:
        table = tables.get(entry.title)
        if table is None or not entry.part:
            continue
        columns = _computed_columns(table)
        if not columns:
            continue
        data = package.read(entry.part)
        if len(data) < _KEEP_UNPACKED:
            parts[entry.part] = data  # for the write; a larger one is unpacked again there
        found = Sheet(data, entry.part).styles_of(columns, len(table.rows))
        out[entry.title] = {
            col: [by_style[s] if 0 <= s < len(by_style) else default for s in indexes]
            for col, indexes in found.items()
        }
    return out


def _found_tabs(package: Package, tables: Mapping[str, Table]) -> dict[str, TabFound]:
    found: dict[str, TabFound] = {}
    for entry in package.sheets():
        if not entry.part or key(entry.title) in found:
            continue
        sheet = Sheet(package.read(entry.part), entry.part)
        table = tables.get(entry.title)
        header = tuple(table.header) if table else ()
        rows = bool(table and any(any(v not in ("", None) for v in r) for r in table.rows))
        found[key(entry.title)] = TabFound(
            entry.title, header, is_frozen(sheet), frozenset(dropdown_columns(sheet)), rows
        )
    return found


def _empty_workbook() -> bytes:
    """A package with a workbook and styles but no tabs yet, for ``init`` to fill."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{CT_NS}"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{REL_NS}"><Relationship Id="rId1" Type="{rel}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}" xmlns:r="{rel}"><bookViews><workbookView/></bookViews>'
            "<sheets/></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{REL_NS}"/>',
    }
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, xml in parts.items():
            out.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)
    return buffer.getvalue()


# --- writing -------------------------------------------------------------------


def _quote_title(title: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", title) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+", title
    ):
        return title
    return "'" + title.replace("'", "''") + "'"


class _Edit:
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
            self.writer.prefix = sheet.p
            pieces = sheet.pieces(edits[tab], self._change)
            self.writer.prefix = b""
            if tab in widths or tab in self.masters_gone:
                self.put(tab, b"".join(pieces))
                self._hand_over(tab)
                if tab in widths:
                    self.put(tab, set_widths(self.sheet(tab), widths[tab]))
            else:
                # Nothing else to change in it: packed from its pieces, never copied whole.
                self.package.set_pieces(self.entry(tab).part, pieces)
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
            set_fill=change.set_fill,
            fill=change.fill,
        )

    def _appended(self, row: int, cell: AppendedCell) -> Edit:
        """A cell of an appended row; one naming a new package whose ID was left
        unwritten is left out too, as a session's fill of that ID is."""
        value_edit = self._value_edit(
            row, cell.col, cell.value, cell.kind, cell.fill is not None, cell.fill
        )

        def make(existing: Cell | None, left: Cell | None) -> bytes | None:
            if self.withheld.holds_back_appended(cell.value, cell.kind):
                self.skipped += 1
                return None
            return value_edit(existing, left)

        return make

    def _value_edit(
        self, row: int, col: int, value: Value, kind: CellKind, set_fill: bool, fill: str | None
    ) -> Edit:
        def make(existing: Cell | None, left: Cell | None) -> bytes:
            return self.writer.cell(
                row, col, value, kind, existing=existing, set_fill=set_fill, fill=fill
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
                1, col, name, "text", existing=existing, set_fill=True, fill=HEADER_FILL, bold=True
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


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
