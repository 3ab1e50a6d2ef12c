"""How the workbooks in this folder were made (see SOURCES.md); run again to remake them.

Each is saved by a program other than creditsheet: XlsxWriter (the writer
closest to Excel's own output), LibreOffice Calc (saving those same workbooks
again in its own way), openpyxl, PyExcelerate, ExcelJS and SheetJS; plus the
files a practitioner may have that no program can open (a cut-off download,
a text file named .xlsx, broken XML) and one saved with a password. The tests
never run this script: they read the files it made.

    python tests/corpus/build.py tests/corpus --vba vbaProject.bin
    python tests/corpus/build.py tests/corpus --only openpyxl-styled-to-the-last-cell.xlsx

needs a Python with ``xlsxwriter``, ``openpyxl``, ``pyexcelerate`` and
``msoffcrypto-tool``; ``node`` with the npm packages ``exceljs`` and ``xlsx`` on
``NODE_PATH``; and LibreOffice's ``soffice``. ``--vba`` is the ``vbaProject.bin``
of Excel macros that XlsxWriter's source distribution ships in ``examples/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUILDERS: dict[str, Callable[[Path], None]] = {}


def builder(name: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(func: Callable[[Path], None]) -> Callable[[Path], None]:
        BUILDERS[name] = func
        return func

    return register


def png(width: int = 24, height: int = 16, rgb: tuple[int, int, int] = (0x4F, 0x81, 0xBD)) -> bytes:
    """A small solid PNG, made here so that no picture has to come from elsewhere."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


ROWS = [
    ["Month", "Sessions", "Revenue", "Date"],
    ["Jan", 31, 1550.5, dt.date(2026, 1, 31)],
    ["Feb", 28, 1400.0, dt.date(2026, 2, 28)],
    ["Mar", 40, 2000.25, dt.date(2026, 3, 31)],
    ["Apr", 35, 1750.0, dt.date(2026, 4, 30)],
]


def data_sheet(book: Any, name: str = "Data") -> Any:
    """A sheet of the practice's own figures, the same in every XlsxWriter workbook."""
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    dates = book.add_format({"num_format": "d mmm yyyy"})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, ROWS[0], bold)
    for r, (month, sessions, revenue, day) in enumerate(ROWS[1:], start=1):
        sheet.write_string(r, 0, month)
        sheet.write_number(r, 1, sessions)
        sheet.write_number(r, 2, revenue, money)
        sheet.write_datetime(r, 3, dt.datetime.combine(day, dt.time()), dates)
    total = sum(row[1] for row in ROWS[1:])
    sheet.write_formula(5, 1, "=SUM(B2:B5)", None, total)
    sheet.write_formula(5, 2, "=SUM(C2:C5)", money, sum(row[2] for row in ROWS[1:]))
    sheet.set_column(0, 0, 12)
    sheet.set_column(3, 3, 14)
    return sheet


def xlsxwriter_book(path: Path, **options: Any) -> Any:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"author": "Corpus", "created": dt.datetime(2026, 1, 1)})
    return book


@builder("xlsxwriter-charts.xlsx")
def charts(path: Path) -> None:
    book = xlsxwriter_book(path)
    data_sheet(book)
    column = book.add_chart({"type": "column"})
    column.add_series({"categories": "=Data!$A$2:$A$5", "values": "=Data!$B$2:$B$5"})
    book.get_worksheet_by_name("Data").insert_chart("F2", column)
    line = book.add_chart({"type": "line"})
    line.add_series({"categories": "=Data!$A$2:$A$5", "values": "=Data!$C$2:$C$5"})
    book.add_chartsheet("Revenue chart").set_chart(line)
    book.close()


@builder("xlsxwriter-image.xlsx")
def image(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.insert_image("F2", "logo.png", {"image_data": io.BytesIO(png())})
    book.close()


@builder("xlsxwriter-in-cell-picture.xlsx")
def embedded(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.embed_image("E2", "logo.png", {"image_data": io.BytesIO(png())})
    book.close()


@builder("xlsxwriter-comments.xlsx")
def comments(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.write_comment("B2", "Two sessions moved to February", {"author": "Sam"})
    sheet.write_comment("C4", "Includes a refund", {"visible": True})
    book.close()


@builder("xlsxwriter-table.xlsx")
def table(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = book.add_worksheet("Takings")
    sheet.add_table(
        "B2:E6",
        {
            "name": "Takings",
            "data": [[r[0], r[1], r[2]] for r in ROWS[1:]],
            "total_row": True,
            "columns": [
                {"header": "Month", "total_string": "Total"},
                {"header": "Sessions", "total_function": "sum"},
                {"header": "Revenue", "total_function": "sum"},
                {"header": "Per session", "formula": "=[@Revenue]/[@Sessions]"},
            ],
        },
    )
    book.close()


@builder("xlsxwriter-defined-names.xlsx")
def names(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    book.add_worksheet("Rates").write_number("A1", 50)
    book.define_name("Rate", "=Rates!$A$1")
    book.define_name("Data!Months", "=Data!$A$2:$A$5")
    sheet.print_area("A1:D6")
    sheet.repeat_rows(0)
    sheet.write_formula("E2", "=B2*Rate", None, 1550)
    book.close()


@builder("xlsxwriter-validation.xlsx")
def validation(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    lists = book.add_worksheet("Lists")
    lists.write_column("A1", ["Yes", "No", "Maybe"])
    sheet.write("E1", "Paid")
    sheet.data_validation("E2:E20", {"validate": "list", "source": ["Yes", "No"]})
    sheet.data_validation("F2:F20", {"validate": "list", "source": "=Lists!$A$1:$A$3"})
    sheet.data_validation(
        "B2:B20", {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": 100}
    )
    book.close()


@builder("xlsxwriter-conditional-formats.xlsx")
def conditional(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    red = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    sheet.conditional_format("B2:B5", {"type": "cell", "criteria": ">", "value": 30, "format": red})
    sheet.conditional_format("C2:C5", {"type": "data_bar", "data_bar_2010": True})
    sheet.conditional_format("B2:B5", {"type": "icon_set", "icon_style": "3_traffic_lights"})
    sheet.conditional_format("C2:C5", {"type": "3_color_scale"})
    book.close()


@builder("xlsxwriter-sparklines.xlsx")
def sparklines(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.add_sparkline("F2", {"range": "Data!B2:B5"})
    sheet.add_sparkline("F3", {"range": "Data!C2:C5", "type": "column"})
    book.close()


@builder("xlsxwriter-protected-sheet.xlsx")
def protection(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.protect("secret", {"format_cells": True})
    sheet.write("E2", "open", book.add_format({"locked": False}))
    book.close()


@builder("xlsxwriter-hidden-sheets.xlsx")
def hidden(path: Path) -> None:
    book = xlsxwriter_book(path)
    data_sheet(book)
    book.add_worksheet("Old figures").write("A1", "kept out of sight")
    book.get_worksheet_by_name("Old figures").hide()
    book.add_worksheet("Workings").write("A1", "very hidden")
    book.get_worksheet_by_name("Workings").very_hidden()
    book.close()


@builder("xlsxwriter-merged-cells.xlsx")
def merged(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = book.add_worksheet("Summary")
    centre = book.add_format({"align": "center", "bold": True, "border": 1})
    sheet.merge_range("A1:D1", "Quarter one", centre)
    sheet.merge_range("A3:A6", "Notes", centre)
    sheet.write_row("B3", [1, 2, 3])
    book.close()


@builder("xlsxwriter-rich-text.xlsx")
def rich(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = book.add_worksheet("Notes")
    bold = book.add_format({"bold": True})
    red = book.add_format({"font_color": "red", "italic": True})
    sheet.write_rich_string("A1", "Session ", bold, "moved", " to ", red, "Friday")
    sheet.write_string("A2", "  leading and trailing spaces  ")
    sheet.write_string("A3", "line one\nline two")
    book.close()


@builder("xlsxwriter-array-formulas.xlsx")
def arrays(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.write_array_formula("F2:F5", "{=B2:B5*C2:C5}", None, 0)
    sheet.write_dynamic_array_formula("G2:G5", "=SORT(B2:B5)", None, 28)
    sheet.write_formula("H2", "=Data!B2+Data!B3", None, 59)
    book.close()


@builder("xlsxwriter-properties.xlsx")
def properties(path: Path) -> None:
    book = xlsxwriter_book(path)
    data_sheet(book)
    book.set_properties({"title": "Practice figures", "company": "Corpus", "comments": "Q1"})
    book.set_custom_property("Checked by", "Sam")
    book.set_custom_property("Reviewed", True)
    book.set_custom_property("Version", 3)
    book.set_custom_property("Due", dt.datetime(2026, 5, 1))
    book.close()


@builder("xlsxwriter-checkboxes.xlsx")
def checkboxes(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.write("E1", "Paid")
    sheet.insert_checkbox("E2", True)
    sheet.insert_checkbox("E3", False)
    book.close()


@builder("xlsxwriter-numbers-only.xlsx")
def numbers_only(path: Path) -> None:
    # With no text at all, XlsxWriter writes no sharedStrings part.
    book = xlsxwriter_book(path)
    sheet = book.add_worksheet("Figures")
    for r in range(6):
        sheet.write_row(r, 0, [r, r * 2.5, r * r])
    sheet.write_formula("D1", "=SUM(A1:A6)", None, 15)
    book.close()


@builder("xlsxwriter-constant-memory.xlsx")
def constant_memory(path: Path) -> None:
    # constant_memory writes each row as it goes, its strings inline.
    book = xlsxwriter_book(path, constant_memory=True)
    data_sheet(book)
    book.close()


@builder("xlsxwriter-filters-and-links.xlsx")
def filters(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.autofilter("A1:D5")
    sheet.filter_column("B", "x > 30")
    sheet.write_url("F1", "https://example.com/bookings", string="Bookings")
    sheet.write_url("F2", "internal:Data!A1", string="Top")
    sheet.freeze_panes(1, 1)
    book.close()


@builder("xlsxwriter-textbox-and-button.xlsx")
def textbox(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.insert_textbox("F2", "Remember to invoice", {"width": 200, "height": 60})
    sheet.insert_button("F8", {"caption": "Refresh", "macro": "refresh"})
    book.close()


@builder("xlsxwriter-header-image.xlsx")
def header_image(path: Path) -> None:
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    sheet.set_header(
        "&L&G&CPractice figures", {"image_left": "logo.png", "image_data_left": io.BytesIO(png())}
    )
    sheet.set_landscape()
    book.close()


@builder("xlsxwriter-macros.xlsm")
def macros(path: Path) -> None:
    book = xlsxwriter_book(path)
    data_sheet(book)
    book.set_vba_name("ThisWorkbook")
    book.add_vba_project(str(VBA))
    book.close()


@builder("xlsxwriter-everything.xlsx")
def everything(path: Path) -> None:
    """Several sheets and features together, as a real practice's workbook grows."""
    book = xlsxwriter_book(path)
    sheet = data_sheet(book)
    chart = book.add_chart({"type": "pie"})
    chart.add_series({"categories": "=Data!$A$2:$A$5", "values": "=Data!$B$2:$B$5"})
    sheet.insert_chart("F2", chart)
    sheet.write_comment("A1", "Figures from the old system")
    sheet.conditional_format("C2:C5", {"type": "data_bar"})
    sheet.data_validation("E2:E20", {"validate": "list", "source": ["Yes", "No"]})
    sheet.merge_range("A8:D8", "Merged note", book.add_format({"align": "center"}))
    sheet.insert_image("F20", "logo.png", {"image_data": io.BytesIO(png())})
    table_sheet = book.add_worksheet("Stock")
    table_sheet.add_table(
        "A1:B4",
        {
            "data": [["Mats", 4], ["Bands", 12], ["Rollers", 3]],
            "columns": [{"header": "Item"}, {"header": "Count"}],
        },
    )
    book.define_name("Stock", "=Stock!$A$2:$B$4")
    book.add_worksheet("Hidden").hide()
    book.set_custom_property("Owner", "Sam")
    book.close()


@builder("openpyxl-styles-and-formulas.xlsx")
def openpyxl_book(path: Path) -> None:
    # openpyxl writes formulas without cached results, and its own styles.
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in ROWS:
        sheet.append(row)
    sheet["B6"] = "=SUM(B2:B5)"
    sheet["A1"].font = Font(bold=True)
    sheet["A1"].fill = PatternFill("solid", fgColor="DDEBF7")
    sheet["A2"].comment = Comment("first month", "Sam")
    sheet.merge_cells("A8:C8")
    validation = DataValidation(type="list", formula1='"Yes,No"')
    sheet.add_data_validation(validation)
    validation.add("E2:E10")
    book.create_sheet("Notes")["A1"] = "second sheet"
    book.save(path)


@builder("openpyxl-styled-to-the-last-cell.xlsx")
def styled_to_the_edge(path: Path) -> None:
    # As Gnumeric saves a sheet styled whole: empty styled cells out to XFD1048576, the
    # dimension A1:XFD1048576. Saved by openpyxl, then its sheet part edited so.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in ROWS[:3]:
        sheet.append(row[:3])
    made = io.BytesIO()
    book.save(made)
    edge = b"".join(
        b'<row r="%d"><c r="XFC%d" s="0"/><c r="XFD%d" s="0"/></row>' % (r, r, r)
        for r in (1048575, 1048576)
    )
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<dimension ref="A1:C3"/>', b'<dimension ref="A1:XFD1048576"/>'
                )
                data = data.replace(b"</sheetData>", edge + b"</sheetData>")
            z.writestr(item, data)


@builder("pyexcelerate-plain.xlsx")
def pyexcelerate_book(path: Path) -> None:
    from pyexcelerate import Workbook

    book = Workbook()
    book.new_sheet(
        "Data",
        data=[
            [*row[:3], dt.datetime.combine(row[3], dt.time())]
            if isinstance(row[3], dt.date)
            else row
            for row in ROWS
        ],
    )
    book.new_sheet("Totals", data=[["Sessions", "=SUM(Data!B2:B5)"]])
    book.save(str(path))


EXCELJS = """
const ExcelJS = require('exceljs');
const wb = new ExcelJS.Workbook();
wb.creator = 'Corpus'; wb.created = new Date(Date.UTC(2026, 0, 1)); wb.modified = wb.created;
const ws = wb.addWorksheet('Data', {views: [{state: 'frozen', ySplit: 1}]});
ws.columns = [{header: 'Month', key: 'm', width: 12}, {header: 'Sessions', key: 's'},
              {header: 'Revenue', key: 'r', width: 12}];
ws.addRow({m: 'Jan', s: 31, r: 1550.5});
ws.addRow({m: 'Feb', s: 28, r: 1400});
ws.getCell('B4').value = {formula: 'SUM(B2:B3)', result: 59};
ws.getCell('A1').font = {bold: true};
ws.getCell('A2').note = 'first month';
ws.mergeCells('A6:C6');
ws.getCell('A6').value = 'merged';
ws.getCell('D2').dataValidation = {type: 'list', allowBlank: true, formulae: ['"Yes,No"']};
const t = wb.addWorksheet('Stock');
t.addTable({name: 'Stock', ref: 'A1', columns: [{name: 'Item'}, {name: 'Count'}],
            rows: [['Mats', 4], ['Bands', 12]]});
wb.xlsx.writeFile(process.argv[2]);
"""

SHEETJS = """
const XLSX = require('xlsx');
const ws = XLSX.utils.aoa_to_sheet([['Month', 'Sessions'], ['Jan', 31], ['Feb', 28],
                                    ['Total', {t: 'n', v: 59, f: 'SUM(B2:B3)'}]]);
const wb = XLSX.utils.book_new();
XLSX.utils.book_append_sheet(wb, ws, 'Data');
XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet([['note']]), 'Notes');
XLSX.writeFile(wb, process.argv[2], {bookSST: process.argv[3] === 'sst'});
"""


def node(script: str, *args: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as handle:
        handle.write(script)
    subprocess.run(["node", handle.name, *args], check=True)
    Path(handle.name).unlink()


@builder("exceljs-styles-notes-table.xlsx")
def exceljs_book(path: Path) -> None:
    node(EXCELJS, str(path))


@builder("sheetjs-text-cells.xlsx")
def sheetjs_text_cells(path: Path) -> None:
    node(SHEETJS, str(path), "inline")


@builder("sheetjs-shared-strings.xlsx")
def sheetjs_shared(path: Path) -> None:
    node(SHEETJS, str(path), "sst")


#: XlsxWriter workbooks that LibreOffice Calc opens and saves again in its own way.
LIBREOFFICE_FROM = (
    "xlsxwriter-everything.xlsx",
    "xlsxwriter-charts.xlsx",
    "xlsxwriter-comments.xlsx",
    "xlsxwriter-table.xlsx",
    "xlsxwriter-validation.xlsx",
    "xlsxwriter-conditional-formats.xlsx",
    "xlsxwriter-protected-sheet.xlsx",
    "xlsxwriter-hidden-sheets.xlsx",
    "xlsxwriter-merged-cells.xlsx",
    "xlsxwriter-rich-text.xlsx",
    "xlsxwriter-array-formulas.xlsx",
    "xlsxwriter-image.xlsx",
    "xlsxwriter-defined-names.xlsx",
    "xlsxwriter-macros.xlsm",
)


def libreoffice(out: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        profile = (Path(work) / "profile").as_uri()
        for source in LIBREOFFICE_FROM:
            stem, suffix = source.removeprefix("xlsxwriter-").rsplit(".", 1)
            target_filter = (
                "Calc MS Excel 2007 VBA XML" if suffix == "xlsm" else ("Calc MS Excel 2007 XML")
            )
            subprocess.run(
                [
                    "soffice",
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--convert-to",
                    f"{suffix}:{target_filter}",
                    "--outdir",
                    work,
                    str(out / source),
                ],
                check=True,
                capture_output=True,
            )
            shutil.move(Path(work) / source, out / f"libreoffice-{stem}.{suffix}")
        # The other xlsx filter LibreOffice offers ("Office Open XML Spreadsheet").
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "xlsx:Calc Office Open XML",
                "--outdir",
                work,
                str(out / "xlsxwriter-everything.xlsx"),
            ],
            check=True,
            capture_output=True,
        )
        shutil.move(
            Path(work) / "xlsxwriter-everything.xlsx", out / "libreoffice-office-open-xml.xlsx"
        )


def unreadable(out: Path) -> None:
    """What a practitioner may have that no program opens, and a password-protected file."""
    whole = (out / "xlsxwriter-everything.xlsx").read_bytes()
    (out / "broken-cut-off.xlsx").write_bytes(whole[: len(whole) // 2])
    (out / "broken-not-a-workbook.xlsx").write_text("Month,Sessions\nJan,31\n")
    source = zipfile.ZipFile(io.BytesIO((out / "xlsxwriter-numbers-only.xlsx").read_bytes()))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    (out / "broken-workbook-xml.xlsx").write_bytes(broken.getvalue())
    from msoffcrypto.format.ooxml import OOXMLFile

    with (out / "xlsxwriter-everything.xlsx").open("rb") as plain:
        encrypted = io.BytesIO()
        OOXMLFile(plain).encrypt("practice", encrypted)
    (out / "password-protected.xlsx").write_bytes(encrypted.getvalue())


VBA = Path("vbaProject.bin")


def main() -> None:
    global VBA
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--vba", type=Path)
    parser.add_argument("--only", help="make only this one file (by its name)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only:
        BUILDERS[args.only](args.out / args.only)
        return
    if args.vba is None:
        parser.error("--vba is needed to make every file")
    VBA = args.vba
    for name, build in BUILDERS.items():
        build(args.out / name)
    libreoffice(args.out)
    unreadable(args.out)


if __name__ == "__main__":
    main()
