"""Workbooks laid out in ways other programs write them, which Excel and LibreOffice
open, are kept: each is taken through ``init --demo``, ``sync`` and ``sync`` as a
practitioner adding creditsheet to it would.

Each file is made here: a workbook saved by openpyxl, then edited as a zip to have
the layout another program writes (an empty stylesheet, a tab whose state is
written ``show``, a macro sheet, the workbook part at the package root).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook

from tests.test_corpus import STATUSES, take_through

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def own_workbook(path: Path) -> None:
    """The practitioner's own workbook before creditsheet: one tab of their figures."""
    wb = openpyxl.Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "Figures"
    sheet.append(["Month", "Sessions"])
    sheet.append(["Jan", 31])
    wb.save(path)


def rezip(
    path: Path, edit: Callable[[str, bytes], bytes], added: dict[str, bytes] | None = None
) -> None:
    """Rewrite a package part by part through ``edit``, then add the ``added`` parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            z.writestr(item.filename, edit(item.filename, source.read(item.filename)))
        for name, body in (added or {}).items():
            z.writestr(name, body)
    path.write_bytes(out.getvalue())


def synced(path: Path) -> bytes:
    """The workbook after init --demo, sync and sync through the command line."""
    run = take_through(path.name, path, path.parent / "synced")
    assert run.kept, run.errors
    return run.after


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def with_parts(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """A copy of a package with parts replaced (None: left out), for a reader to read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in parts(data).items():
            if name not in changes:
                z.writestr(name, body)
        for name, new in changes.items():
            if new is not None:
                z.writestr(name, new)
    return out.getvalue()


def assert_practice_synced(book: CalamineWorkbook) -> None:
    """The demo practice's balances are written, its dates read back as dates."""
    packages = book.get_sheet_by_name("Packages").to_python()
    header = packages[0]
    rows = [r for r in packages[1:] if any(v not in ("", None) for v in r)]
    assert rows
    assert {r[header.index("Status")] for r in rows} <= STATUSES - {"Invalid"}
    assert all(isinstance(r[header.index("Purchased")], date) for r in rows)
    sessions = book.get_sheet_by_name("Sessions").to_python()
    assert all(isinstance(r[0], date) for r in sessions[1:] if r[0] not in ("", None))


def test_an_empty_stylesheet_gets_excels_defaults(tmp_path: Path) -> None:
    # As some writers leave it: <styleSheet/>, not one font, fill, border or style.
    path = tmp_path / "practice.xlsx"
    own_workbook(path)
    empty = f'<?xml version="1.0"?><styleSheet xmlns="{MAIN_NS}"></styleSheet>'.encode()
    rezip(path, lambda name, body: empty if name == "xl/styles.xml" else body)
    before = path.read_bytes()
    after = synced(path)
    styles = parts(after)["xl/styles.xml"]
    for section, item in (("fonts", "font"), ("fills", "fill"), ("borders", "border")):
        found = re.search(rf"<{section} count=\"(\d+)\">(.*?)</{section}>".encode(), styles, re.S)
        assert found, section
        assert int(found.group(1)) == found.group(2).count(f"<{item}>".encode()) >= 1
    assert parts(after)["xl/worksheets/sheet1.xml"] == parts(before)["xl/worksheets/sheet1.xml"]
    assert_practice_synced(CalamineWorkbook.from_filelike(io.BytesIO(after)))


def test_a_tab_whose_state_is_written_show_keeps_it(tmp_path: Path) -> None:
    # Excel opens state="show" (not a state the standard names) as a visible tab;
    # python-calamine refuses the whole file.
    path = tmp_path / "practice.xlsx"
    own_workbook(path)
    rezip(
        path,
        lambda name, body: (
            body.replace(b'state="visible"', b'state="show"') if name == "xl/workbook.xml" else body
        ),
    )
    assert b'name="Figures" sheetId="1" state="show"' in parts(path.read_bytes())["xl/workbook.xml"]
    after = synced(path)
    workbook = parts(after)["xl/workbook.xml"]
    assert b'name="Figures" sheetId="1" state="show"' in workbook
    readable = with_parts(after, {"xl/workbook.xml": workbook.replace(b' state="show"', b"")})
    assert_practice_synced(CalamineWorkbook.from_filelike(io.BytesIO(readable)))


MACRO_SHEET = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><xm:macrosheet xmlns="{MAIN_NS}" '
    'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1">'
    '<c r="A1"><f>ALERT("Hello")</f><v>1</v></c></row><row r="2"><c r="A2"><f>RETURN()</f>'
    "<v>1</v></c></row></sheetData></xm:macrosheet>"
).encode()
MACRO_TYPE = "application/vnd.ms-excel.macrosheet+xml"


def test_a_macro_sheet_and_its_content_type_are_kept(tmp_path: Path) -> None:
    # An Excel 4 macro sheet (xl/macrosheets/), which python-calamine refuses to open.
    path = tmp_path / "practice.xlsm"
    own_workbook(path)

    def add_macro_sheet(name: str, body: bytes) -> bytes:
        if name == "[Content_Types].xml":
            body = body.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
            override = (
                f'<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="{MACRO_TYPE}"/>'
            )
            return body.replace(b"</Types>", override.encode() + b"</Types>")
        if name == "xl/_rels/workbook.xml.rels":
            rel = (
                '<Relationship Id="rIdMacro" Type="http://schemas.microsoft.com/office/2006/'
                'relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/>'
            )
            return body.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
        if name == "xl/workbook.xml":
            sheet = f'<sheet xmlns:r="{OFFICE_REL}" name="Macro1" sheetId="9" r:id="rIdMacro"/>'
            return body.replace(b"<sheets>", b"<sheets>" + sheet.encode())
        return body

    rezip(path, add_macro_sheet, {"xl/macrosheets/sheet1.xml": MACRO_SHEET})
    assert b'name="Macro1"' in parts(path.read_bytes())["xl/workbook.xml"]
    result = synced(path)
    after = parts(result)
    assert after["xl/macrosheets/sheet1.xml"] == MACRO_SHEET
    assert (
        f'PartName="/xl/macrosheets/sheet1.xml" ContentType="{MACRO_TYPE}"'.encode()
        in after["[Content_Types].xml"]
    )
    assert b"sheet.macroEnabled.main+xml" in after["[Content_Types].xml"]
    macro = re.compile(rb'<sheet [^>]*name="Macro1" sheetId="9" r:id="rIdMacro"/>')
    assert macro.search(after["xl/workbook.xml"])
    plain = macro.sub(b"", after["xl/workbook.xml"])
    readable = with_parts(result, {"xl/workbook.xml": plain})
    assert_practice_synced(CalamineWorkbook.from_filelike(io.BytesIO(readable)))


def test_a_workbook_part_at_the_package_root_is_written_beside_its_own_parts(
    tmp_path: Path,
) -> None:
    # As PhpSpreadsheet's test file has it: workbook.xml and stylesheet.xml at the root,
    # the worksheet under xl/worksheets/. Relationship targets resolve against the
    # workbook part's folder, so the date format goes into stylesheet.xml.
    path = tmp_path / "practice.xlsx"
    own_workbook(path)
    moved = {
        "xl/workbook.xml": "workbook.xml",
        "xl/_rels/workbook.xml.rels": "_rels/workbook.xml.rels",
        "xl/styles.xml": "stylesheet.xml",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(b'Target="/xl/styles.xml"', b'Target="stylesheet.xml"')
                body = body.replace(b'Target="styles.xml"', b'Target="stylesheet.xml"')
                body = re.sub(rb'Target="/?(xl/)?(worksheets|theme)/', rb'Target="/xl/\2/', body)
            if item.filename == "_rels/.rels":
                body = body.replace(b'Target="/xl/workbook.xml"', b'Target="workbook.xml"')
                body = body.replace(b'Target="xl/workbook.xml"', b'Target="workbook.xml"')
            if item.filename == "[Content_Types].xml":
                body = body.replace(b'"/xl/workbook.xml"', b'"/workbook.xml"')
                body = body.replace(b'"/xl/styles.xml"', b'"/stylesheet.xml"')
            z.writestr(moved.get(item.filename, item.filename), body)
    path.write_bytes(out.getvalue())
    original = parts(path.read_bytes())
    assert "workbook.xml" in original and "xl/workbook.xml" not in original
    result = synced(path)
    after = parts(result)
    assert "xl/styles.xml" not in after and "styles.xml" not in after
    assert b'formatCode="yyyy-mm-dd"' in after["stylesheet.xml"]
    # python-calamine takes the styles beside the workbook part at a fixed name:
    # handed them there, it must read the dates the sync wrote as dates.
    readable = with_parts(result, {"styles.xml": after["stylesheet.xml"]})
    assert_practice_synced(CalamineWorkbook.from_filelike(io.BytesIO(readable)))


def test_a_part_that_declares_a_dtd_is_refused_in_plain_words(tmp_path: Path) -> None:
    # Open XML forbids DTDs; an "XML bomb" is made of nested entities declared in one.
    path = tmp_path / "practice.xlsx"
    own_workbook(path)
    dtd = b'<!DOCTYPE bomb [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'

    def declare(name: str, body: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return body
        body = body.replace(b"<worksheet", dtd + b"<worksheet", 1)
        return body.replace(b"<t>Jan</t>", b"<t>&b;</t>")

    rezip(path, declare)
    before = path.read_bytes()
    run = take_through(path.name, path, tmp_path / "synced")
    assert run.codes == [3]
    assert run.errors[0].strip() == (
        "Error: practice.xlsx cannot be read: its part xl/worksheets/sheet1.xml declares a "
        "document type (DTD), which Excel does not allow in a workbook: open it in "
        "LibreOffice and save it again as .xlsx"
    )
    assert run.after == before
