"""Session types, credit costs, weekly limits and unlimited passes, on every backend.

One client keeps a 1-on-1 pack, a group pack, 90-minute sessions that cost 2
and a monthly unlimited pass in one sheet: every balance, status, note, color
and filled cell must be right, and a second cycle must write nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from rules.schema import AMBER, GREEN, GREY, RED
from sync.config import Config
from sync.cycle import run_cycle
from tests.contract.harness import Harness

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})

CLIENTS = [["Client", "Email"], ["Ann Lee", "ann@example.com"], ["Bob Stone", None]]
TYPES = [["Type", "Credits"], ["1-on-1", None], ["Group", 1], ["Massage 90", 2]]
TEMPLATES = [
    ["Template", "Sessions", "Price", "Expiry days", "For", "Per week"],
    ["Group 10", 10, 150, 120, "Group", None],
    ["Monthly Unlimited", "Unlimited", 120, 30, "Group", 2],
]
PACKAGES = [
    ["Package ID", "Client", "Package", "Template", "Sessions", "For", "Purchased", "Expires"],
    [None, "Ann Lee", "1-on-1 Pack", None, 5, "1-on-1, Massage 90", date(2026, 10, 1), None],
    [None, "Ann Lee", None, "Group 10", None, None, date(2026, 10, 1), None],
    [None, "Bob Stone", None, "Monthly Unlimited", None, None, date(2026, 11, 1), None],
]
SESSIONS = [
    ["Date", "Client", "Package ID", "Outcome", "Type"],
    [date(2026, 11, 2), "Ann Lee", None, None, "1-on-1"],
    [date(2026, 11, 3), "Ann Lee", None, None, "Group"],
    [date(2026, 11, 4), "Ann Lee", None, None, "Massage 90"],
    [date(2026, 11, 5), "Ann Lee", None, None, "Massage 90"],
    [date(2026, 11, 16), "Bob Stone", None, None, "Group"],
    [date(2026, 11, 17), "Bob Stone", None, None, "Group"],
    [date(2026, 11, 18), "Bob Stone", None, None, "Group"],
    [date(2026, 11, 19), "Bob Stone", None, None, "1-on-1"],
    [date(2026, 11, 19), "Ann Lee", None, None, "Yoga"],
]


def cycle(backend: object) -> object:
    return run_cycle(CONFIG, backend, now=NOW)  # type: ignore[arg-type]


def column(rows: list[list[object]], name: str) -> list[object]:
    at = rows[0].index(name)
    return [row[at] if at < len(row) else None for row in rows[1:]]


def test_types_costs_weekly_limits_and_a_pass_on_one_sheet(harness: Harness) -> None:
    backend = harness.create(
        {
            "Clients": CLIENTS,
            "Packages": PACKAGES,
            "Sessions": SESSIONS,
            "Templates": TEMPLATES,
            "Session types": TYPES,
        }
    )
    report = cycle(backend)
    assert report.outcome.written  # type: ignore[attr-defined]

    packages = harness.values("Packages")
    assert column(packages, "Package ID") == ["P-0001", "P-0002", "P-0003"]
    assert column(packages, "Sessions") == [5, 10, "Unlimited"]
    assert column(packages, "For") == ["1-on-1, Massage 90", "Group", "Group"]
    assert column(packages, "Expires") == [None, date(2027, 1, 29), date(2026, 12, 1)]
    assert column(packages, "Used") == [5, 1, 2]
    assert column(packages, "Remaining") == [0, 9, "Unlimited"]
    assert column(packages, "Status") == ["Exhausted", "Active", "Active"]
    assert column(packages, "Progress") == [
        "▱▱▱▱▱ 0/5",
        "▰▰▰▰▰▰▰▰▰▱ 9/10",
        "unlimited until 2026-12-01 · 2 used",
    ]
    remaining_at = packages[0].index("Remaining") + 1
    status_at = packages[0].index("Status") + 1
    assert harness.is_text("Packages", 4, remaining_at)
    assert not harness.is_text("Packages", 2, remaining_at)
    assert [harness.color("Packages", r, status_at) for r in (2, 3, 4)] == [RED, GREEN, GREEN]

    sessions = harness.values("Sessions")
    assert column(sessions, "Package ID") == [
        "P-0001",
        "P-0002",
        "P-0001",
        "P-0001",
        "P-0003",
        "P-0003",
        None,
        None,
        None,
    ]
    assert column(sessions, "Status") == [
        "Deducted",
        "Deducted",
        "Deducted",
        "Deducted",
        "Deducted",
        "Deducted",
        "Rejected",
        "Rejected",
        "Invalid",
    ]
    assert column(sessions, "Sync note") == [
        "P-0001: 4 of 5 left",
        "P-0002: 9 of 10 left",
        "P-0001: 2 of 5 left",
        "P-0001: 0 of 5 left",
        "P-0003: unlimited until 2026-12-01",
        "P-0003: unlimited until 2026-12-01",
        "no package with credits left on 2026-11-18",
        "no package for 1-on-1 with credits left on 2026-11-19",
        "Type: 'Yoga' is not on the Session types tab",
    ]

    clients = harness.values("Clients")
    assert column(clients, "Credits left") == [9, "Unlimited"]
    credits_at = clients[0].index("Credits left") + 1
    assert harness.is_text("Clients", 3, credits_at)
    assert [harness.color("Clients", r, credits_at) for r in (2, 3)] == [GREEN, GREEN]
    assert harness.values("Session types") == [TYPES[0], ["1-on-1"], *TYPES[2:]]

    again = cycle(backend)
    assert not again.plan  # type: ignore[attr-defined]


def test_an_expired_pass_turns_grey_and_its_client_has_no_credits(harness: Harness) -> None:
    packages = [
        ["Client", "Sessions", "Purchased", "Expires", "Price"],
        ["Ann Lee", "unlimited", date(2026, 10, 1), date(2026, 11, 1), 120],
        ["Ann Lee", 2, date(2026, 10, 1), None, 60],
    ]
    sessions = [["Date", "Client"], [date(2026, 10, 31), "Ann Lee"], [date(2026, 11, 2), "Ann Lee"]]
    backend = harness.create({"Clients": CLIENTS, "Packages": packages, "Sessions": sessions})
    cycle(backend)
    rows = harness.values("Packages")
    assert column(rows, "Status") == ["Expired", "Low"]
    assert column(rows, "Remaining") == ["Unlimited", 1]
    assert harness.color("Packages", 2, rows[0].index("Status") + 1) == GREY
    clients = harness.values("Clients")
    assert column(clients, "Credits left") == [1, 0]
    assert harness.color("Clients", 2, clients[0].index("Credits left") + 1) == AMBER
    dashboard = {row[0]: row[1:] for row in harness.values("Dashboard") if row}
    assert dashboard["Value expired unused, last 12 months (GBP)"] == [0]
    assert dashboard["Prepaid value not yet used (GBP)"] == [30]
    assert not cycle(backend).plan  # type: ignore[attr-defined]
