"""The structural checker itself: silent on sound files, and each fault it looks for found.

Every case takes one sound workbook of the corpus (saved by XlsxWriter: a data
sheet with a formula, merged cells, a chart, a picture, a comment, a table on a
second sheet) and breaks one thing in it by hand, as a careless writer would.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.xlsxcheck import check

CORPUS = Path(__file__).parent / "corpus"
SOUND = (CORPUS / "xlsxwriter-everything.xlsx").read_bytes()
SHEET = "xl/worksheets/sheet1.xml"


def edited(data: bytes, changes: dict[str, Callable[[bytes], bytes | None]]) -> bytes:
    """``data`` with each named part changed (None drops the part; a new name adds it)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = [i.filename for i in source.infolist()]
        for name in [*names, *(n for n in changes if n not in names)]:
            part = source.read(name) if name in names else b""
            if name in changes:
                changed = changes[name](part)
                if changed is None:
                    continue
                part = changed
            target.writestr(name, part)
    return out.getvalue()


def sub(pattern: str, replacement: str, count: int = 1) -> Callable[[bytes], bytes]:
    def change(part: bytes) -> bytes:
        result, n = re.subn(pattern.encode(), replacement.encode(), part, count=count)
        assert n, f"{pattern!r} is not in the part"
        return result

    return change


CAREFUL = sorted(p for p in CORPUS.iterdir() if p.name.startswith(("xlsxwriter", "libreoffice")))


@pytest.mark.parametrize("path", CAREFUL, ids=[p.name for p in CAREFUL])
def test_the_files_of_careful_writers_have_no_problems(path: Path) -> None:
    assert check(path.read_bytes()) == []


CALC_CHAIN_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"


def with_calc_chain(cell: str) -> dict[str, Callable[[bytes], bytes | None]]:
    return {
        "xl/calcChain.xml": lambda _: (
            '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<c r="{cell}" i="1"/></calcChain>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": sub(
            "</Relationships>",
            f'<Relationship Id="rId99" Type="{CALC_CHAIN_TYPE}" Target="calcChain.xml"/>'
            "</Relationships>",
        ),
        "[Content_Types].xml": sub(
            "</Types>",
            '<Override PartName="/xl/calcChain.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
        ),
    }


BROKEN: dict[str, tuple[dict[str, Callable[[bytes], bytes | None]], str]] = {
    "rows out of order": (
        {SHEET: sub(r'<row r="3"', '<row r="1"')},
        "row 1 comes after row 2 (rows must ascend, once each)",
    ),
    "a row twice": (
        {SHEET: sub(r'<row r="5"', '<row r="4"')},
        "row 4 comes after row 4",
    ),
    "a cell twice": (
        {SHEET: sub(r'<c r="B2"><v>31</v></c>', '<c r="B2"><v>31</v></c><c r="B2"><v>1</v></c>')},
        "cell B2 comes after column 2 (cells must be in column order, once each)",
    ),
    "cells out of column order": (
        {SHEET: sub(r'<c r="B2">', '<c r="Z2">')},
        "cell C2 comes after column 26",
    ),
    "a cell in the wrong row": (
        {SHEET: sub(r'<c r="B2">', '<c r="B9">')},
        "cell B9 is inside row 2",
    ),
    "worksheet children out of schema order": (
        {
            SHEET: lambda p: re.sub(
                rb"(<mergeCells.*?</mergeCells>)(<conditionalFormatting.*?"
                rb"</conditionalFormatting>)",
                rb"\2\1",
                p,
            )
        },
        "<mergeCells> comes after <conditionalFormatting>, out of schema order",
    ),
    "an element that is not a worksheet's": (
        {SHEET: sub("<pageMargins", "<pageMargin/><pageMargins")},
        "<pageMargin> is not a worksheet element",
    ),
    "a worksheet element twice": (
        {SHEET: sub("<dataValidations", '<dataValidations count="0"/><dataValidations')},
        "<dataValidations> appears 2 times",
    ),
    "a relationship target missing": (
        {"xl/charts/chart1.xml": lambda _: None},
        "points at xl/charts/chart1.xml, which is missing",
    ),
    "a relationship the sheet does not have": (
        {SHEET: sub('<drawing r:id="rId1"/>', '<drawing r:id="rId7"/>')},
        "<drawing> refers to relationship rId7, which the sheet does not have",
    ),
    "a part with no content type": (
        {"xl/notes.txt": lambda _: b"hello"},
        "xl/notes.txt: no content type",
    ),
    "a content type for a part that is gone": (
        {"xl/comments1.xml": lambda _: None},
        "[Content_Types].xml: a content type for xl/comments1.xml, which is missing",
    ),
    "a style count that is wrong": (
        {"xl/styles.xml": sub(r'<cellXfs count="(\d+)"', '<cellXfs count="99"')},
        "xl/styles.xml: the count of <cellXfs> is not its size",
    ),
    "a font count that is wrong": (
        {"xl/styles.xml": sub(r'<fonts count="3"', '<fonts count="2"')},
        "xl/styles.xml: the count of <fonts> is not its size",
    ),
    "a style index out of range": (
        {SHEET: sub(r'<c r="C2" s="2">', '<c r="C2" s="40">')},
        "cell C2 has style s=40, which is not one of the cellXfs",
    ),
    "a style that names a missing font": (
        {
            "xl/styles.xml": lambda p: re.sub(
                rb'(<cellXfs.*?<xf[^>]*?)fontId="\d+"', rb'\1fontId="9"', p, count=1, flags=re.S
            )
        },
        "has fontId=9, which is not one of the fonts",
    ),
    "a number format that is not defined": (
        {"xl/styles.xml": sub('<numFmt numFmtId="165"', '<numFmt numFmtId="166"')},
        "uses number format 165, which is neither built in nor defined",
    ),
    "a shared string index out of range": (
        {SHEET: sub(r'<c r="A2" t="s"><v>4</v>', '<c r="A2" t="s"><v>400</v>')},
        "cell A2 refers to shared string 400, which is not in the table",
    ),
    "a shared-strings uniqueCount that is wrong": (
        {"xl/sharedStrings.xml": sub(r'uniqueCount="\d+"', 'uniqueCount="3"')},
        "xl/sharedStrings.xml: uniqueCount is not the number of strings",
    ),
    "a shared-strings count that is wrong": (
        {"xl/sharedStrings.xml": sub(r' count="\d+"', ' count="1"')},
        "xl/sharedStrings.xml: count is not the number of cells that use it",
    ),
    "a table narrower than its columns": (
        {"xl/tables/table1.xml": sub('ref="A1:B4"', 'ref="A1:C4"')},
        "ref A1:C4 is 3 columns wide but the table has 2 columns",
    ),
    "a table header that is not its column's name": (
        {"xl/tables/table1.xml": sub('name="Count"', 'name="Quantity"')},
        "column 'Quantity' has the header 'Count' in the sheet",
    ),
    "overlapping merged ranges": (
        {
            SHEET: sub(
                '<mergeCell ref="A8:D8"/>', '<mergeCell ref="A8:D8"/><mergeCell ref="C7:C9"/>'
            )
        },
        "merged ranges A8:D8 and C7:C9 overlap",
    ),
    "overlapping column ranges": (
        {SHEET: sub('<col min="4" max="4"', '<col min="1" max="4"')},
        "<col min=1 max=4> overlaps or precedes column 1",
    ),
    "a calc-chain entry for a cell with no formula": (
        with_calc_chain("A2"),
        "xl/calcChain.xml: sheet 1 cell A2 is in the calculation chain but holds no formula",
    ),
    "XML that is not well-formed": (
        {"xl/comments1.xml": lambda p: p[:-20]},
        "xl/comments1.xml: not well-formed XML",
    ),
    "two sheets of one name": (
        {"xl/workbook.xml": sub('name="Stock"', 'name="data"')},
        "2 sheets are named 'data'",
    ),
    "a defined name twice": (
        {"xl/workbook.xml": sub(r"(<definedName [^>]*>[^<]*</definedName>)", r"\1\1")},
        "defined name",
    ),
}


@pytest.mark.parametrize("fault", list(BROKEN))
def test_each_fault_is_found(fault: str) -> None:
    changes, expected = BROKEN[fault]
    problems = check(edited(SOUND, changes))
    assert any(expected in problem for problem in problems), problems


def test_a_calc_chain_entry_for_a_formula_is_sound() -> None:
    assert check(edited(SOUND, with_calc_chain("B6"))) == []


def test_a_rewritten_but_unchanged_package_is_sound() -> None:
    assert check(edited(SOUND, {})) == []


def test_what_is_not_a_package_is_said_so() -> None:
    assert check(b"Month,Sessions\n") == ["not a zip package"]
    assert check((CORPUS / "password-protected.xlsx").read_bytes()) == ["not a zip package"]


def test_a_count_that_was_already_wrong_is_the_same_problem_after_a_write() -> None:
    # Problems are compared as sets before and after a write: the message must not
    # depend on how many entries there are.
    wrong = edited(SOUND, {"xl/styles.xml": sub(r'<fonts count="3"', '<fonts count="7"')})
    grown = edited(wrong, {"xl/styles.xml": sub("</fonts>", "<font><b/></font></fonts>")})
    assert set(check(grown)) == set(check(wrong)) != set()
