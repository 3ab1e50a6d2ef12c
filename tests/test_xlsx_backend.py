"""The xlsx backend on real files: what it keeps, when it refuses to write."""

from __future__ import annotations

import os
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

from sync.backends.xlsx import XlsxBackend, lock_files
from sync.config import Config
from sync.cycle import run_cycle

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})


def practice(path: Path) -> None:
    """A workbook a practitioner might really keep: styled, with extras of their own."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Clients"
    ws.append(["Client", "Email", "Phone", "Billing", "Credits left"])
    ws.append(["Ann Lee", "ann@example.com", "+44 7700 900123", "Package", 17])
    ws.append(["Bob Stone", None, '="+44 "&"7700 900456"', "Per-session", None])
    ws["A1"].font = Font(bold=True, color="FF1F4E79")
    ws["C2"].number_format = "@"
    ws["C2"].alignment = Alignment(horizontal="right")
    ws["A2"].comment = Comment("Met at the spring workshop", "Practitioner")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["C"].width = 19
    dv = DataValidation(type="list", formula1='"Package,Per-session,Monthly,None"')
    dv.add("D2:D500")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add(
        "E2:E500",
        CellIsRule(operator="lessThan", formula=["1"], fill=PatternFill("solid", "FFFF0000")),
    )
    packages = wb.create_sheet("Packages")
    packages.append(["Package ID", "Client", "Sessions", "Price", "Purchased", "Paid by", "Total"])
    packages.append(["P-0001", "Ann Lee", 5, 250, date(2026, 10, 1), "card", "=D2*1.2"])
    packages.append([None, "Ann Lee", 3, "£120", date(2026, 11, 1), "cash", "=D3*1.2"])
    packages["E2"].number_format = "dd/mm/yyyy"
    packages["F2"].fill = PatternFill("solid", fgColor="FFDDEBF7")
    packages["F2"].border = Border(left=Side(style="thin"), bottom=Side(style="double"))
    sessions = wb.create_sheet("Sessions")
    sessions.append(["Date", "Client", "Package ID", "Outcome", "Notes", "Room"])
    sessions.append([date(2026, 11, 2), "Ann Lee", None, None, "knee", "A"])
    sessions.append([date(2026, 11, 9), "ann lee", "P-0001", "No-show", None, "B"])
    sessions.freeze_panes = "A2"
    extra = wb.create_sheet("Expenses")
    extra.append(["Item", "Cost"])
    extra.append(["Mats", 80])
    extra.append(["Total", "=SUM(B2:B2)"])
    extra["D1"] = "a merged note"
    extra.merge_cells("D1:E2")
    wb.defined_names["ExpenseTotal"] = openpyxl.workbook.defined_name.DefinedName(
        "ExpenseTotal", attr_text="Expenses!$B$3"
    )
    wb.save(path)


COMPUTED = {"Credits left", "Sync note", "Used", "Remaining", "Status", "Progress"}


def cell_facts(path: Path) -> dict[tuple[str, str], tuple[object, ...]]:
    """Every cell's value and style, except the computed columns and filled blanks."""
    wb = openpyxl.load_workbook(path)
    facts = {}
    for ws in wb.worksheets:
        header = {c.column: c.value for c in ws[1]}
        for row in ws.iter_rows():
            for c in row:
                if header.get(c.column) in COMPUTED and c.row > 1:
                    continue
                facts[(ws.title, c.coordinate)] = (
                    c.value,
                    c.data_type,
                    c.number_format,
                    repr(c.font),
                    repr(c.fill),
                    repr(c.border),
                    repr(c.alignment),
                    c.comment.text if c.comment else None,
                )
    return facts


def sheet_facts(path: Path) -> dict[str, object]:
    """Per tab: widths (of the columns that were there), validations, formats, merges."""
    wb = openpyxl.load_workbook(path)
    return {
        ws.title: (
            {k: v.width for k, v in ws.column_dimensions.items() if v.customWidth},
            [(str(d.sqref), d.formula1) for d in ws.data_validations.dataValidation],
            [str(r.sqref) for r in ws.conditional_formatting],
            [str(m) for m in ws.merged_cells.ranges],
            ws.freeze_panes,
        )
        for ws in wb.worksheets
    } | {"names": sorted(wb.defined_names)}


def sync(path: Path) -> object:
    return run_cycle(CONFIG, XlsxBackend(path), now=NOW)


def test_a_sync_keeps_every_cell_style_width_formula_comment_and_validation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    cells, sheets = cell_facts(path), sheet_facts(path)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    after = cell_facts(path)
    # The only input cells that change are the blanks the contract lets the sync fill.
    changed = {k for k in cells if cells[k] != after.get(k)}
    assert changed == {("Packages", "A3"), ("Sessions", "C2")}
    assert after[("Packages", "A3")][0] == "P-0002"
    assert after[("Sessions", "C2")][0] == "P-0001"
    after_sheets = sheet_facts(path)
    assert set(after_sheets) == set(sheets) | {"Dashboard"}
    for tab, facts in sheets.items():
        if tab == "names":
            assert after_sheets[tab] == facts
            continue
        widths, *rest = facts  # type: ignore[misc]
        after_widths, *after_rest = after_sheets[tab]  # type: ignore[misc]
        assert after_rest == rest
        assert {k: after_widths[k] for k in widths} == widths  # existing widths kept
        assert all(w == 14 for k, w in after_widths.items() if k not in widths)  # new columns
    wb = openpyxl.load_workbook(path)
    assert wb["Packages"]["G2"].value == "=D2*1.2"
    assert wb["Clients"]["E2"].value == 6  # the stale 17 is corrected: 3 + 3 left
    assert wb.sheetnames == ["Clients", "Packages", "Sessions", "Expenses", "Dashboard"]


def test_a_sync_that_changes_nothing_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    report = sync(path)
    assert not report.plan  # type: ignore[attr-defined]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("lock", ["~$practice.xlsx", ".~lock.practice.xlsx#", "~$actice.xlsx"])
def test_a_workbook_open_in_a_spreadsheet_program_is_not_written(tmp_path: Path, lock: str) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    (tmp_path / lock).write_text("owner")
    before = path.read_bytes()
    report = sync(path)
    assert not report.outcome.written  # type: ignore[attr-defined]
    assert lock in report.outcome.reason  # type: ignore[attr-defined]
    assert "is open in a spreadsheet program" in report.outcome.reason  # type: ignore[attr-defined]
    assert path.read_bytes() == before
    assert lock_files(path)


def test_a_file_changed_between_read_and_write_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    backend = XlsxBackend(path)
    snapshot = backend.read()
    from rules.engine import compute
    from sync.diff import plan

    result = compute(
        snapshot.tables, today=NOW.date(), settings=CONFIG.settings(numbers_are_dates=False)
    )
    wb = openpyxl.load_workbook(path)
    wb["Clients"]["B3"] = "bob@example.com"  # the practitioner saves an edit meanwhile
    wb.save(path)
    edited = path.read_bytes()
    outcome = backend.write(snapshot, plan(snapshot, result))
    assert not outcome.written
    assert "changed on disk since it was read" in (outcome.reason or "")
    assert path.read_bytes() == edited
    assert sync(path).outcome.written  # type: ignore[attr-defined]
    assert openpyxl.load_workbook(path)["Clients"]["B3"].value == "bob@example.com"


def test_a_workbook_with_a_chart_is_written_and_keeps_the_chart(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Expenses"]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=2), titles_from_data=True)
    ws.add_chart(chart, "D2")
    wb.save(path)
    before = zipfile.ZipFile(path)
    charts = {n: before.read(n) for n in before.namelist() if "chart" in n or "drawing" in n}
    assert any(n.startswith("xl/charts/") for n in charts)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    after = zipfile.ZipFile(path)
    assert {n: after.read(n) for n in charts} == charts


def test_a_formula_in_a_blank_looking_input_cell_is_never_overwritten(tmp_path: Path) -> None:
    # openpyxl-written formulas carry no cached value, so the read sees a blank.
    path = tmp_path / "practice.xlsx"
    practice(path)
    wb = openpyxl.load_workbook(path)
    wb["Packages"]["A3"] = '=CONCAT("P-","0009")'
    wb.save(path)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    assert report.outcome.rows_skipped == 1  # type: ignore[attr-defined]
    assert openpyxl.load_workbook(path)["Packages"]["A3"].value == '=CONCAT("P-","0009")'


def test_sessions_are_not_given_the_id_of_a_package_whose_id_cell_holds_a_formula(
    tmp_path: Path,
) -> None:
    # The package's ID cell reads blank (a formula with no cached value), so the sync
    # numbers it and picks it for the session; the ID is not written over the formula,
    # and so the session is not given it either: it would name an ID that no row has.
    path = tmp_path / "practice.xlsx"
    wb = openpyxl.Workbook()
    clients = wb.active
    assert clients is not None
    clients.title = "Clients"
    clients.append(["Client"])
    clients.append(["Ann Lee"])
    packages = wb.create_sheet("Packages")
    packages.append(["Package ID", "Client", "Sessions", "Purchased"])
    packages.append(['=CONCAT("P-","0009")', "Ann Lee", 5, date(2026, 11, 1)])
    sessions = wb.create_sheet("Sessions")
    sessions.append(["Date", "Client", "Package ID"])
    sessions.append([date(2026, 11, 2), "Ann Lee", None])
    wb.save(path)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    assert report.outcome.rows_skipped == 2  # type: ignore[attr-defined]
    after = openpyxl.load_workbook(path)
    assert after["Packages"]["A2"].value == '=CONCAT("P-","0009")'
    assert after["Sessions"]["C2"].value is None


def test_the_save_is_atomic_and_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    os.chmod(path, 0o640)
    sync(path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["practice.xlsx"]


def test_a_missing_workbook_says_how_to_create_one(tmp_path: Path) -> None:
    from sync.backends.base import WorkbookUnavailable

    with pytest.raises(WorkbookUnavailable, match="run `creditsheet init`"):
        XlsxBackend(tmp_path / "nope.xlsx").read()


def test_a_file_that_is_not_a_workbook_is_refused_plainly(tmp_path: Path) -> None:
    from sync.backends.base import WorkbookUnavailable

    path = tmp_path / "practice.xlsx"
    path.write_text("name,credits\nAnn,3\n")
    with pytest.raises(WorkbookUnavailable, match="is not a workbook"):
        XlsxBackend(path).read()


def test_a_new_column_that_would_land_in_merged_header_cells_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    wb = openpyxl.load_workbook(path)
    wb["Packages"]["H1"] = "Paid on"
    wb["Packages"].merge_cells("H1:J1")
    wb.save(path)
    before = path.read_bytes()
    report = sync(path)
    assert not report.outcome.written  # type: ignore[attr-defined]
    assert report.outcome.reason == (  # type: ignore[attr-defined]
        "Packages: the 'Used' column would go in I1, which is part of the merged cells H1:J1: "
        "nothing was written; unmerge them, or type 'Used' as a header in an empty column yourself"
    )
    assert path.read_bytes() == before


def test_a_computed_cell_inside_merged_cells_is_refused_not_skipped_forever(
    tmp_path: Path,
) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    wb = openpyxl.load_workbook(path)
    wb["Packages"]["I3"] = 99  # a stale Remaining, then merged over by hand
    wb["Packages"].merge_cells("H3:I3")
    wb.save(path)
    report = sync(path)
    assert not report.outcome.written  # type: ignore[attr-defined]
    assert report.outcome.reason == (  # type: ignore[attr-defined]
        "Packages: 'Remaining' would go in I3, which is part of the merged cells H3:I3: "
        "nothing was written; unmerge them"
    )


def test_colors_changed_by_hand_are_repaired_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "practice.xlsx"
    practice(path)
    sync(path)
    wb = openpyxl.load_workbook(path)
    status = next(c.column for c in wb["Packages"][1] if c.value == "Status")
    wb["Packages"].cell(2, status).fill = PatternFill("solid", fgColor="FF0000FF")
    wb["Clients"]["B3"] = "bob@example.com"  # any edit, so the next sync writes
    wb["Sessions"].append([date(2026, 11, 19), "Ann Lee"])
    wb.save(path)
    report = sync(path)
    assert report.outcome.written  # type: ignore[attr-defined]
    cell = openpyxl.load_workbook(path)["Packages"].cell(2, status)
    colors = {"Active": "FFB7E1CD", "Low": "FFFCE8B2", "Exhausted": "FFF4C7C3"}
    assert cell.fill.fgColor.rgb == colors[cell.value]  # the status's color, not the blue
