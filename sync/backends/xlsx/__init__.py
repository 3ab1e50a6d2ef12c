"""The embedded default backend: a local ``.xlsx`` workbook, edited in place.

Reading takes the cells' values with python-calamine and the computed cells'
colors from the worksheets' style indexes and ``styles.xml``. Writing changes
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
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook, SheetTypeEnum

from rules.model import Table
from rules.schema import TABS
from rules.values import key, text
from sync.backends.base import (
    Layout,
    Snapshot,
    WorkbookUnavailable,
    WriteOutcome,
    WritePlan,
)
from sync.backends.setup import TabFound, plan_setup
from sync.backends.xlsx.edit import WorkbookEdit
from sync.backends.xlsx.elements import dropdown_columns, is_frozen
from sync.backends.xlsx.package import (
    CT_NS,
    REL_NS,
    Package,
    Unreadable,
)
from sync.backends.xlsx.sheet import Sheet
from sync.backends.xlsx.styles import Styles
from sync.collector import collector_paused

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
        self.location = str(path)
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
            book = calamine_book(package, version.data)
            tables = {
                meta.name: _table(meta.name, book.get_sheet_by_name(meta.name))
                for meta in book.sheets_metadata
                if meta.typ == SheetTypeEnum.WorkSheet
            }
        except Exception:  # calamine raises several kinds for a broken file
            raise self._unreadable(self._why_cells_unreadable(package)) from None
        try:
            colors = _read_colors(package, entries, tables, styles, version.parts)
        except Unreadable as err:
            raise self._unreadable(str(err)) from None
        self._last = Snapshot(
            tables=tables,
            colors=colors,
            numbers_are_dates=False,
            version=version,
            digest=version.digest,
        )
        return self._last

    @staticmethod
    def _why_cells_unreadable(package: Package) -> str:
        try:
            part = package.with_dtd()
        except Exception:  # a part that cannot even be unpacked: the file is damaged
            part = None
        if part is not None:
            return (
                f"its part {part} declares a document type (DTD), which Excel does not "
                "allow in a workbook: open it in LibreOffice and save it again as .xlsx"
            )
        return "its cells cannot be read (the file is damaged, or not an xlsx workbook)"

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
            edit = WorkbookEdit(package)
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
            edit = WorkbookEdit(package)
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


def calamine_book(package: Package, data: bytes) -> CalamineWorkbook:
    """The workbook opened by python-calamine, which refuses or misreads some files
    that Excel opens (a macro sheet, a tab's state written ``show``, styles outside
    ``xl/styles.xml``): those it is handed a copy in the usual layout of."""
    if not package.misplaced():
        try:
            return CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception:  # calamine raises several kinds; the copy is tried next
            pass
    return CalamineWorkbook.from_filelike(io.BytesIO(package.plain_copy()))


def _table(title: str, sheet: Any) -> Table:
    """A worksheet's cell values from row 1 (empty cells are ``""``), trailing blank rows cut."""
    rows = sheet.to_python(skip_empty_area=False)
    end = len(rows)
    while end > 1 and all(v == "" or v is None for v in rows[end - 1]):
        end -= 1
    header = rows[0] if rows else []
    return Table(title, header, rows[1:end])


#: The computed cells the contract colors (status, progress and credits cells): the
#: only ones whose colors the read needs.
_COLORED = {key("Status"), key("Progress"), key("Credits left")}


def _computed_columns(table: Table) -> list[int]:
    """The 0-based columns of a tab that hold the sync's colored computed values."""
    tab = next((t for t in TABS if key(t.name) == key(table.title)), None)
    if tab is None:
        return []
    names = {key(c.name) for c in tab.computed} & _COLORED
    return [at for at, name in enumerate(table.header) if key(text(name)) in names]


def _read_colors(
    package: Package,
    entries: list[Any],
    tables: Mapping[str, Table],
    styles: Styles,
    parts: dict[str, bytes],
) -> dict[str, dict[int, list[str | None]]]:
    """Per tab: the color each computed column's cells show, from their styles."""
    by_style = styles.colors_by_style()
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
