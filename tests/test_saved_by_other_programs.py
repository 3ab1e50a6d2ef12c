"""Workbooks saved by spreadsheet programs rather than by openpyxl.

``fixtures/libreoffice-demo.xlsx`` is the ``init --demo`` workbook of
2026-11-22, with Maya Patel's ``Expires`` typed as the formula ``=G2+90``,
opened and saved by LibreOffice Calc 7.4 (shared strings, LibreOffice's own
styles, the formula's value cached by LibreOffice).
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl

from sync.backends.xlsx import XlsxBackend
from sync.config import Config
from sync.cycle import run_cycle

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})


def sync(path: Path) -> object:
    return run_cycle(CONFIG, XlsxBackend(path), now=NOW)


def test_a_libreoffice_saved_workbook_syncs_like_the_demo(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    shutil.copy(FIXTURES / "libreoffice-demo.xlsx", path)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    assert report.packages_by_status() == {  # type: ignore[attr-defined]
        "Invalid": 0,
        "Expired": 1,
        "Exhausted": 1,
        "Low": 2,
        "Active": 2,
    }
    assert report.sessions_by_status() == {  # type: ignore[attr-defined]
        "Deducted": 23,
        "Not deducted": 3,
        "Rejected": 1,
        "Invalid": 1,
    }
    wb = openpyxl.load_workbook(path)
    packages = wb["Packages"]
    # The formula survives, and its cached value was what the sync read.
    assert packages["H2"].value == "=G2+90"
    assert [c.value for c in packages[2]][10:14] == [3, 2, "Low", "▰▰▱▱▱ 2/5"]
    assert wb["Sessions"].data_validations.dataValidation  # dropdowns kept
    assert not sync(path).plan  # type: ignore[attr-defined]


def test_an_excel_extension_is_kept_by_the_write(tmp_path: Path) -> None:
    # Excel writes dropdowns that list another tab's cells as an x14 extension.
    path = tmp_path / "practice.xlsx"
    shutil.copy(FIXTURES / "libreoffice-demo.xlsx", path)
    ext = (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations count="1" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        '<x14:dataValidation type="list" allowBlank="1"><x14:formula1>'
        "<xm:f>Clients!$A$2:$A$50</xm:f></x14:formula1><xm:sqref>B2:B500</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext></extLst>"
    )
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet3.xml":
                data = re.sub(rb"</worksheet>\s*$", ext.encode() + b"</worksheet>", data)
            target.writestr(item, data)
    path.write_bytes(out.getvalue())
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet3.xml")
    assert sheet.endswith(ext.encode() + b"</worksheet>")  # the extension, byte for byte
    assert report.result.packages  # type: ignore[attr-defined]
    assert date(2027, 1, 11) in {r.package.expires for r in report.result.packages}  # type: ignore[attr-defined]
