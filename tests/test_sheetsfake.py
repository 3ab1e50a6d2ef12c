"""Tests of the fake Google Sheets API (tests/sheetsfake) with the real gspread client.

Most tests run twice: in-process through ``responses`` and over a loopback HTTP server.
Expected bodies marked "recorded" were copied from real Google responses recorded by
gspread's own test suite (burnash/gspread, tests/cassettes, MIT licence).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from gspread.exceptions import APIError, SpreadsheetNotFound

from tests.sheetsfake import FakeSheets, Fault, gspread_client
from tests.sheetsfake.a1 import A1Range, format_range, parse_range, quote_sheet_name

REPO_ROOT = Path(__file__).resolve().parents[1]
CACTUS = "🌵 test_values_batch_get 1"

# recorded: ClientTest.test_open_by_key_has_metadata
RECORDED_DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
RECORDED_SHEETS = [
    {
        "properties": {
            "sheetId": 0,
            "title": "Sheet1",
            "index": 0,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": 1000, "columnCount": 26},
        }
    }
]
# recorded: ClientTest.test_access_non_existing_spreadsheet / test_access_private_spreadsheet
RECORDED_404 = {
    "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
}
RECORDED_403 = {
    "error": {
        "code": 403,
        "message": "The caller does not have permission",
        "status": "PERMISSION_DENIED",
    }
}
# recorded: WorksheetTest.test_add_validation (a malformed values.update body)
RECORDED_400_LIST_VALUE = {
    "error": {
        "code": 400,
        "message": "Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue),"
        ' "X"',
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {
                        "field": "data.values",
                        "description": "Invalid value at 'data.values' "
                        '(type.googleapis.com/google.protobuf.ListValue), "X"',
                    }
                ],
            }
        ],
    }
}


@pytest.fixture
def fake() -> FakeSheets:
    return FakeSheets(seed=7)


@pytest.fixture(params=["in_process", "loopback"])
def gc(request: pytest.FixtureRequest, fake: FakeSheets) -> Iterator[gspread.Client]:
    """A real gspread client with anonymous credentials, wired to the fake either way."""
    if request.param == "in_process":
        with fake.mocked():
            yield gspread_client()
    else:
        with fake.serve() as server:
            yield gspread_client(server.url)


def recorded_sheet(fake: FakeSheets, title: str = "Test") -> str:
    """A spreadsheet like the ones gspread's recordings start from."""
    return fake.create_spreadsheet(title, locale="en_US", time_zone="Etc/GMT")


# --- metadata and reads ---------------------------------------------------------------------


def test_open_by_key_metadata_has_googles_shape(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = recorded_sheet(fake, "Test ClientTest test_open_by_key_has_metadata")
    sh = gc.open_by_key(sid)
    assert (sh.id, sh.title, sh.timezone, sh.locale) == (
        sid,
        "Test ClientTest test_open_by_key_has_metadata",
        "Etc/GMT",
        "en_US",
    )
    raw = sh.fetch_sheet_metadata()
    assert list(raw) == ["spreadsheetId", "properties", "sheets", "spreadsheetUrl"]
    assert raw["sheets"] == RECORDED_SHEETS
    assert raw["properties"]["defaultFormat"] == RECORDED_DEFAULT_FORMAT
    assert raw["properties"]["autoRecalc"] == "ON_CHANGE"
    assert raw["spreadsheetUrl"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]
    assert (sh.sheet1.row_count, sh.sheet1.col_count) == (1000, 26)


def test_fields_mask_selects_members(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Masked", {"Clients": [["a"]], "Log": []})
    sh = gc.open_by_key(sid)
    got = sh.fetch_sheet_metadata({"fields": "properties.title,sheets(properties(title,index))"})
    assert got == {
        "properties": {"title": "Masked"},
        "sheets": [
            {"properties": {"title": "Clients", "index": 0}},
            {"properties": {"title": "Log", "index": 1}},
        ],
    }
    with pytest.raises(APIError) as err:
        sh.fetch_sheet_metadata({"fields": "sheets.nonsense"})
    assert err.value.code == 400


def test_get_all_values_and_trimmed_blanks(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = recorded_sheet(fake)
    sh = gc.open_by_key(sid)
    # recorded: WorksheetTest.test_batch_update
    body = {
        "valueInputOption": "RAW",
        "data": [
            {"range": "'Sheet1'!A1:D1", "values": [["A1", "B1", "", "D1"]]},
            {"range": "'Sheet1'!A4:D4", "values": [["A4", "B4", "", "D4"]]},
        ],
    }
    assert sh.values_batch_update(body) == {
        "spreadsheetId": sid,
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 4,
        "totalUpdatedCells": 8,
        "totalUpdatedSheets": 1,
        "responses": [
            {
                "spreadsheetId": sid,
                "updatedRange": "Sheet1!A1:D1",
                "updatedRows": 1,
                "updatedColumns": 4,
                "updatedCells": 4,
            },
            {
                "spreadsheetId": sid,
                "updatedRange": "Sheet1!A4:D4",
                "updatedRows": 1,
                "updatedColumns": 4,
                "updatedCells": 4,
            },
        ],
    }
    assert sh.values_get("'Sheet1'!A1:D4") == {
        "range": "Sheet1!A1:D4",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]],
    }
    assert sh.sheet1.get_all_values() == [
        ["A1", "B1", "", "D1"],
        ["", "", "", ""],
        ["", "", "", ""],
        ["A4", "B4", "", "D4"],
    ]
    # recorded: WorksheetTest.test_update_cells (reading an empty range omits "values")
    assert sh.values_get("'Sheet1'!A5:A10") == {"range": "Sheet1!A5:A10", "majorDimension": "ROWS"}
    assert fake.values(sid, "Sheet1") == [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]]


def test_values_batch_get_quotes_and_clips_ranges(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = recorded_sheet(fake)
    sh = gc.open_by_key(sid)
    # recorded: SpreadsheetTest.test_values_batch_get
    reply = sh.batch_update(
        {
            "requests": [
                {
                    "addSheet": {
                        "properties": {
                            "title": CACTUS,
                            "sheetType": "GRID",
                            "gridProperties": {"rowCount": 10, "columnCount": 10},
                        }
                    }
                }
            ]
        }
    )
    props = reply["replies"][0]["addSheet"]["properties"]
    assert isinstance(props.pop("sheetId"), int)
    assert props == {
        "title": CACTUS,
        "index": 1,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 10, "columnCount": 10},
    }
    written = sh.values_update(
        f"{CACTUS}!A1",
        params={"valueInputOption": "RAW"},
        body={"values": [["🍇", "🍉", "🍋"], ["🍐", "🍎", "🍓"]]},
    )
    assert written == {
        "spreadsheetId": sid,
        "updatedRange": f"'{CACTUS}'!A1:C2",
        "updatedRows": 2,
        "updatedColumns": 3,
        "updatedCells": 6,
    }
    got = sh.values_batch_get(
        [f"{CACTUS}!A:A", f"{CACTUS}!B:B", f"{CACTUS}!C:C", f"'{CACTUS}'!E2:F"],
        params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"},
    )
    assert got == {
        "spreadsheetId": sid,
        "valueRanges": [
            {
                "range": f"'{CACTUS}'!A1:A10",
                "majorDimension": "ROWS",
                "values": [["🍇"], ["🍐"]],
            },
            {
                "range": f"'{CACTUS}'!B1:B10",
                "majorDimension": "ROWS",
                "values": [["🍉"], ["🍎"]],
            },
            {
                "range": f"'{CACTUS}'!C1:C10",
                "majorDimension": "ROWS",
                "values": [["🍋"], ["🍓"]],
            },
            {"range": f"'{CACTUS}'!E2:F10", "majorDimension": "ROWS"},
        ],
    }
    columns = sh.values_get(f"'{CACTUS}'!A1:C2", params={"majorDimension": "COLUMNS"})
    assert columns["values"] == [["🍇", "🍐"], ["🍉", "🍎"], ["🍋", "🍓"]]


def test_serial_dates_and_render_options(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = recorded_sheet(fake)
    sh = gc.open_by_key(sid)
    ws = sh.sheet1
    # recorded: WorksheetTest.test_get_all_values_date_time_render_options
    ws.resize(rows=2, cols=4)
    ws.update(
        [["=4/2", "2020-01-01", "string", 53], ["=3/2", 0.12, "1999-01-02", ""]],
        "A1:D2",
        value_input_option="USER_ENTERED",
    )
    expected = {
        ("UNFORMATTED_VALUE", "SERIAL_NUMBER"): [[2, 43831, "string", 53], [1.5, 0.12, 36162]],
        ("UNFORMATTED_VALUE", "FORMATTED_STRING"): [
            [2, "2020-01-01", "string", 53],
            [1.5, 0.12, "1999-01-02"],
        ],
        ("FORMATTED_VALUE", "SERIAL_NUMBER"): [
            ["2", "2020-01-01", "string", "53"],
            ["1.5", "0.12", "1999-01-02"],
        ],
    }
    for (value_render, date_render), values in expected.items():
        params = {"valueRenderOption": value_render, "dateTimeRenderOption": date_render}
        assert sh.values_get("'Sheet1'", params=params) == {
            "range": "Sheet1!A1:D2",
            "majorDimension": "ROWS",
            "values": values,
        }
    # Python dates given to the seed helpers are stored the same way.
    seeded = fake.create_spreadsheet("Seeded", {"Clients": [["Due"], [dt.date(2020, 1, 1)]]})
    got = gc.open_by_key(seeded).values_batch_get(
        ["Clients!A2", "Clients"],
        params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"},
    )
    assert got["valueRanges"][0] == {
        "range": "Clients!A2",
        "majorDimension": "ROWS",
        "values": [[43831]],
    }
    assert got["valueRanges"][1]["range"] == "Clients!A1:Z1000"
    cell = fake.cell(seeded, "Clients", "A2")
    assert (cell.value, cell.formatted, cell.number_format) == (
        43831,
        "2020-01-01",
        {"type": "DATE", "pattern": "yyyy-mm-dd"},
    )


def test_raw_formula_text_stays_a_string(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Links", {"Clients": [["Name", "Link"]]})
    ws = gc.open_by_key(sid).worksheet("Clients")
    formula = '=HYPERLINK("https://example.org/ann","Ann")'
    ws.update([[formula]], "B2", value_input_option="RAW")
    ws.update([[formula]], "B3", value_input_option="USER_ENTERED")
    raw_cell, entered_cell = fake.cell(sid, "Clients", "B2"), fake.cell(sid, "Clients", "B3")
    assert raw_cell.raw["userEnteredValue"] == {"stringValue": formula}
    assert (raw_cell.formula, raw_cell.formatted) == (None, formula)
    assert entered_cell.raw["userEnteredValue"] == {"formulaValue": formula}
    assert (entered_cell.formula, entered_cell.formatted) == (formula, "Ann")
    assert ws.get("B2:B3", value_render_option="FORMULA") == [[formula], [formula]]
    assert ws.get("B2:B3") == [[formula], ["Ann"]]


# --- writes, atomicity, validation ----------------------------------------------------------


def _set_a1(text: str) -> dict[str, Any]:
    return {
        "updateCells": {
            "rows": [{"values": [{"userEnteredValue": {"stringValue": text}}]}],
            "fields": "userEnteredValue",
            "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
        }
    }


@pytest.mark.parametrize(
    ("bad_request", "message"),
    [
        (
            {
                "updateCells": {
                    "rows": [{"values": [{"userEnteredValue": {"numberValue": 1}}]}],
                    "fields": "userEnteredValue",
                    "start": {"sheetId": 0, "rowIndex": 1000, "columnIndex": 0},
                }
            },
            "Invalid requests[1].updateCells: Range (Clients!A1001) exceeds grid limits. "
            "Max rows: 1000, max columns: 26",
        ),
        (
            {"repeatCell": {"range": {"sheetId": 99}, "cell": {}, "fields": "userEnteredFormat"}},
            "Invalid requests[1].repeatCell: No grid with id: 99",
        ),
        (
            {"addSheet": {"properties": {"title": "Clients"}}},
            'Invalid requests[1].addSheet: A sheet with the name "Clients" already exists. '
            "Please enter another name.",
        ),
    ],
)
def test_batch_update_is_all_or_nothing(
    fake: FakeSheets, gc: gspread.Client, bad_request: dict[str, Any], message: str
) -> None:
    sid = fake.create_spreadsheet("Atomic", {"Clients": [["Name"], ["Ann"]]})
    sh = gc.open_by_key(sid)
    before = fake.revision(sid)
    with pytest.raises(APIError) as err:
        sh.batch_update({"requests": [_set_a1("CHANGED"), bad_request]})
    assert err.value.code == 400
    assert err.value.response.json() == {
        "error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    }
    assert fake.values(sid, "Clients") == [["Name"], ["Ann"]]
    assert fake.revision(sid) == before
    reply = sh.batch_update(
        {
            "requests": [
                _set_a1("CHANGED"),
                {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 5}},
            ]
        }
    )
    assert reply == {"spreadsheetId": sid, "replies": [{}, {}]}
    assert fake.values(sid, "Clients") == [["CHANGED"], ["Ann"]]
    assert fake.sheet_properties(sid, "Clients")["gridProperties"]["rowCount"] == 1005


def test_discovery_validation_rejects_unknown_and_mistyped(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    sid = recorded_sheet(fake)
    sh = gc.open_by_key(sid)
    with pytest.raises(APIError) as err:
        sh.batch_update({"requests": [{"updateCells": {"foo": 1, "fields": "userEnteredValue"}}]})
    message = (
        "Invalid JSON payload received. Unknown name \"foo\" at 'requests[0].update_cells': "
        "Cannot find field."
    )
    assert err.value.response.json()["error"] == {
        "code": 400,
        "message": message,
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "requests[0].update_cells", "description": message}],
            }
        ],
    }
    with pytest.raises(APIError) as err:
        sh.values_update(
            "'Sheet1'!A1",
            params={"valueInputOption": "RAW"},
            body={"values": "X", "majorDimension": None},
        )
    assert err.value.response.json() == RECORDED_400_LIST_VALUE
    with pytest.raises(APIError) as err:
        sh.sheet1.get("A1", value_render_option="PRETTY")  # type: ignore[arg-type]
    assert err.value.error["message"] == (
        "Invalid value at 'value_render_option' "
        '(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), "PRETTY"'
    )
    with pytest.raises(APIError) as err:
        sh.values_get("Sheet1", params={"bogusParam": "1"})
    assert 'Unknown name "bogusParam": Cannot bind query parameter' in err.value.error["message"]
    with pytest.raises(APIError) as err:
        sh.batch_update(
            {
                "requests": [
                    {"sortRange": {"range": {"sheetId": 0}, "sortSpecs": [{"sortOrder": "UP"}]}}
                ]
            }
        )
    assert err.value.error["message"] == (
        "Invalid value at 'requests[0].sort_range.sort_specs[0].sort_order' "
        '(type.googleapis.com/google.apps.sheets.v4.SortOrder), "UP"'
    )
    assert fake.revision(sid) == 0


def test_values_writes_respect_the_grid(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Grid", {"Sheet1": [["x"]]})
    ws = gc.open_by_key(sid).sheet1
    with pytest.raises(APIError) as err:
        ws.update([["late"]], "A1001")
    assert err.value.error["message"] == (
        "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    with pytest.raises(APIError) as err:
        ws.update([["a", "b", "c"]], "Y1")
    assert err.value.error["message"] == (
        "Range (Sheet1!AA1) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    with pytest.raises(APIError) as err:
        ws.update([["a", "b", "c"]], "A1:B1")
    assert err.value.error["message"] == (
        "Requested writing within range [Sheet1!A1:B1], but tried writing to column [C]"
    )
    with pytest.raises(APIError) as err:
        ws.get("tab01!A1")
    assert err.value.error["message"] == "Unable to parse range: 'Sheet1'!tab01!A1"
    assert fake.values(sid, "Sheet1") == [["x"]]
    appended = ws.append_rows([["y"], ["z"]])
    assert appended["tableRange"] == "Sheet1!A1"
    assert appended["updates"]["updatedRange"] == "Sheet1!A2:A3"
    assert fake.values(sid, "Sheet1") == [["x"], ["y"], ["z"]]


def test_formats_validation_protection_and_freeze(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = recorded_sheet(fake)
    sh = gc.open_by_key(sid)
    ws = sh.sheet1
    # recorded: WorksheetTest.test_format
    ws.format(
        "A2:B2",
        {
            "backgroundColor": {"green": 1, "blue": 1},
            "horizontalAlignment": "CENTER",
            "textFormat": {"foregroundColor": {"red": 1, "green": 1}, "fontSize": 12, "bold": True},
        },
    )
    got = sh.fetch_sheet_metadata(
        {
            "includeGridData": "False",
            "ranges": "Sheet1!A2",
            "fields": "sheets.data.rowData.values.userEnteredFormat",
        }
    )
    assert got == {
        "sheets": [
            {
                "data": [
                    {
                        "rowData": [
                            {
                                "values": [
                                    {
                                        "userEnteredFormat": {
                                            "backgroundColor": {"green": 1, "blue": 1},
                                            "horizontalAlignment": "CENTER",
                                            "textFormat": {
                                                "foregroundColor": {"red": 1, "green": 1},
                                                "fontSize": 12,
                                                "bold": True,
                                                "foregroundColorStyle": {
                                                    "rgbColor": {"red": 1, "green": 1}
                                                },
                                            },
                                            "backgroundColorStyle": {
                                                "rgbColor": {"green": 1, "blue": 1}
                                            },
                                        }
                                    }
                                ]
                            }
                        ]
                    }
                ]
            }
        ]
    }
    assert fake.cell(sid, "Sheet1", "B2").background == {"green": 1, "blue": 1}
    # recorded: WorksheetTest.test_add_protected_range_warning
    reply = ws.add_protected_range("A1:B2", warning_only=True)
    protected = reply["replies"][0]["addProtectedRange"]["protectedRange"]
    assert isinstance(protected.pop("protectedRangeId"), int)
    assert protected == {
        "range": {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2},
        "warningOnly": True,
        "requestingUserCanEdit": True,
        "editors": {},
    }
    # recorded: WorksheetTest.test_freeze
    assert ws.freeze(rows=2) == {"spreadsheetId": sid, "replies": [{}]}
    assert fake.sheet_properties(sid, "Sheet1")["gridProperties"]["frozenRowCount"] == 2
    ws.add_validation("C1", gspread.utils.ValidationConditionType.one_of_list, ["y"], strict=True)
    assert fake.cell(sid, "Sheet1", "C1").data_validation == {
        "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "y"}]},
        "showCustomUi": False,
        "strict": True,
    }
    sh.batch_update(
        {
            "requests": [
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": 0,
                            "startRowIndex": 4,
                            "endRowIndex": 5,
                            "startColumnIndex": 1,
                            "endColumnIndex": 2,
                        },
                        "cell": {
                            "userEnteredFormat": {
                                "numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}
                            }
                        },
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            ]
        }
    )
    ws.update([[1234.5]], "B5")
    assert ws.get("B5") == [["1,234.50"]]
    # rows inserted above the protected range push it down, as in Sheets
    ws.insert_rows([["new"]], 1)
    assert fake.protected_ranges(sid, "Sheet1")[0]["range"]["startRowIndex"] == 1


def test_insert_delete_and_sort_requests(fake: FakeSheets, gc: gspread.Client) -> None:
    rows = [["Name", "Credits"], ["Cy", 1], ["Ann", 3], ["Bo", None], ["Di", 2]]
    sid = fake.create_spreadsheet("Ops", {"Clients": rows})
    sh = gc.open_by_key(sid)
    sort = {
        "sortRange": {
            "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 5},
            "sortSpecs": [{"dimensionIndex": 1, "sortOrder": "DESCENDING"}],
        }
    }
    insert = {
        "insertDimension": {
            "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2},
            "inheritFromBefore": True,
        }
    }
    delete = {
        "deleteDimension": {
            "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 5, "endIndex": 6}
        }
    }
    reply = sh.batch_update({"requests": [sort, insert, delete]})
    assert reply["replies"] == [{}, {}, {}]
    expected = [["Name", "Credits"], [], ["Ann", 3], ["Di", 2], ["Cy", 1]]
    assert fake.values(sid, "Clients") == expected
    assert fake.sheet_properties(sid, "Clients")["gridProperties"]["rowCount"] == 1000


# --- errors ---------------------------------------------------------------------------------


def test_not_found_and_permission_denied(fake: FakeSheets, gc: gspread.Client) -> None:
    with pytest.raises(SpreadsheetNotFound) as missing:
        gc.open_by_key("test")
    assert missing.value.__cause__.response.json() == RECORDED_404  # type: ignore[union-attr]
    sid = fake.create_spreadsheet("Private", private=True)
    with pytest.raises(PermissionError) as denied:
        gc.open_by_key(sid)
    assert denied.value.__cause__.response.json() == RECORDED_403  # type: ignore[union-attr]
    fake.set_private(sid, False)
    assert gc.open_by_key(sid).title == "Private"


# --- human edits and hooks ------------------------------------------------------------------


def test_human_edits_change_what_the_next_read_returns(
    fake: FakeSheets, gc: gspread.Client
) -> None:
    sid = fake.create_spreadsheet(
        "Humans", {"Clients": [["Name", "Credits"], ["Cy", 1], ["Ann", 3], ["Bo", 2]]}
    )
    ws = gc.open_by_key(sid).worksheet("Clients")
    assert ws.get_all_values() == [["Name", "Credits"], ["Cy", "1"], ["Ann", "3"], ["Bo", "2"]]
    fake.format_cells(sid, "Clients", "A2:B2", background={"red": 1})
    fake.insert_rows(sid, "Clients", before_row=3)
    assert ws.get_all_values() == [
        ["Name", "Credits"],
        ["Cy", "1"],
        ["", ""],
        ["Ann", "3"],
        ["Bo", "2"],
    ]
    assert fake.cell(sid, "Clients", "A3").background == {"red": 1}  # inherited from above
    fake.delete_rows(sid, "Clients", 2, n=2)
    assert ws.get_all_values() == [["Name", "Credits"], ["Ann", "3"], ["Bo", "2"]]
    fake.sort_rows(sid, "Clients", "B")
    assert ws.get_all_values() == [["Name", "Credits"], ["Bo", "2"], ["Ann", "3"]]
    fake.edit_cell(sid, "Clients", "B3", "=1+1")
    fake.edit_cell(sid, "Clients", "C2", "20/11/2026")
    assert ws.get_all_values() == [
        ["Name", "Credits", ""],
        ["Bo", "2", "20/11/2026"],
        ["Ann", "2", ""],
    ]
    assert fake.cell(sid, "Clients", "C2").value == 46346
    assert fake.revision(sid) == 6


def test_between_requests_hook_races_a_read_and_a_write(fake: FakeSheets) -> None:
    sid = fake.create_spreadsheet("Race", {"Clients": [["Name", "Credits"], ["Ann", 3], ["Bo", 2]]})
    with fake.mocked():
        ws = gspread_client().open_by_key(sid).worksheet("Clients")
        fake.reset_log()
        fake.between_requests(
            lambda f: f.insert_rows(sid, "Clients", before_row=2), kind="values.get"
        )
        rows = ws.get_all_values()
        ann_row = next(i for i, row in enumerate(rows, start=1) if row[0] == "Ann")
        ws.update([[2]], f"B{ann_row}")  # stale row number: the human moved Ann down
    assert [r.kind for r in fake.requests] == [
        "spreadsheets.values.get",
        "spreadsheets.values.update",
    ]
    assert fake.values(sid, "Clients") == [["Name", "Credits"], ["", 2], ["Ann", 3], ["Bo", 2]]
    # by index: after request 2 (0-based, as in fake.requests) and before request 3
    seen: list[int] = []
    fake.between_requests(lambda: seen.append(len(fake.requests)), after=2)
    with fake.mocked():
        client = gspread_client()
        for _ in range(3):
            client.http_client.values_get(sid, "Clients")
    assert seen == [3]


def test_request_log_counts_one_request_per_poll(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Poll", {"Clients": [["a"]], "Log": []})
    sh = gc.open_by_key(sid)
    fake.reset_log()
    for _ in range(3):
        sh.values_batch_get(["Clients", "Log"])
    assert [r.kind for r in fake.requests] == ["spreadsheets.values.batchGet"] * 3
    first = fake.requests[0]
    assert (first.index, first.method, first.status, first.body_size) == (0, "GET", 200, 0)
    assert first.query["ranges"] == ["Clients", "Log"]
    assert first.response_size > 50
    assert first.path == f"/v4/spreadsheets/{sid}/values:batchGet"


# --- faults ---------------------------------------------------------------------------------


def test_rate_limit_then_success(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Quota", {"Clients": [["a"]]})
    ws = gc.open_by_key(sid).worksheet("Clients")
    fake.faults.rate_limit(retry_after=7)
    with pytest.raises(APIError) as err:
        ws.get_all_values()
    assert err.value.code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert err.value.error["message"].startswith(
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute"
    )
    assert ws.get_all_values() == [["a"]]
    fake.faults.fail(503, times=2, kind="write")
    for _ in range(2):
        with pytest.raises(APIError) as err:
            ws.update([["b"]], "A1")
        assert err.value.error == {
            "code": 503,
            "message": "The service is currently unavailable.",
            "status": "UNAVAILABLE",
        }
    assert fake.values(sid, "Clients") == [["a"]]
    ws.update([["b"]], "A1")
    fake.faults.fail(500, applied=True)  # the write happens but its answer is an error
    with pytest.raises(APIError):
        ws.update([["c"]], "A1")
    assert fake.values(sid, "Clients") == [["c"]]
    assert [f.fault.status for f in fake.faults.injected] == [429, 503, 503, 500]


def test_dropped_connection_raises_connection_error(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Drop", {"Clients": [["a"]]})
    ws = gc.open_by_key(sid).worksheet("Clients")
    fake.faults.drop(kind="values.update", applied=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.update([["written anyway"]], "A1")
    assert fake.values(sid, "Clients") == [["written anyway"]]
    assert fake.requests[-1].status is None and fake.requests[-1].fault == "drop"
    assert ws.get_all_values() == [["written anyway"]]


def test_delay_trips_the_client_timeout(fake: FakeSheets, gc: gspread.Client) -> None:
    sid = fake.create_spreadsheet("Slow", {"Clients": [["a"]]})
    ws = gc.open_by_key(sid).worksheet("Clients")
    gc.set_timeout(0.3)
    fake.faults.delay(2.0)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        ws.get_all_values()
    assert 0.25 < time.monotonic() - started < 1.5  # gave up at the timeout, not the delay
    fake.faults.delay(0.05)
    assert ws.get_all_values() == [["a"]]


def test_seeded_random_faults_are_reproducible() -> None:
    def run(seed: int) -> list[int | None]:
        fake = FakeSheets()
        sid = fake.create_spreadsheet("Chaos", {"Clients": [["a"]]})
        fake.faults.random(seed=seed, probability=0.3, faults=[Fault.http(500), Fault.drop()])
        with fake.mocked():
            client = gspread_client()
            for _ in range(30):
                with contextlib.suppress(APIError, requests.exceptions.ConnectionError):
                    client.http_client.values_get(sid, "Clients")
        return [r.status for r in fake.requests]

    first = run(42)
    assert first == run(42)
    assert first != run(43)
    assert 500 in first and None in first and 200 in first


# --- other ways in --------------------------------------------------------------------------


def test_custom_base_url_and_auth() -> None:
    strict = FakeSheets(require_auth=True)
    sid = strict.create_spreadsheet("Auth")
    with strict.mocked(base_urls=("http://sheets.invalid",)):
        anonymous = requests.get(f"http://sheets.invalid/v4/spreadsheets/{sid}")
        token = requests.get(
            f"http://sheets.invalid/v4/spreadsheets/{sid}",
            headers={"Authorization": "Bearer t"},
        )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    assert token.json()["properties"]["title"] == "Auth"


def test_cli_server_subprocess(tmp_path: Path) -> None:
    seed = {
        "spreadsheets": [
            {
                "id": "sheet-under-test",
                "title": "Credits",
                "sheets": {"Clients": [["Name", "Credits"], ["Ann", 3]]},
            }
        ]
    }
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sheetsfake", "--port", "0", "--seed", str(seed_file)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        ws = gspread_client(url).open_by_key("sheet-under-test").worksheet("Clients")
        assert ws.get_all_values() == [["Name", "Credits"], ["Ann", "3"]]
        ws.update([[4]], "B2")
        state = requests.get(f"{url}/_fake/spreadsheets/sheet-under-test", timeout=5).json()
        assert state["sheets"] == {"Clients": [["Name", "Credits"], ["Ann", 4]]}
        log = requests.get(f"{url}/_fake/requests", timeout=5).json()
        assert [r["kind"] for r in log][-1] == "spreadsheets.values.update"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a1_notation() -> None:
    assert parse_range("'My ''Tab'''!A2:C") == A1Range("My 'Tab'", 1, 0, None, 3)
    assert parse_range("Clients") == A1Range("Clients")
    assert parse_range("B3") == A1Range(None, 2, 1, 3, 2)
    assert parse_range("Log!2:4") == A1Range("Log", 1, None, 4, None)
    assert [quote_sheet_name(n) for n in ("Sheet1", "My Tab", "tab01", "Solar")] == [
        "Sheet1",
        "'My Tab'",
        "'tab01'",
        "Solar",
    ]
    assert format_range("My Tab", 0, 0, 1000, 26) == "'My Tab'!A1:Z1000"
