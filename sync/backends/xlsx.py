"""The embedded default backend: a local ``.xlsx`` workbook, through openpyxl.

Reading streams the file once (read-only mode, cached values of formulas).
Writing re-opens the same bytes in full mode, sets only the planned cells, and
saves atomically (a temporary file beside the workbook, then a rename), after
checking that no spreadsheet program holds the file open and that the file on
disk is still the one that was read. A workbook holding parts that openpyxl
would drop on save (charts, images, pivot tables, ...) is never written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import logging
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import EXT_TYPES
from python_calamine import CalamineWorkbook, SheetTypeEnum

from rules.model import Table, Value
from rules.schema import PACKAGES, SESSIONS, Tab
from rules.values import is_blank, key, text
from sync.backends.base import (
    ColumnFills,
    HeaderChange,
    Layout,
    Snapshot,
    TabContent,
    WorkbookUnavailable,
    WriteOutcome,
    WritePlan,
    is_id_fill,
)

log = logging.getLogger(__name__)

#: Parts of an xlsx package that openpyxl does not carry through a save.
_UNSAVED_PARTS = {
    "xl/charts/": "charts",
    "xl/chartsheets/": "chart sheets",
    "xl/pivotTables/": "pivot tables",
    "xl/pivotCache/": "pivot tables",
    "xl/slicers/": "slicers",
    "xl/slicerCaches/": "slicers",
    "xl/timelines/": "timelines",
    "xl/threadedComments/": "threaded comments",
    "xl/media/": "images",
    "xl/embeddings/": "embedded objects",
    "xl/ctrlProps/": "form controls",
    "xl/vbaProject.bin": "macros",
}
#: openpyxl's warnings about Excel extensions it drops, in a practitioner's words.
_EXTENSIONS = {
    "Data Validation": "dropdown lists that refer to another tab (an Excel extension)",
    "Conditional Formatting": "conditional formats such as data bars or icon sets",
    "Slicer List": "slicers",
    "Sparkline Group": "sparklines",
    "Timeline Ref": "timelines",
    "Web Extension": "web add-ins",
    "Unknown": "features from a newer Excel that openpyxl cannot keep",
}
_DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class FileVersion:
    """What was read: the bytes (for the write) and how to tell if they changed."""

    data: bytes
    digest: str
    mtime_ns: int
    size: int


def lock_files(path: Path) -> list[Path]:
    """The lock files Excel and LibreOffice keep beside a workbook they have open."""
    name = path.name
    candidates = [f"~${name}", f".~lock.{name}#"]
    if len(name) > 2:
        candidates.append(f"~${name[2:]}")  # Excel shortens long names this way
    return [path.with_name(c) for c in candidates]


class XlsxBackend:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._last: Snapshot | None = None

    # --- read --------------------------------------------------------------

    def read(self) -> Snapshot:
        version = self._version()
        if self._last is not None and self._last.digest == version.digest:
            # The same bytes as last time: the same tables (a running daemon's idle cycle).
            return dataclasses.replace(self._last, version=version)
        blockers = [*_unsaved_parts(version.data), *_dropped_extensions(version.data)]
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(version.data))
            tables = {
                meta.name: _table(meta.name, book.get_sheet_by_name(meta.name))
                for meta in book.sheets_metadata
                if meta.typ == SheetTypeEnum.WorkSheet
            }
        except Exception as err:  # calamine raises several kinds for a broken file
            raise WorkbookUnavailable(
                f"{self.path} is not a workbook that can be read ({err})"
            ) from None
        self._last = Snapshot(
            tables=tables,
            fills={},  # calamine reads no colors: the write repairs them (plan.fills)
            numbers_are_dates=False,
            write_blockers=tuple(dict.fromkeys(blockers)),
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
        if snapshot.write_blockers:
            return WriteOutcome(written=False, reason=self._blocked_reason(snapshot.write_blockers))
        version = snapshot.version
        assert isinstance(version, FileVersion)
        refusal = self._cannot_write_now(version)
        if refusal:
            return refusal
        wb, dropped = self._load_full(version.data)
        if dropped:
            # Only a full load parses the extensions (the read streams past them).
            return WriteOutcome(written=False, reason=self._blocked_reason(dropped))
        reason = _merged_conflict(wb, plan)
        if reason:
            return WriteOutcome(written=False, reason=reason)
        skipped = _apply(wb, plan)
        refusal = self._save(wb, version)
        if refusal:
            return refusal
        return WriteOutcome(
            written=True, cells_written=plan.size - skipped, rows_skipped=skipped, requests=1
        )

    def _blocked_reason(self, blockers: Sequence[str]) -> str:
        parts = ", ".join(blockers)
        return (
            f"{self.path.name} contains {parts}, which would be lost if creditsheet saved it: "
            "nothing was written (keep those in a separate workbook)"
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

    def _load_full(self, data: bytes) -> tuple[Workbook, list[str]]:
        """The workbook in full (formulas kept), and what a save would drop."""
        with _captured_warnings() as dropped:
            wb = openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
        return wb, dropped

    def _save(self, wb: Workbook, version: FileVersion | None) -> WriteOutcome | None:
        """Save beside the workbook and rename over it; the refusal if it could not."""
        folder = self.path.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                wb.save(handle)
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
        done: list[str] = []
        version: FileVersion | None = None
        if self.path.exists():
            snapshot = self.read()
            if snapshot.write_blockers:
                raise WorkbookUnavailable(self._blocked_reason(snapshot.write_blockers))
            assert isinstance(snapshot.version, FileVersion)
            version = snapshot.version
            refusal = self._cannot_write_now(version)
            if refusal:
                raise WorkbookUnavailable(refusal.reason or "the workbook cannot be written now")
            wb, dropped = self._load_full(version.data)
            if dropped:
                raise WorkbookUnavailable(self._blocked_reason(dropped))
        else:
            if not self.path.parent.exists():
                raise WorkbookUnavailable(f"the folder {self.path.parent} does not exist")
            wb = openpyxl.Workbook()
            assert wb.active is not None
            wb.remove(wb.active)
            done.append(f"created {self.path}")
        sheets = {}
        tabs = layout.present(lambda name: _find_sheet(wb, name) is not None)
        for tab in tabs:
            sheets[tab.name] = _prepare_tab(wb, tab, layout.balance_links, done)
        for tab in tabs:
            _dropdowns(sheets, tab, done)
        if layout.demo:
            _fill_demo(sheets, layout, done)
        refusal = self._save(wb, version)
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


def _fill_of(cell: Cell) -> str | None:
    """A cell's background as ``#RRGGBB`` (None when it has none)."""
    fill = cell.fill
    if fill is None or fill.fill_type is None:
        return None
    if fill.fill_type != "solid":
        return f"pattern:{fill.fill_type}"
    color = fill.fgColor
    if color is None or color.type != "rgb" or not isinstance(color.rgb, str):
        return "themed"
    return "#" + color.rgb[-6:].upper()


_EXT_URI = re.compile(rb'<(?:\w+:)?ext\b[^>]*\buri="(\{[0-9A-Fa-f-]+\})"')


def _dropped_extensions(data: bytes) -> list[str]:
    """Excel extensions in the worksheets that openpyxl would drop on save.

    openpyxl warns about these only when it parses the sheet in full, which the
    read no longer does; the extension list sits at the end of each sheet's XML.
    """
    found: dict[str, None] = {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return []
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        xml = archive.read(name)
        at = xml.rfind(b"<extLst")
        if at < 0:
            continue
        for uri in _EXT_URI.findall(xml, at):
            kind = EXT_TYPES.get(uri.decode().upper(), "Unknown")
            found[_EXTENSIONS.get(kind, kind.lower())] = None
    return list(found)


def _unsaved_parts(data: bytes) -> list[str]:
    """What the file holds that a save through openpyxl would drop, most specific first."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return []
    found: dict[str, None] = {}
    drawings = False
    for name in names:
        for prefix, what in _UNSAVED_PARTS.items():
            if name.startswith(prefix):
                found[what] = None
        if name.startswith("xl/drawings/") and name.endswith(".xml") and "vml" not in name:
            drawings = True
    if drawings and not found:
        found["drawings or shapes"] = None  # a drawing holding nothing more specific
    return list(found)


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """openpyxl warns about what it will drop on save; collect those warnings."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield found
    for w in caught:
        message = str(w.message)
        if "will be removed" in message or "not supported" in message:
            found.append(_EXTENSIONS.get(message.split(" extension")[0], message.rstrip(".")))


# --- writing helpers ---------------------------------------------------------


def _sheet(wb: Workbook, title: str) -> Worksheet:
    ws = wb[title]
    assert isinstance(ws, Worksheet)
    return ws


def _merged_conflict(wb: Workbook, plan: WritePlan) -> str | None:
    """A planned cell inside merged cells cannot be written: say which and why.

    Skipping it would leave the plan unfinished forever (and the file re-saved
    every cycle), so the whole write waits until the practitioner unmerges.
    """
    targets: list[tuple[str, int, int, str]] = [
        (h.tab, 1, h.col, f"the '{h.name}' column") for h in plan.headers
    ]
    targets += [(c.tab, c.row, c.col, f"'{c.column}'") for c in plan.cells]
    for tab, row, col, what in targets:
        ws = _sheet(wb, tab)
        if not ws.merged_cells.ranges:
            continue
        cell = ws.cell(row, col + 1)
        if isinstance(cell, MergedCell):
            merged = next(
                (str(r) for r in ws.merged_cells.ranges if cell.coordinate in r), cell.coordinate
            )
            fix = (
                f"unmerge them, or type '{what.split(chr(39))[1]}' as a header in an empty "
                "column yourself"
                if row == 1
                else "unmerge them"
            )
            return (
                f"{tab}: {what} would go in {cell.coordinate}, which is part of the merged "
                f"cells {merged}: nothing was written; {fix}"
            )
    return None


class _Fills:
    """Sets cell backgrounds, registering each color's fill with the workbook once.

    Assigning ``cell.fill`` makes openpyxl hash the whole fill to find its id
    in the workbook's style table, for every cell; after the first cell of a
    color, this sets that id directly, as openpyxl's own descriptor does.
    """

    def __init__(self) -> None:
        self.ids: dict[str | None, int] = {}

    def set(self, cell: Cell, color: str | None) -> None:
        known = self.ids.get(color)
        style = cell._style  # type: ignore[attr-defined]  # the stubs leave it out
        if known is None:
            cell.fill = _fill(color)
            self.ids[color] = cell._style.fillId  # type: ignore[attr-defined]
        else:
            style.fillId = known


def _apply(wb: Workbook, plan: WritePlan) -> int:
    """Set the planned cells; return how many input fills were skipped."""
    sheets: dict[str, Worksheet] = {}

    def sheet(title: str) -> Worksheet:
        if title not in sheets:
            sheets[title] = _sheet(wb, title)
        return sheets[title]

    fills = _Fills()
    for header in plan.headers:
        _add_header(sheet(header.tab), header)
    for content in plan.tabs:
        _replace_tab(wb, content)
    for repair in plan.fills:
        _repair_fills(sheet(repair.tab), repair, fills)
    skipped = 0
    # Packages IDs left unwritten (a formula the read saw no value for), whose sessions'
    # fills are left too (see is_id_fill).
    withheld = {
        key(text(c.new))
        for c in plan.cells
        if is_id_fill(c, PACKAGES.name) and not is_blank(sheet(c.tab).cell(c.row, c.col + 1).value)
    }
    for change in plan.cells:
        cell = sheet(change.tab).cell(change.row, change.col + 1)
        assert isinstance(cell, Cell), "checked by _merged_conflict"
        if change.input_fill and not is_blank(cell.value):
            skipped += 1  # a formula the read saw no value for: never overwrite it
            continue
        if is_id_fill(change, SESSIONS.name) and key(text(change.new)) in withheld:
            skipped += 1
            continue
        if change.set_value:
            _set_value(cell, change.new, change.kind)
        if change.set_fill:
            fills.set(cell, change.fill)
    for append in plan.appends:
        ws = sheet(append.tab)
        row = _last_row(ws) + 1
        for c in append.cells:
            if withheld and c.kind == "text" and key(text(c.value)) in withheld:
                skipped += 1  # a new package's ID left out with its package row
                continue
            cell = ws.cell(row, c.col + 1)
            assert isinstance(cell, Cell)
            _set_value(cell, c.value, c.kind)
            if c.fill is not None:
                cell.fill = _fill(c.fill)
    return skipped


def _last_row(ws: Worksheet) -> int:
    """The last row holding a value (formatted blank rows below it do not count)."""
    for row in range(ws.max_row, 0, -1):
        if any(not is_blank(c.value) for c in ws[row]):
            return row
    return 0


def _repair_fills(ws: Worksheet, repair: ColumnFills, fills: _Fills) -> None:
    """Give every cell of a computed column the color it should have."""
    for i, want in enumerate(repair.fills):
        cell = ws.cell(i + 2, repair.col + 1)
        if isinstance(cell, Cell) and _fill_of(cell) != want:
            fills.set(cell, want)


def _replace_tab(wb: Workbook, content: TabContent) -> None:
    """Rewrite a tab the sync owns (the Dashboard), creating it when missing."""
    ws = _find_sheet(wb, content.title) if content.exists else None
    if ws is None:
        ws = wb.create_sheet(content.title)
    for merged in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(merged))
    if ws.max_row:
        ws.delete_rows(1, ws.max_row)
    title_row = True
    for r, row in enumerate(content.rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c)
            assert isinstance(cell, Cell)
            kind = (
                "date"
                if isinstance(value, date)
                else ("number" if isinstance(value, int | float | Decimal) else "text")
            )
            _set_value(cell, value, kind)
            if title_row:
                cell.font = _HEADER_FONT
        title_row = not row
    ws.column_dimensions["A"].width = 44
    for letter in "BCDE":
        ws.column_dimensions[letter].width = 16


def _add_header(ws: Worksheet, header: HeaderChange) -> None:
    cell = ws.cell(1, header.col + 1)
    assert isinstance(cell, Cell), "checked by _merged_conflict"
    _set_value(cell, header.name, "text")
    left = ws.cell(1, header.col) if header.col > 0 else None
    if isinstance(left, Cell) and left.has_style:
        # Look like the header beside it (the stubs type style proxies loosely).
        cell.font = copy(left.font)  # type: ignore[assignment]
        cell.fill = copy(left.fill)  # type: ignore[assignment]
        cell.border = copy(left.border)  # type: ignore[assignment]
        cell.alignment = copy(left.alignment)  # type: ignore[assignment]
    # .get(): indexing column_dimensions would create an entry for the column beside.
    beside = ws.column_dimensions.get(get_column_letter(max(header.col, 1)))
    width = beside.width if beside is not None and beside.customWidth else None
    ws.column_dimensions[get_column_letter(header.col + 1)].width = max(width or 0, 14)


def _set_value(cell: Cell, value: Value, kind: str) -> None:
    if value is None:
        cell.value = None
    elif kind == "date" and isinstance(value, date):
        cell.value = value
        if cell.number_format in ("General", None):
            cell.number_format = _DATE_FORMAT
    elif kind == "number" and isinstance(value, int | float | Decimal):
        cell.value = int(value) if value == int(value) else float(value)
    else:
        cell.value = _as_stored(str(value))
        cell.data_type = "s"  # text, never a formula, whatever it starts with


#: What an xlsx file cannot hold as it is: control characters (openpyxl refuses them,
#: which failed the whole write), and text that reads as Excel's escape for one.
_UNSTORABLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_|[\ud800-\udfff\ufffe\uffff]"
)


def _as_stored(value: str) -> str:
    """Text as Excel stores it, so it reads back as it was: ``\\x07`` as ``_x0007_``, a
    typed ``_x0041_`` as ``_x005F_x0041_``. (Non-characters, which no read can return,
    become U+FFFD.)"""

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) > 1:
            return "_x005F" + found
        return f"_x{ord(found):04X}_" if found < " " else "\ufffd"

    return _UNSTORABLE.sub(escape, value)


@functools.lru_cache(maxsize=64)
def _fill(color: str | None) -> PatternFill:
    if color is None:
        return PatternFill(fill_type=None)
    argb = "FF" + color.lstrip("#").upper()
    return PatternFill(fill_type="solid", fgColor=argb, bgColor=argb)


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


# --- init helpers ------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", fgColor="FFEFEFEF", bgColor="FFEFEFEF")


def _find_sheet(wb: Workbook, name: str) -> Worksheet | None:
    for ws in wb.worksheets:
        if key(ws.title) == key(name) and isinstance(ws, Worksheet):
            return ws
    return None


def _header_index(ws: Worksheet) -> dict[str, int]:
    found: dict[str, int] = {}
    for at, cell in enumerate(ws[1]):
        if not is_blank(cell.value):
            found.setdefault(key(text(cell.value)), at)
    return found


def _prepare_tab(wb: Workbook, tab: Tab, balance_links: bool, done: list[str]) -> Worksheet:
    ws = _find_sheet(wb, tab.name)
    if ws is None:
        ws = wb.create_sheet(tab.name)
        done.append(f"added the {tab.name} tab")
    present = _header_index(ws)
    last = max(present.values(), default=-1)
    added = []
    for column in tab.columns:
        if column.name == "Balance link" and not balance_links:
            continue
        if key(column.name) in present:
            continue
        last += 1
        cell = ws.cell(1, last + 1)
        if isinstance(cell, MergedCell):
            raise WorkbookUnavailable(
                f"{tab.name}: cell {cell.coordinate} is part of merged cells; "
                "unmerge the header row so init can add the column"
            )
        _set_value(cell, column.name, "text")
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        width = max(12, len(column.name) + 4)
        if column.name in ("Sync note", "Notes", "Shared with", "Balance link"):
            width = 36
        elif column.name == "Progress":
            width = 20
        ws.column_dimensions[get_column_letter(last + 1)].width = width
        added.append(column.name)
    if added:
        done.append(f"{tab.name}: added the columns {', '.join(added)}")
    if ws.freeze_panes is None:
        ws.freeze_panes = "A2"
        done.append(f"{tab.name}: froze the header row")
    return ws


def _dropdowns(sheets: Mapping[str, Worksheet], tab: Tab, done: list[str]) -> None:
    ws = sheets[tab.name]
    index = _header_index(ws)
    for column in tab.columns:
        if not column.choices and not column.choices_from:
            continue
        at = index.get(key(column.name))
        if at is None:
            continue
        letter = get_column_letter(at + 1)
        if any(f"{letter}2" in dv.sqref for dv in ws.data_validations.dataValidation):
            continue
        if column.choices:
            formula = '"' + ",".join(column.choices) + '"'
        else:
            assert column.choices_from is not None
            source = sheets.get(column.choices_from)
            if source is None:
                continue
            source_at = _header_index(source).get(key(column.source_column))
            if source_at is None:
                continue
            src = get_column_letter(source_at + 1)
            formula = f"{quote_sheetname(source.title)}!${src}$2:${src}$5000"
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=column.name,
            error=f"Pick a {column.name} from the list (or keep what you typed).",
        )
        dv.add(f"{letter}2:{letter}1048576")
        ws.add_data_validation(dv)
        done.append(f"{tab.name}: added a dropdown to {column.name}")


def _fill_demo(sheets: Mapping[str, Worksheet], layout: Layout, done: list[str]) -> None:
    for tab in layout.tabs:
        ws = sheets[tab.name]
        if any(not is_blank(c.value) for row in ws.iter_rows(min_row=2) for c in row):
            raise WorkbookUnavailable(
                f"the {tab.name} tab already has rows: --demo only fills an empty workbook"
            )
    for tab in layout.tabs:
        rows: Sequence[Mapping[str, object]] = layout.demo.get(tab.name, ())
        ws = sheets[tab.name]
        index = _header_index(ws)
        for r, row in enumerate(rows, start=2):
            for name, value in row.items():
                kind = (
                    "date"
                    if isinstance(value, date | datetime)
                    else ("number" if isinstance(value, int | float | Decimal) else "text")
                )
                target = ws.cell(r, index[key(name)] + 1)
                assert isinstance(target, Cell)
                _set_value(target, value, kind)  # type: ignore[arg-type]
        if rows:
            done.append(f"{tab.name}: added {len(rows)} demo rows")
