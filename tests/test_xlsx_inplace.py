"""The xlsx writer edits the package in place: what changes, what stays byte for byte.

Real files throughout: workbooks made with openpyxl (as fixtures only), then
written by the backend, then read back through the zip, calamine and openpyxl.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree
from openpyxl.comments import Comment
from openpyxl.worksheet.table import Table, TableStyleInfo
from python_calamine import CalamineWorkbook

from rules.schema import RED
from sync.backends.base import AppendedCell, RowAppend, WorkbookUnavailable, WritePlan
from sync.backends.xlsx import XlsxBackend
from sync.cli import cli
from sync.config import Config
from sync.cycle import run_cycle

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def practice(path: Path, *, table: bool = False) -> None:
    wb = openpyxl.Workbook()
    clients = wb.active
    assert clients is not None
    clients.title = "Clients"
    for row in (["Client", "Email", "Billing"], ["Ann Lee", "ann@example.com", "Package"]):
        clients.append(row)
    clients["B2"].comment = Comment("prefers mornings", "Practitioner")
    if table:
        clients.add_table(
            Table(
                displayName="People",
                ref="A1:C2",
                tableStyleInfo=TableStyleInfo(name="TableStyleLight9"),
            )
        )
    packages = wb.create_sheet("Packages")
    packages.append(["Package ID", "Client", "Sessions", "Purchased", "Price"])
    packages.append(["P-0001", "Ann Lee", 5, date(2026, 10, 1), 250])
    packages["D2"].number_format = "yyyy-mm-dd"
    sessions = wb.create_sheet("Sessions")
    sessions.append(["Date", "Client", "Package ID", "Outcome"])
    sessions.append([date(2026, 11, 2), "Ann Lee", None, None])
    sessions["A2"].number_format = "yyyy-mm-dd"
    extra = wb.create_sheet("Notes")
    extra.append(["Total price", "=SUM(Packages!E2:E9)"])
    wb.save(path)


def sync(path: Path) -> object:
    return run_cycle(CONFIG, XlsxBackend(path), now=NOW)


def parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(n, z.read(n)) for n in z.namelist()]


def sheet_part(path: Path, title: str) -> str:
    with zipfile.ZipFile(path) as z:
        workbook = etree.fromstring(z.read("xl/workbook.xml"))
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    rid = next(
        s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        for s in workbook.iter(f"{MAIN}sheet")
        if s.get("name") == title
    )
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return "xl/" + target.lstrip("/").removeprefix("xl/")


def without_cells(xml: bytes, refs: set[str]) -> bytes:
    """A sheet part with the named cells' elements taken out."""

    def drop(match: re.Match[bytes]) -> bytes:
        return b"" if match.group(1).decode() in refs else match.group(0)

    return re.sub(rb'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', drop, xml, flags=re.S)


def retype(path: Path, title: str, ref: str, number: int) -> None:
    """Type a number into a cell the way a spreadsheet program would, touching nothing else."""
    part = sheet_part(path, title)
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == part:
                body, n = re.subn(
                    rb'(<c r="' + ref.encode() + rb'"[^>]*>)<v>[^<]*</v>',
                    rb"\g<1><v>%d</v>" % number,
                    body,
                )
                assert n == 1
            z.writestr(item, body)
    path.write_bytes(out.getvalue())


def test_untouched_parts_keep_their_bytes_names_and_order(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    before = parts(path)
    sync(path)
    after = dict(parts(path))
    names = [n for n, _ in parts(path)]
    assert names[: len(before)] == [n for n, _ in before]  # same order; new parts after
    notes = sheet_part(path, "Notes")
    for name, data in before:
        if "comment" in name or "vml" in name or name.startswith("docProps/") or name == notes:
            assert after[name] == data, name
    synced = parts(path)
    assert not sync(path).plan  # type: ignore[attr-defined]
    assert parts(path) == synced  # an idle cycle writes nothing


def test_the_zip_entries_keep_their_extra_fields(tmp_path: Path) -> None:
    """Timestamps, Unix owners and the like (Info-ZIP's extra fields), which some
    programs write with each part, are kept with the part, changed or not."""
    path = tmp_path / "practice.xlsx"
    practice(path)
    stamp = struct.pack("<HHBI", 0x5455, 5, 1, 1_700_000_000)  # "UT": modified at
    owner = struct.pack("<HHBBIBI", 0x7875, 11, 1, 4, 1000, 4, 1000)  # "ux": uid, gid
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            item.extra = stamp + owner
            z.writestr(item, source.read(item.filename))
    path.write_bytes(out.getvalue())
    before = [name for name, _ in parts(path)]
    sync(path)
    with zipfile.ZipFile(path) as synced:
        extras = {i.filename: i.extra for i in synced.infolist()}
        assert synced.testzip() is None
    sessions = sheet_part(path, "Sessions")
    assert extras[sessions] == stamp + owner  # a part the cycle changed
    assert extras["docProps/app.xml"] == stamp + owner  # one it did not
    assert [name for name in before if extras[name] != stamp + owner] == []


def test_a_cycle_changes_only_the_cells_it_writes(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    # The practitioner logs a second session (a row typed below the first).
    wb = openpyxl.load_workbook(path)
    wb["Sessions"].append([date(2026, 11, 9), "Ann Lee"])
    wb["Sessions"]["A3"].number_format = "yyyy-mm-dd"
    wb.save(path)
    typed = dict(parts(path))
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    after = dict(parts(path))
    assert [n for n, _ in parts(path)][: len(typed)] == list(typed)
    written = {(c.tab, f"{chr(65 + c.col)}{c.row}") for c in report.plan.cells}  # type: ignore[attr-defined]
    changed_parts = {n for n in typed if typed[n] != after[n]}
    packages = sheet_part(path, "Packages")
    sessions = sheet_part(path, "Sessions")
    assert changed_parts <= {
        packages,
        sessions,
        "xl/styles.xml",
        "xl/workbook.xml",
        sheet_part(path, "Clients"),
        sheet_part(path, "Dashboard"),
    }
    for title, part in (("Packages", packages), ("Sessions", sessions)):
        refs = {ref for tab, ref in written if tab == title}
        assert without_cells(after[part], refs) == without_cells(typed[part], refs), title


def test_styles_are_appended_with_counts_right_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    styles = etree.fromstring(dict(parts(path))["xl/styles.xml"])
    for name in ("fonts", "fills", "borders", "cellXfs", "numFmts"):
        for section in styles.iter(MAIN + name):
            assert int(section.get("count")) == len(section), name
    assert styles is not None
    # A status that flips and flips back reuses the styles it made the first time.
    sizes = {}
    for round_ in range(2):
        for sessions in (1, 5):
            retype(path, "Packages", "C2", sessions)
            assert sync(path).outcome.written  # type: ignore[attr-defined]
        if round_ == 0:
            sizes = {s.tag: len(s) for s in etree.fromstring(dict(parts(path))["xl/styles.xml"])}
    again = etree.fromstring(dict(parts(path))["xl/styles.xml"])
    assert {s.tag: len(s) for s in again} == sizes


def test_the_reader_knows_the_colors_and_a_color_changed_by_hand_is_put_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    snapshot = XlsxBackend(path).read()
    status = snapshot.tables["Packages"].header.index("Status")
    assert snapshot.colors["Packages"][status] == ["#B7E1CD"]
    wb = openpyxl.load_workbook(path)
    wb["Packages"].cell(2, status + 1).fill = openpyxl.styles.PatternFill(
        "solid", fgColor="FF0000FF"
    )
    wb.save(path)
    report = sync(path)
    assert [(c.column, c.set_value, c.set_color) for c in report.plan.cells] == [  # type: ignore[attr-defined]
        ("Status", False, True)
    ]
    assert (
        openpyxl.load_workbook(path)["Packages"].cell(2, status + 1).fill.fgColor.rgb == "FFB7E1CD"
    )
    assert not sync(path).plan  # type: ignore[attr-defined]


def test_a_computed_cell_holding_a_formula_gets_its_value_and_leaves_the_calc_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    wb = openpyxl.load_workbook(path)
    remaining = wb["Packages"]["A1"].parent[1]
    col = next(c.column for c in remaining if c.value == "Remaining")
    wb["Packages"].cell(2, col).value = "=C2-1"
    wb.save(path)
    # Excel keeps a calc chain naming every formula cell; add one as Excel would.
    data = dict(parts(path))
    sheet_id = 2
    letter = openpyxl.utils.get_column_letter(col)
    chain = (
        f'<calcChain xmlns="{MAIN[1:-1]}"><c r="{letter}2" i="{sheet_id}"/>'
        '<c r="B1" i="4"/></calcChain>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
                    b'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
                )
            if item.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                    b"</Relationships>",
                )
            z.writestr(item, body)
        z.writestr("xl/calcChain.xml", chain)
    path.write_bytes(out.getvalue())
    assert data
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    after = dict(parts(path))
    assert b'<c r="B1" i="4"/>' in after["xl/calcChain.xml"]
    assert f'r="{letter}2"'.encode() not in after["xl/calcChain.xml"]
    wb = openpyxl.load_workbook(path)
    assert wb["Packages"].cell(2, col).value == 4
    assert wb["Notes"]["B1"].value == "=SUM(Packages!E2:E9)"
    calc = etree.fromstring(after["xl/workbook.xml"]).find(MAIN + "calcPr")
    assert calc is not None and calc.get("fullCalcOnLoad") == "1"


def test_an_excel_table_grows_to_take_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path, table=True)
    sync(path)
    table_part = next(n for n, _ in parts(path) if n.startswith("xl/tables/"))
    table = etree.fromstring(dict(parts(path))[table_part])
    columns = table.find(MAIN + "tableColumns")
    assert table.get("ref") == "A1:E2"
    assert [c.get("name") for c in columns] == [
        "Client",
        "Email",
        "Billing",
        "Credits left",
        "Sync note",
    ]
    assert columns.get("count") == "5"
    assert table.find(MAIN + "autoFilter").get("ref") == "A1:E2"


def test_comments_and_their_parts_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    before = {n: b for n, b in parts(path) if "comment" in n or "vml" in n.lower()}
    assert before
    sync(path)
    after = dict(parts(path))
    assert {n: after[n] for n in before} == before
    assert openpyxl.load_workbook(path)["Clients"]["B2"].comment.text == "prefers mornings"


def test_rows_appended_go_after_the_last_row_with_their_values_and_colors(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    backend = XlsxBackend(path)
    snapshot = backend.read()
    appended = RowAppend(
        "Sessions",
        3,
        (
            AppendedCell(0, date(2026, 11, 21), "date"),
            AppendedCell(1, "Ann Lee", "text"),
            AppendedCell(3, "  Attended  ", "text", RED),
        ),
    )
    outcome = backend.write(snapshot, WritePlan(appends=(appended,)))
    assert outcome.written and outcome.cells_written == 3
    ws = openpyxl.load_workbook(path)["Sessions"]
    assert [c.value for c in ws[3]] == [datetime(2026, 11, 21), "Ann Lee", None, "  Attended  "]
    assert ws["D3"].fill.fgColor.rgb == "FF" + RED[1:]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sessions").to_python()
    assert rows[2][3] == "  Attended  "  # whitespace kept


def test_init_adds_tabs_as_new_parts_with_their_relationships_and_types(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "My notes"
    ws.append(["anything", 1])
    wb.save(path)
    before = dict(parts(path))
    done = XlsxBackend(path).prepare(
        __import__("sync.bootstrap", fromlist=["layout"]).layout(CONFIG)
    )
    assert "added the Clients tab" in done
    after = dict(parts(path))
    mine = sheet_part(path, "My notes")
    assert after[mine] == before[mine]
    types = etree.fromstring(after["[Content_Types].xml"])
    overrides = {o.get("PartName") for o in types}
    for title in ("Clients", "Packages", "Sessions", "Templates"):
        part = sheet_part(path, title)
        assert part in after
        assert "/" + part in overrides
    loaded = openpyxl.load_workbook(path)
    assert loaded.sheetnames == ["My notes", "Clients", "Packages", "Sessions", "Templates"]
    assert loaded["Sessions"].freeze_panes == "A2"
    assert [c.value for c in loaded["Clients"][1]] == [
        "Client",
        "Email",
        "Billing",
        "Credits left",
        "Sync note",
    ]
    assert [str(d.sqref) for d in loaded["Sessions"].data_validations.dataValidation] == [
        "B2:B1048576",
        "D2:D1048576",
    ]
    assert loaded["Clients"].column_dimensions["E"].width == 36
    assert (
        XlsxBackend(path).prepare(__import__("sync.bootstrap", fromlist=["layout"]).layout(CONFIG))
        == []
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") * 4,
            "it is password-protected",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "it is an old-format Excel file (.xls)",
        ),
        (b"PK\x03\x04 broken beyond repair", "it is damaged (its zip container is broken)"),
        (b"Client,Credits\nAnn,3\n", "it is not a workbook"),
    ],
)
def test_what_cannot_be_read_is_refused_in_plain_words(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "practice.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookUnavailable) as caught:
        XlsxBackend(path).read()
    assert str(caught.value).startswith(f"practice.xlsx cannot be read: {reason}")
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n')
    result = CliRunner().invoke(cli, ["sync", "--config", str(config)])
    assert result.exit_code == 3
    assert f"Error: practice.xlsx cannot be read: {reason}" in result.output
    assert path.read_bytes() == content


def test_a_workbook_part_that_is_not_xml_is_refused_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as z:
        for item in source.infolist():
            body = source.read(item.filename)
            z.writestr(item, body[:-40] if item.filename == "xl/workbook.xml" else body)
    path.write_bytes(out.getvalue())
    with pytest.raises(
        WorkbookUnavailable,
        match=r"^practice.xlsx cannot be read: its part xl/workbook.xml is damaged",
    ):
        XlsxBackend(path).read()


def test_a_shared_formula_keeps_working_when_its_first_cell_is_overwritten(
    tmp_path: Path,
) -> None:
    # Excel stores a formula dragged down a column once, in its first cell; the cells
    # below refer to it. Overwriting that first cell hands the text to the next one.
    path = tmp_path / "practice.xlsx"
    practice(path)
    wb = openpyxl.load_workbook(path)
    packages = wb["Packages"]
    packages.append(["P-0002", "Ann Lee", 3, date(2026, 10, 1), 90])
    packages.append(["P-0003", "Ann Lee", 4, date(2026, 10, 1), 90])
    packages["F1"] = "Used"
    wb.save(path)
    part = sheet_part(path, "Packages")
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == part:
                cells = [
                    b'<c r="F2"><f t="shared" ref="F2:F4" si="0">C2-C2</f><v>0</v></c>',
                    b'<c r="F3"><f t="shared" si="0"/><v>0</v></c>',
                    b'<c r="F4"><f t="shared" si="0"/><v>7</v></c>',
                ]
                for row, cell in zip((2, 3, 4), cells, strict=True):
                    body = re.sub(
                        rb'(<row r="%d"[^>]*>.*?)</row>' % row,
                        lambda m, c=cell: m.group(1) + c + b"</row>",
                        body,
                        count=1,
                        flags=re.S,
                    )
            z.writestr(item, body)
    path.write_bytes(out.getvalue())
    # P-0001's session makes F2 a 1 (overwritten), F3 stays 0, F4's stale 7 becomes 0.
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    written = {f"F{c.row}" for c in report.plan.cells if c.column == "Used" and c.set_value}  # type: ignore[attr-defined]
    xml = dict(parts(path))[part]
    assert written == {"F2", "F4"}
    assert re.search(rb'<c r="F3"[^>]*><f t="shared" ref="F2:F4" si="0">C3-C3</f>', xml)
    assert b'<c r="F4"' in xml and b"<v>7</v>" not in xml


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "byte-order-mark"])
def test_a_workbook_whose_parts_use_a_namespace_prefix_is_written_with_it(
    tmp_path: Path, bom: bytes
) -> None:
    # Some programs write <x:worksheet xmlns:x="..."><x:sheetData>...; an empty tab
    # as <x:sheetData/>; ClosedXML puts a byte-order mark before the declaration.
    path = tmp_path / "practice.xlsx"
    practice(path)
    out = io.BytesIO()
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet") or item.filename == "xl/styles.xml":
                body = re.sub(rb"<(/?)([A-Za-z]\w*)([\s/>])", rb"<\1x:\2\3", body)
                body = bom + body.replace(main, main.replace(b"xmlns=", b"xmlns:x="))
            if item.filename == sheet_part(path, "Notes"):
                body = re.sub(
                    rb"<x:sheetData>.*</x:sheetData>", b"<x:sheetData/>", body, flags=re.S
                )
            z.writestr(item, body)
    path.write_bytes(out.getvalue())
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    xml = dict(parts(path))[sheet_part(path, "Packages")]
    assert b'<x:c r="H2" s="' in xml and b'<x:t xml:space="preserve">Active</x:t>' in xml
    assert b"<c " not in xml
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Packages").to_python()
    assert rows[1][5:9] == [1.0, 4.0, "Active", "▰▰▰▰▱ 4/5"]
    assert not sync(path).plan  # type: ignore[attr-defined]


def test_a_strict_open_xml_workbook_is_read_and_written(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    out = io.BytesIO()
    names = {
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": (
            b"http://purl.oclc.org/ooxml/spreadsheetml/main"
        ),
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
            b"http://purl.oclc.org/ooxml/officeDocument/relationships"
        ),
    }
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            for old, new in names.items():
                body = body.replace(old, new)
            z.writestr(item, body)
    path.write_bytes(out.getvalue())
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Packages").to_python()
    assert rows[1][5:9] == [1.0, 4.0, "Active", "▰▰▰▰▱ 4/5"]
    rels = dict(parts(path))["xl/_rels/workbook.xml.rels"]
    assert b"http://schemas.openxmlformats.org/officeDocument" not in rels  # the Dashboard's too
    assert not sync(path).plan  # type: ignore[attr-defined]


def test_init_grows_a_table_and_refuses_a_header_inside_merged_cells(tmp_path: Path) -> None:
    from sync import bootstrap

    path = tmp_path / "practice.xlsx"
    practice(path, table=True)
    XlsxBackend(path).prepare(bootstrap.layout(CONFIG))
    table_part = next(n for n, _ in parts(path) if n.startswith("xl/tables/"))
    table = etree.fromstring(dict(parts(path))[table_part])
    assert table.get("ref") == "A1:E2"
    wb = openpyxl.load_workbook(path)
    wb["Sessions"]["E1"] = "Room"
    wb["Sessions"].merge_cells("E1:G1")
    wb.save(path)
    before = path.read_bytes()
    with pytest.raises(WorkbookUnavailable, match="Sessions: cell F1 is part of merged cells"):
        XlsxBackend(path).prepare(bootstrap.layout(CONFIG))
    assert path.read_bytes() == before


@pytest.mark.parametrize("number_format", ["General", "0.00", "@", "dd/mm/yyyy"])
def test_a_date_written_reads_back_as_a_date_whatever_the_cell_was_formatted_as(
    tmp_path: Path, number_format: str
) -> None:
    from sync.backends.base import CellChange

    path = tmp_path / "practice.xlsx"
    practice(path)
    wb = openpyxl.load_workbook(path)
    wb["Packages"]["F2"].number_format = number_format
    wb.save(path)
    backend = XlsxBackend(path)
    change = CellChange(
        "Packages", 2, 5, "Expires", None, date(2027, 1, 31), "date", None, True, False, True
    )
    assert backend.write(backend.read(), WritePlan(cells=(change,))).written
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Packages").to_python()
    assert rows[1][5] == date(2027, 1, 31)
    kept = openpyxl.load_workbook(path)["Packages"]["F2"].number_format
    assert kept == ("dd/mm/yyyy" if number_format == "dd/mm/yyyy" else "yyyy-mm-dd")


def test_cells_that_do_not_name_themselves_are_read_and_written_by_position(
    tmp_path: Path,
) -> None:
    # The r attribute of a cell is optional: some writers give none, cells then stand
    # one after another from column A.
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    part = sheet_part(path, "Packages")
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == part:
                body = re.sub(rb'<c r="[A-Z]+\d+"', b"<c", body)
            z.writestr(item, body)
    path.write_bytes(out.getvalue())
    snapshot = XlsxBackend(path).read()
    status = snapshot.tables["Packages"].header.index("Status")
    assert snapshot.colors["Packages"][status] == ["#B7E1CD"]
    assert not sync(path).plan  # type: ignore[attr-defined]
    from sync.backends.base import CellChange

    backend = XlsxBackend(path)
    change = CellChange(
        "Packages", 2, status, "Status", "Active", "Low", "text", "#FCE8B2", True, True
    )
    assert backend.write(backend.read(), WritePlan(cells=(change,))).written
    ws = openpyxl.load_workbook(path)["Packages"]
    assert [c.value for c in ws[2]][: status + 2] == [
        "P-0001", "Ann Lee", 5, datetime(2026, 10, 1), 250, 1, 4, "Low", "▰▰▰▰▱ 4/5"
    ]  # fmt: skip
    assert ws.cell(2, status + 1).fill.fgColor.rgb == "FFFCE8B2"


def test_the_shared_strings_count_follows_the_cells_written_over(tmp_path: Path) -> None:
    # LibreOffice keeps every text in the shared strings table, whose count is the
    # number of cells that use it; the sync writes its own text inline.
    path = tmp_path / "practice.xlsx"
    out = io.BytesIO()
    fixture = Path(__file__).parent / "fixtures" / "libreoffice-demo.xlsx"
    with zipfile.ZipFile(fixture) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":  # Packages: a stale Status
                body = re.sub(
                    rb'(<row r="2".*?)</row>',
                    rb'\1<c r="M2" t="s"><v>0</v></c></row>',
                    body,
                    count=1,
                )
            if item.filename == "xl/sharedStrings.xml":
                found = re.search(rb'count="(\d+)"', body)
                assert found is not None
                body = body.replace(found.group(0), b'count="%d"' % (int(found.group(1)) + 1), 1)
            z.writestr(item, body)
    path.write_bytes(out.getvalue())

    def counts() -> tuple[int, str | None]:
        data = dict(parts(path))
        used = sum(
            len(re.findall(rb'<c [^>]*\bt="s"', body))
            for name, body in data.items()
            if name.startswith("xl/worksheets/")
        )
        return used, etree.fromstring(data["xl/sharedStrings.xml"]).get("count")

    used, count = counts()
    assert count == str(used)
    report = run_cycle(CONFIG, XlsxBackend(path), now=datetime(2026, 11, 22, tzinfo=UTC))
    assert ("Packages", 2, "Status") in {(c.tab, c.row, c.column) for c in report.plan.cells}  # type: ignore[attr-defined]
    used_after, count_after = counts()
    assert used_after == used - 1 and count_after == str(used_after)
