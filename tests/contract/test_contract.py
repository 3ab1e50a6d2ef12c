"""The workbook contract, end to end, on every backend.

Each test creates a real workbook, runs real cycles through the backend the
program uses, and reads the workbook back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sync.config import Config
from sync.cycle import run_cycle
from tests.contract.harness import Harness

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TODAY = NOW.date()
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})

CLIENTS = [
    ["Client", "Email", "Billing"],
    ["Ann Lee", "ann@example.com", "Package"],
    ["Bob Stone", None, "Per-session"],
]
PACKAGES = [
    ["Package ID", "Client", "Package", "Sessions", "Purchased", "Expires"],
    [None, "Ann Lee", "5-Session Pack", 5, date(2026, 10, 1), None],
]
SESSIONS = [
    ["Date", "Client", "Package ID", "Outcome"],
    [date(2026, 11, 1), "Ann Lee", None, "Attended"],
    [date(2026, 11, 8), "Ann Lee", None, "No-show"],
    [date(2026, 11, 15), "Ann Lee", None, "Attended"],
    [date(2026, 11, 16), "Bob Stone", None, None],
]


def cycle(backend: object) -> object:
    return run_cycle(CONFIG, backend, now=NOW)  # type: ignore[arg-type]


def test_a_first_sync_writes_balances_statuses_colors_ids_and_picks(harness: Harness) -> None:
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
    report = cycle(backend)
    assert report.outcome.written  # type: ignore[attr-defined]
    packages = harness.values("Packages")
    assert packages[0] == [
        "Package ID",
        "Client",
        "Package",
        "Sessions",
        "Purchased",
        "Expires",
        "Used",
        "Remaining",
        "Status",
        "Progress",
        "Sync note",
    ]
    assert packages[1] == [
        "P-0001",
        "Ann Lee",
        "5-Session Pack",
        5,
        date(2026, 10, 1),
        None,
        3,
        2,
        "Low",
        "▰▰▱▱▱ 2/5",
    ]
    assert harness.color("Packages", 2, 9) == "#FCE8B2"
    assert harness.color("Packages", 2, 10) == "#FCE8B2"
    sessions = harness.values("Sessions")
    assert sessions[0][4:] == ["Status", "Sync note"]
    assert [row[2:] for row in sessions[1:]] == [
        ["P-0001", "Attended", "Deducted", "P-0001: 4 of 5 left"],
        ["P-0001", "No-show", "Deducted", "P-0001: 3 of 5 left"],
        ["P-0001", "Attended", "Deducted", "P-0001: 2 of 5 left"],
        [None, None, "Not deducted", "Bob Stone is billed Per-session: no package credit used"],
    ]
    assert harness.color("Sessions", 2, 5) == "#B7E1CD"
    clients = harness.values("Clients")
    assert clients[0] == ["Client", "Email", "Billing", "Credits left", "Sync note"]
    assert [row[3:] for row in clients[1:]] == [[2], []]
    assert harness.color("Clients", 2, 4) == "#FCE8B2"
    assert harness.color("Clients", 3, 4) is None


def test_a_second_sync_writes_nothing(harness: Harness) -> None:
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
    cycle(backend)
    before = {tab: harness.values(tab) for tab in ("Clients", "Packages", "Sessions")}
    again = cycle(backend)
    assert not again.plan  # type: ignore[attr-defined]
    assert not again.outcome.written  # type: ignore[attr-defined]
    assert {tab: harness.values(tab) for tab in before} == before


def test_a_bad_row_gets_a_note_and_a_red_status_and_changes_nothing_else(harness: Harness) -> None:
    sessions = [*SESSIONS, [date(2026, 11, 17), "Jon Lee", None, None]]
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": sessions})
    cycle(backend)
    rows = harness.values("Sessions")
    assert rows[5][4:] == [
        "Invalid",
        "Client: 'Jon Lee' is not on the Clients tab (did you mean 'Ann Lee'?)",
    ]
    assert harness.color("Sessions", 6, 5) == "#F4C7C3"
    assert rows[5][2] is None
    assert harness.values("Packages")[1][6:8] == [3, 2]


def test_formula_looking_text_is_written_as_text(harness: Harness) -> None:
    clients = [["Client"], ['=HYPERLINK("http://x","y")']]
    templates = [["Template", "Sessions"], ["=SUM(1,2)", 4]]
    packages = [
        ["Client", "Template", "Purchased", "Package"],
        ['=HYPERLINK("http://x","y")', "=SUM(1,2)", date(2026, 11, 1)],
    ]
    backend = harness.create(
        {
            "Clients": clients,
            "Packages": packages,
            "Sessions": [["Date", "Client"]],
            "Templates": templates,
        }
    )
    cycle(backend)
    assert harness.values("Clients")[1][0] == '=HYPERLINK("http://x","y")'
    row = harness.values("Packages")[1]
    assert row[:3] == ['=HYPERLINK("http://x","y")', "=SUM(1,2)", date(2026, 11, 1)]
    header = harness.values("Packages")[0]
    assert row[header.index("Package")] == "=SUM(1,2)"
    assert harness.is_text("Packages", 2, header.index("Package") + 1)


def test_extra_columns_and_tabs_are_untouched_and_computed_columns_keep_their_place(
    harness: Harness,
) -> None:
    clients = [
        ["Sync note", "Client", "Phone", "Credits left", "Birthday"],
        ["stale note", "Ann Lee", "+44 1", 99, date(1990, 5, 1)],
    ]
    backend = harness.create(
        {
            "Notes": [["anything"], [42]],
            "Clients": clients,
            "Packages": PACKAGES,
            "Sessions": SESSIONS,
        }
    )
    cycle(backend)
    assert harness.values("Clients") == [
        ["Sync note", "Client", "Phone", "Credits left", "Birthday"],
        [None, "Ann Lee", "+44 1", 2, date(1990, 5, 1)],
    ]
    assert harness.values("Notes") == [["anything"], [42]]


def test_a_missing_required_tab_writes_nothing(harness: Harness) -> None:
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES})
    report = cycle(backend)
    assert report.blocked  # type: ignore[attr-defined]
    assert harness.values("Packages") == [PACKAGES[0], PACKAGES[1][:5]]


def test_a_changed_input_is_picked_up_and_typed_inputs_are_never_changed(
    harness: Harness,
) -> None:
    packages = [PACKAGES[0], ["ann-01", "ann lee", "my pack", "5", "2026-10-01", None]]
    backend = harness.create({"Clients": CLIENTS, "Packages": packages, "Sessions": SESSIONS})
    cycle(backend)
    row = harness.values("Packages")[1]
    assert row[:5] == ["ann-01", "ann lee", "my pack", "5", "2026-10-01"]
    assert row[6:9] == [3, 2, "Low"]


def test_a_client_row_with_a_problem_gets_a_red_blank_credits_cell(harness: Harness) -> None:
    clients = [*CLIENTS, ["ann lee", None, "Monthly"]]  # a duplicate name
    backend = harness.create({"Clients": clients, "Packages": PACKAGES, "Sessions": SESSIONS})
    cycle(backend)
    rows = harness.values("Clients")
    assert rows[3][3:] == [None, "Client: 'ann lee' is already on row 2"]
    assert harness.color("Clients", 4, 4) == "#F4C7C3"
    assert not cycle(backend).plan  # type: ignore[attr-defined]
