"""The Google Sheets backend against the Sheets API fake, in-process.

What the contract suite does not pin down: how many requests a cycle makes
(at 4 rows, 1,000 and 50,000), how cells are typed, what happens when a person
inserts, deletes or sorts rows while a cycle runs, renamed and added tabs,
splitting big writes, and ``init``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from rules.model import Value
from rules.schema import TABS, CellKind
from rules.tabs import column_letter
from sync import bootstrap
from sync.backends.base import CellChange, Layout, Snapshot, WorkbookUnavailable
from sync.backends.google import (
    CELL_BITS,
    GoogleBackend,
    batches,
    blocks,
    cell_json,
    encode_body,
    encoded_blocks,
)
from sync.backends.google.client import RetryPolicy
from sync.cycle import Cycle, run_cycle

# The contract suite's sample practice, so both backends are tried on the same rows.
from tests.contract.test_contract import CLIENTS, CONFIG, NOW, PACKAGES, SESSIONS
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets

TEMPLATES = [["Template", "Sessions", "Price", "Expiry days"], ["Ten", 10, 500, 90]]
TABS_OF_PRACTICE = ("Clients", "Packages", "Sessions", "Templates", "Dashboard")


def change_cell(change: CellChange) -> tuple[dict[str, Any], str]:
    """One planned change as (CellData, fields mask): ``cell_json``'s text, parsed."""
    data, fields = cell_json(change)
    parsed: dict[str, Any] = json.loads(data)
    return parsed, fields


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    made = FakeSheets(seed=3)
    with made.mocked():
        yield made


def practice(fake: FakeSheets, **tabs: list[list[Any]]) -> str:
    sheets = {"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS}
    sheets.update({"Templates": TEMPLATES, **tabs})
    rows = {k: [list(r) for r in v] for k, v in sheets.items()}
    return fake.create_spreadsheet("Practice", rows, row_count=60, column_count=12)


def backend(sid: str, **kwargs: Any) -> GoogleBackend:
    options: dict[str, Any] = {"policy": RetryPolicy(attempts=3, total_seconds=5)}
    options.update(kwargs)
    return GoogleBackend(sid, endpoint=GOOGLE_BASE_URL, sleep=lambda s: None, **options)


def cycle(b: GoogleBackend) -> Cycle:
    return run_cycle(CONFIG, b, now=NOW)


def counted(fake: FakeSheets, b: GoogleBackend) -> tuple[Cycle, list[str]]:
    """A cycle, and the kinds of the requests it made."""
    fake.reset_log()
    report = cycle(b)
    return report, [str(r.kind).rsplit(".", 1)[-1] for r in fake.requests]


def column(fake: FakeSheets, sid: str, tab: str, name: str) -> list[object]:
    rows = fake.values(sid, tab)
    at = rows[0].index(name)
    return [row[at] if at < len(row) else "" for row in rows[1:]]


def state(fake: FakeSheets, sid: str) -> dict[str, list[list[tuple[object, object]]]]:
    """Every tab of the practice as (value, background) per cell."""
    out = {}
    present = {s["properties"]["title"] for s in fake.metadata(sid)["sheets"]}
    for tab in TABS_OF_PRACTICE:
        if tab not in present:
            continue
        rows = fake.values(sid, tab)
        out[tab] = [
            [
                (value, fake.cell(sid, tab, f"{column_letter(c)}{r + 1}").background)
                for c, value in enumerate(row)
            ]
            for r, row in enumerate(rows)
        ]
    return out


# --- requests per cycle --------------------------------------------------------------


def test_an_idle_cycle_makes_one_request_and_a_busy_one_at_most_three(fake: FakeSheets) -> None:
    sid = practice(fake)
    b = backend(sid)
    first, kinds = counted(fake, b)
    assert first.outcome.written
    assert kinds == ["get", "batchGet", "batchGet", "batchUpdate"]  # metadata, read, verify, write
    assert counted(fake, b)[1] == ["batchGet"]
    assert counted(fake, b)[1] == ["batchGet"]
    fake.edit_cell(sid, "Sessions", "D3", "Cancelled")
    busy, kinds = counted(fake, b)
    assert busy.outcome.written and kinds == ["batchGet", "batchGet", "batchUpdate"]
    assert column(fake, sid, "Sessions", "Status")[1] == "Not deducted"
    assert counted(fake, b)[1] == ["batchGet"]


def test_the_read_asks_for_every_tab_unformatted_with_serial_dates(fake: FakeSheets) -> None:
    sid = practice(fake, Notes=[["anything"]])
    snapshot = backend(sid).read()
    read = fake.requests_of("values.batchGet")[0]
    assert read.query["ranges"] == [
        "'Clients'",
        "'Packages'",
        "'Sessions'",
        "'Templates'",
        "'Notes'",
    ]
    assert read.query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert read.query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    assert read.query["majorDimension"] == ["ROWS"]
    assert snapshot.numbers_are_dates and snapshot.colors == {} and snapshot.timezone
    assert snapshot.tables["Packages"].rows[0] == [None, "Ann Lee", "5-Session Pack", 5, 46296]


def synced_rows(clients: int, per_client: int) -> dict[str, list[list[Any]]]:
    """A practice of ``clients`` package clients with ``per_client`` sessions each, as the
    values API returns it (dates as serial numbers), every other Package ID blank."""
    serial = (date(2026, 1, 2) - date(1899, 12, 30)).days
    return {
        "Clients": [["Client", "Email", "Billing"]]
        + [[f"Client {i}", "", "Package"] for i in range(clients)],
        "Packages": [["Package ID", "Client", "Package", "Sessions", "Purchased", "Expires"]]
        + [[f"P-{i + 1:04d}", f"Client {i}", "Pack", 10 * per_client, serial - 1, ""]
           for i in range(clients)],
        "Sessions": [["Date", "Client", "Package ID", "Outcome"]]
        + [
            [serial + k % 300, f"Client {k % clients}", f"P-{k % clients + 1:04d}" if k % 2 else "",
             "Attended"]
            for k in range(clients * per_client)
        ],
        "Templates": [["Template", "Sessions"]],
    }  # fmt: skip


def build_synced(fake: FakeSheets, rows: dict[str, list[list[Any]]]) -> str:
    """A spreadsheet already showing what a sync writes, built straight into the fake's state
    (no API round trips): inputs as typed cells, then the planned cells as the backend
    types them, then the Dashboard."""
    from rules.model import Table
    from sync.diff import plan as make_plan

    sid = fake.create_spreadsheet("Big", {tab: [r[0]] for tab, r in rows.items()})
    ss = fake.state.get(sid)
    date_columns = {("Packages", 4), ("Packages", 5), ("Sessions", 0)}
    for tab, table in rows.items():
        sheet = ss.sheet_by_title(tab)
        assert sheet is not None
        sheet.grid["rowCount"] = len(table) + 100
        for r, row in enumerate(table[1:], start=1):
            for c, value in enumerate(row):
                if value == "":
                    continue
                entered = "numberValue" if isinstance(value, int) else "stringValue"
                cell: dict[str, Any] = {"userEnteredValue": {entered: value}}
                if (tab, c) in date_columns:
                    cell["userEnteredFormat"] = {"numberFormat": {"type": "DATE"}}
                sheet.cells[(r, c)] = cell
    tables = {
        tab: Table(tab, t[0], [[None if v == "" else v for v in r] for r in t[1:]])
        for tab, t in rows.items()
    }
    snapshot = Snapshot(tables, {}, numbers_are_dates=True)
    from rules.dashboard import dashboard_rows
    from rules.engine import compute

    result = compute(tables, today=NOW.date(), settings=CONFIG.settings(numbers_are_dates=True))
    dashboard = dashboard_rows(result.dashboard, currency="GBP", warning_days=7)
    plan = make_plan(snapshot, result, dashboard=dashboard)
    for header in plan.headers:
        sheet = ss.sheet_by_title(header.tab)
        assert sheet is not None
        sheet.cells[(0, header.col)] = {"userEnteredValue": {"stringValue": header.name}}
    for change in plan.cells:
        sheet = ss.sheet_by_title(change.tab)
        assert sheet is not None
        data, _ = change_cell(change)
        current = dict(sheet.cells.get((change.row - 1, change.col)) or {})
        current.pop("userEnteredValue", None)
        current.update(data)
        sheet.cells[(change.row - 1, change.col)] = current
    for sheet in ss.sheets:  # grids as wide as what they hold (the fake renders every cell)
        sheet.grid["columnCount"] = 1 + max(c for _, c in sheet.cells)
    (content,) = plan.tabs
    fake.add_sheet(sid, "Dashboard", [list(r) for r in content.rows], column_count=5)
    return sid


@pytest.mark.parametrize(("clients", "per_client"), [(20, 50), (1000, 50)], ids=["1k", "50k"])
def test_request_counts_hold_at_1000_and_50000_sessions(
    fake: FakeSheets, clients: int, per_client: int
) -> None:
    sid = build_synced(fake, synced_rows(clients, per_client))
    b = backend(sid)
    b.metadata()  # what the first cycle caches
    idle, kinds = counted(fake, b)
    assert idle.rows_read["Sessions"] == clients * per_client
    assert not idle.plan, "the state built straight into the fake reads back as synced"
    assert kinds == ["batchGet"]
    last = clients * per_client + 2
    fake.set_values(sid, "Sessions", f"A{last}", [[date(2026, 11, 19), "Client 7", None, None]])
    busy, kinds = counted(fake, b)
    assert busy.outcome.written and kinds == ["batchGet", "batchGet", "batchUpdate"]
    verify = fake.requests[1]
    assert len(verify.query["ranges"]) <= 8, "only the header and the affected rows"
    assert all(r.body_size < 2_000_000 for r in fake.requests)
    notes = column(fake, sid, "Sessions", "Sync note")
    assert notes[-1] == f"P-0008: {10 * per_client - per_client - 1} of {10 * per_client} left"
    assert column(fake, sid, "Sessions", "Package ID")[-1] == "P-0008"


# --- cell types ----------------------------------------------------------------------


def test_a_client_named_like_a_formula_stays_text_everywhere(fake: FakeSheets) -> None:
    name = '=HYPERLINK("http://x","y")'
    sid = practice(
        fake,
        Clients=[["Client"], [name]],
        Packages=[PACKAGES[0], [None, name, "Pack", 2, date(2026, 10, 1), None]],
        Sessions=[SESSIONS[0], [date(2026, 11, 1), name, None, None]],
    )
    b = backend(sid)
    cycle(b)
    cycle(b)
    assert fake.cell(sid, "Clients", "A2").raw["userEnteredValue"] == {"stringValue": name}
    assert fake.cell(sid, "Clients", "A2").formula is None
    # The Dashboard lists low clients by name: written by the sync, still text.
    dashboard = fake.values(sid, "Dashboard")
    (row,) = [i for i, r in enumerate(dashboard, start=1) if r and r[0] == name]
    view = fake.cell(sid, "Dashboard", f"A{row}")
    assert view.formula is None and view.raw["userEnteredValue"] == {"stringValue": name}
    assert not any(
        "formulaValue" in (c.raw.get("userEnteredValue") or {}) for c in cells(fake, sid)
    )


def cells(fake: FakeSheets, sid: str) -> Iterator[Any]:
    for tab in TABS_OF_PRACTICE:
        for r, row in enumerate(fake.values(sid, tab), start=1):
            for c in range(len(row)):
                yield fake.cell(sid, tab, f"{column_letter(c)}{r}")


CELL_VALUES: list[Value] = [
    "Ann Lee", 'say "hi"\\n\t', "Zoë ✓ 🎉", '=HYPERLINK("http://x","y")', " padded ",
    0, 7, -3, 10**20, 2.5, 0.1, 1e-7, 1e22, Decimal("2.50"), Decimal("3"), True,
    date(2026, 11, 20), datetime(2026, 11, 20, 9, 30), None, "",
]  # fmt: skip


@pytest.mark.parametrize("kind", ["text", "number", "date"])
def test_each_cell_is_sent_as_the_json_encoding_of_its_celldata(kind: CellKind) -> None:
    for value in CELL_VALUES:
        for color in (None, "#B7E1CD", "#F4C7C3"):
            for set_value, set_color in ((True, False), (False, True), (True, True)):
                change = CellChange(
                    "Sessions", 2, 4, "Status", None, value, kind, color, set_value, set_color
                )
                encoded, fields = cell_json(change)
                data, same_fields = change_cell(change)
                assert encoded == json.dumps(data, allow_nan=False) and fields == same_fields
                assert list(data) == [k for k in ("userEnteredValue", "userEnteredFormat")
                                      if k in data]  # fmt: skip
                if set_color and color is not None:
                    assert list(data["userEnteredFormat"])[-1] == "backgroundColor"
                if set_value and kind == "date" and isinstance(value, date):
                    assert data["userEnteredValue"] == {"numberValue": 46346}
                    assert fields.startswith("userEnteredValue,userEnteredFormat.numberFormat")
                if set_value and isinstance(value, str) and value:
                    assert data["userEnteredValue"] == {"stringValue": value}


@pytest.mark.parametrize("limit", [300, 2_000, 20_000, 2_000_000])
def test_cells_as_json_make_the_same_requests_and_batches_as_dicts(limit: int) -> None:
    changes = [
        CellChange("Sessions", row, col, "x", None, value, kind, color, True, color is not None)
        for row in range(2, 90)
        for col, value, kind, color in (
            (0, row * 3, "number", None),
            (1, f"note {row}" * (row % 4), "text", "#B7E1CD" if row % 3 else None),
            (2, date(2026, 1, 1 + row % 28), "date", None),
            (4, "x" if row % 5 else None, "text", None),
        )
        if row % 7 or col != 1
    ]
    as_dicts: dict[str, dict[tuple[int, int], dict[str, Any]]] = {}
    as_json: dict[str, dict[int, str]] = {}
    for change in changes:
        data, fields = change_cell(change)
        as_dicts.setdefault(fields, {})[(change.row - 1, change.col)] = data
        as_json.setdefault(fields, {})[(change.row - 1) << CELL_BITS | change.col] = cell_json(
            change
        )[0]
    assert list(as_dicts) == list(as_json)
    dict_requests = [b.request() for f, c in as_dicts.items() for b in blocks(7, f, c)]
    json_requests = [b for f, c in as_json.items() for b in encoded_blocks(7, f, c)]
    assert [b.encode() for b in json_requests] == [json.dumps(r) for r in dict_requests]
    parts = batches(json_requests, limit)
    assert parts == batches(dict_requests, limit)
    pieces = [piece for part in parts for piece in part]
    assert len(pieces) >= len(dict_requests)  # small limits cut requests into runs of rows
    rows = [row for piece in pieces for row in json.loads(piece)["updateCells"]["rows"]]
    assert rows == [row for r in dict_requests for row in r["updateCells"]["rows"]]
    for part in parts:
        body = encode_body(part)
        assert body == json.dumps({"requests": [json.loads(p) for p in part]}).encode()
        assert len(body) <= limit or len(part) == 1


def test_numbers_dates_and_colors_are_typed_cells(fake: FakeSheets) -> None:
    sid = practice(
        fake,
        Packages=[[*PACKAGES[0], "Template"], [None, "Ann Lee", None, None, None, None, "Ten"]],
    )
    cycle(backend(sid))
    header = fake.values(sid, "Packages")[0]

    def at(name: str) -> Any:
        return fake.cell(sid, "Packages", f"{column_letter(header.index(name))}2")

    assert at("Sessions").raw["userEnteredValue"] == {"numberValue": 10}
    assert at("Purchased").raw["userEnteredValue"] == {"numberValue": 46346}  # today
    assert at("Purchased").number_format == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert at("Expires").formatted == "2027-02-18"
    # Ann's sessions predate the purchase: rejected, so all 10 remain.
    assert at("Remaining").raw["userEnteredValue"] == {"numberValue": 10}
    assert at("Status").value == "Active"
    assert at("Status").background == {"red": 0.7176, "green": 0.8824, "blue": 0.8039}
    # A color the plan clears is cleared, not left behind.
    fake.format_cells(sid, "Sessions", "E5", background={"red": 1})
    fake.edit_cell(sid, "Sessions", "B5", "Nobody")
    cycle(backend(sid))
    assert fake.cell(sid, "Sessions", "E5").background == {"red": 0.9569, "green": 0.7804,
                                                           "blue": 0.7647}  # fmt: skip


# --- people editing while a cycle runs ------------------------------------------------

EDITS: dict[str, Callable[[FakeSheets, str], None]] = {
    "insert": lambda f, sid: f.insert_rows(sid, "Sessions", 3),
    "delete": lambda f, sid: f.delete_rows(sid, "Sessions", 3),
    "sort": lambda f, sid: f.sort_rows(sid, "Sessions", "A", descending=True),
    "edit": lambda f, sid: f.edit_cell(sid, "Sessions", "B4", "Bob Stone"),
    "new column": lambda f, sid: (
        f.state.get(sid)
        .sheet_by_title("Sessions")
        .insert(  # type: ignore[union-attr]
            "COLUMNS", 0, 1, False
        )
    ),
}


def converged(fake: FakeSheets, b: GoogleBackend) -> int:
    """Cycle until nothing is left to write; how many cycles that took."""
    for n in range(1, 5):
        if not cycle(b).plan:
            return n
    raise AssertionError("the sheet never settled")


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_rows_moved_or_edited_between_read_and_write_get_nothing_of_another_row(
    fake: FakeSheets, edit: str
) -> None:
    sid = practice(fake)
    b = backend(sid)
    before = state(fake, sid)
    seen: dict[str, Any] = {}

    def person(f: FakeSheets) -> None:
        EDITS[edit](f, sid)
        seen.update(state(f, sid))

    fake.between_requests(person, kind="values.batchGet")  # right after the cycle's read
    report = cycle(b)
    after = state(fake, sid)
    inputs = 4 if edit != "new column" else 5
    for r, row in enumerate(seen["Sessions"]):
        was = [v for v, _ in before["Sessions"][r][:inputs]] if r < len(before["Sessions"]) else []
        if [v for v, _ in row[:inputs]] != was:
            assert after["Sessions"][r] == row, f"row {r + 1} moved and must be left alone"
    assert report.outcome.rows_skipped > 0
    if edit in ("insert", "delete", "edit"):  # row 2 stayed in place: it was written
        assert after["Sessions"][1][4][0] in ("Deducted", "Not deducted")
    # The next cycle makes it right: the same as syncing the edited sheet from scratch.
    converged(fake, b)
    reference = FakeSheets(seed=3)
    with reference.mocked():
        ref = practice(reference)
        EDITS[edit](reference, ref)
        converged(reference, backend(ref))
        assert state(fake, sid) == state(reference, ref)


def test_a_tab_renamed_and_replaced_between_cycles_is_never_written_by_its_old_id(
    fake: FakeSheets,
) -> None:
    sid = practice(fake)
    b = backend(sid)
    cycle(b)
    archived = fake.values(sid, "Sessions")
    fake.rename_sheet(sid, "Sessions", "Sessions 2025")
    fake.add_sheet(sid, "Sessions", [SESSIONS[0], [date(2026, 11, 18), "Ann Lee", None, None]])
    refused = cycle(b)
    assert not refused.outcome.written
    assert "renamed, replaced" in str(refused.outcome.reason)
    assert fake.values(sid, "Sessions 2025") == archived
    converged(fake, b)
    assert fake.values(sid, "Sessions 2025") == archived
    assert fake.values(sid, "Sessions")[1][2:] == ["P-0001", "", "Deducted", "P-0001: 4 of 5 left"]


def test_a_renamed_tab_is_found_again_with_two_more_reads(fake: FakeSheets) -> None:
    sid = practice(fake)
    b = backend(sid)
    cycle(b)
    fake.rename_sheet(sid, "Templates", "Old templates")
    report, kinds = counted(fake, b)
    assert kinds == ["batchGet", "get", "batchGet"]  # 400 for 'Templates', metadata, read
    assert "Templates" not in report.rows_read and not report.blocked
    assert counted(fake, b)[1] == ["batchGet"]


def test_a_required_tab_added_later_is_seen_at_once_an_optional_one_within_minutes(
    fake: FakeSheets,
) -> None:
    sid = fake.create_spreadsheet("Late", {"Clients": CLIENTS, "Packages": PACKAGES})
    now = [0.0]
    b = backend(sid, clock=lambda: now[0])
    assert cycle(b).blocked
    fake.add_sheet(sid, "Sessions", [list(r) for r in SESSIONS])
    report, kinds = counted(fake, b)
    assert not report.blocked and kinds[:2] == ["get", "batchGet"]
    assert counted(fake, b)[1] == ["batchGet"], "no tab missing but Templates: cached"
    fake.add_sheet(sid, "Templates", [list(r) for r in TEMPLATES])
    assert "Templates" not in counted(fake, b)[0].rows_read
    now[0] += 301
    report, kinds = counted(fake, b)
    assert kinds == ["get", "batchGet"] and "Templates" in report.rows_read


def test_big_writes_are_split_and_each_part_stays_under_the_limit(fake: FakeSheets) -> None:
    rows = synced_rows(30, 20)
    sid = fake.create_spreadsheet("Split", {t: [list(r) for r in v] for t, v in rows.items()})
    b = backend(sid, max_batch_bytes=20_000)
    first = cycle(b)
    parts = fake.requests_of("batchUpdate")
    assert len(parts) > 3 and first.outcome.requests == len(parts) + 1
    assert all(p.body_size <= 20_000 for p in parts)
    assert not cycle(b).plan


def test_writes_go_out_as_the_json_requests_would_encode(fake: FakeSheets) -> None:
    """Requests are encoded once, to measure them, and sent as those bytes: each body is
    exactly what ``requests`` sends for ``json=`` the same requests."""
    rows = synced_rows(30, 20)
    sid = fake.create_spreadsheet("Bytes", {t: [list(r) for r in v] for t, v in rows.items()})
    b = backend(sid, max_batch_bytes=20_000)
    sent: list[tuple[str | None, bytes]] = []

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.request.method == "POST":
            sent.append((response.request.headers.get("Content-Type"), response.request.body))

    b.client().session.hooks["response"].append(record)
    assert cycle(b).outcome.written
    assert len(sent) > 3
    for content_type, body in sent:
        assert content_type == "application/json" and isinstance(body, bytes)
        assert body == json.dumps(json.loads(body), allow_nan=False).encode()


def test_a_small_dashboard_tab_is_grown_and_rewritten_whole(fake: FakeSheets) -> None:
    sid = practice(fake)
    fake.add_sheet(sid, "dashboard", [["old", "stuff"], ["x"]], row_count=3, column_count=2)
    b = backend(sid)
    assert cycle(b).outcome.written
    rows = fake.values(sid, "dashboard")
    assert rows[0] == ["Dashboard", "as of 2026-11-20"] and len(rows) > 3
    assert max(len(r) for r in rows) == 5
    assert "old" not in json.dumps(rows, default=str)
    assert fake.cell(sid, "dashboard", "A1").raw["userEnteredFormat"]["textFormat"]["bold"]
    assert [s["properties"]["title"] for s in fake.metadata(sid)["sheets"]].count("Dashboard") == 0
    assert not cycle(b).plan


# --- init ----------------------------------------------------------------------------


def layout(demo: bool = False) -> Layout:
    return bootstrap.layout(CONFIG, demo_for=NOW.date() if demo else None)


def test_init_makes_tabs_headers_frozen_rows_dropdowns_and_warnings(fake: FakeSheets) -> None:
    sid = fake.create_spreadsheet("New")
    b = backend(sid)
    fake.reset_log()
    done = b.prepare(layout())
    assert [r.kind for r in fake.requests] == ["spreadsheets.get", "spreadsheets.batchUpdate"]
    assert "added the Sessions tab" in done
    titles = [s["properties"]["title"] for s in fake.metadata(sid)["sheets"]]
    assert titles == ["Sheet1", "Clients", "Packages", "Sessions", "Templates"]
    assert fake.values(sid, "Packages")[0] == [c.name for c in TABS[1].columns]
    assert fake.values(sid, "Clients")[0] == ["Client", "Email", "Billing", "Credits left",
                                              "Sync note"]  # fmt: skip
    for tab in ("Clients", "Packages", "Sessions", "Templates"):
        assert fake.sheet_properties(sid, tab)["gridProperties"]["frozenRowCount"] == 1
    outcome = fake.cell(sid, "Sessions", "D2").data_validation
    assert outcome is not None and outcome["condition"]["type"] == "ONE_OF_LIST"
    assert [v["userEnteredValue"] for v in outcome["condition"]["values"]] == [
        "Attended", "No-show", "Late cancel", "Cancelled"
    ]  # fmt: skip
    assert not outcome["strict"]
    client = fake.cell(sid, "Packages", "B500").data_validation
    assert client is not None and client["condition"] == {
        "type": "ONE_OF_RANGE",
        "values": [{"userEnteredValue": "='Clients'!$A$2:$A"}],
    }
    template = fake.cell(sid, "Packages", "D2").data_validation
    assert template is not None
    assert template["condition"]["values"][0]["userEnteredValue"] == "='Templates'!$A$2:$A"
    protected = fake.protected_ranges(sid, "Sessions")
    assert [(p["range"]["startColumnIndex"], p["warningOnly"]) for p in protected] == [
        (5, True),
        (6, True),
    ]
    assert fake.cell(sid, "Sessions", "F1").raw["userEnteredFormat"]["textFormat"]["bold"]
    # Again: nothing to do, nothing written.
    fake.reset_log()
    assert backend(sid).prepare(layout()) == []
    assert not fake.requests_of("batchUpdate")


def test_init_on_a_sheet_in_use_adds_only_what_is_missing_at_the_right_end(
    fake: FakeSheets,
) -> None:
    sid = fake.create_spreadsheet(
        "Used",
        {"Clients": [["Phone", "Client", "Billing"], ["1", "Ann Lee", "Package"]]},
    )
    own_rule = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Package"}]}}
    sheet = fake.state.get(sid).sheet_by_title("Clients")
    assert sheet is not None
    sheet.cells[(1, 2)] = {**sheet.cells[(1, 2)], "dataValidation": own_rule}
    done = backend(sid).prepare(layout())
    assert fake.values(sid, "Clients") == [
        ["Phone", "Client", "Billing", "Email", "Credits left", "Sync note"],
        ["1", "Ann Lee", "Package"],
    ]
    assert "Clients: added the columns Email, Credits left, Sync note" in done
    assert fake.cell(sid, "Clients", "C2").data_validation == own_rule
    assert "Clients: added a dropdown to Billing" not in done


def test_init_demo_fills_empty_tabs_and_refuses_tabs_with_rows(fake: FakeSheets) -> None:
    sid = fake.create_spreadsheet("Demo")
    b = backend(sid)
    done = b.prepare(layout(demo=True))
    assert any(line.endswith("demo rows") for line in done)
    purchased = fake.cell(sid, "Packages", "G2")
    assert purchased.number_format == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert isinstance(purchased.value, int)
    report = cycle(b)
    assert report.outcome.written and report.result.sessions
    revision = fake.revision(sid)
    with pytest.raises(WorkbookUnavailable, match="--demo only fills an empty workbook"):
        backend(sid).prepare(layout(demo=True))
    assert fake.revision(sid) == revision


def test_a_fill_on_the_last_row_of_a_grid_with_no_spare_rows_is_written(
    fake: FakeSheets,
) -> None:
    # The write asks Google for the filled rows and their neighbours as they are right
    # after it (see sync/backends/google/landing.py): never for a row past the grid, which would
    # fail the whole write.
    sessions = [*SESSIONS, [date(2026, 11, 20), "Ann Lee", None, "Attended"]]
    sheets = {"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": sessions}
    rows = {k: [list(r) for r in v] for k, v in {**sheets, "Templates": TEMPLATES}.items()}
    last = max(len(r) for r in rows.values())
    sid = fake.create_spreadsheet("Practice", rows, row_count=last)
    assert fake.sheet_properties(sid, "Sessions")["gridProperties"]["rowCount"] == len(sessions)
    report = cycle(backend(sid))
    assert report.outcome.written and report.outcome.reason is None
    assert column(fake, sid, "Sessions", "Package ID")[-1] == "P-0001"
