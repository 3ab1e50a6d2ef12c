"""Session types, credit costs, weekly limits and unlimited passes (the workbook contract).

Deduction rules 4 and 5 with types, the order of reasons, the Session types tab,
``For`` and ``Per week`` on Packages and Templates, and Unlimited passes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rules.engine import compute
from rules.model import Table
from rules.schema import GREEN
from tests.workbooks import TODAY, Run, run, tables

ANN = {"Client": "Ann Lee"}
BOB = {"Client": "Bob Stone"}
TYPES = [
    {"Type": "1-on-1"},
    {"Type": "Group", "Credits": 1},
    {"Type": "Massage 90", "Credits": 2},
]


def pack(pid: str = "P-0001", client: str = "Ann Lee", **extra: object) -> dict[str, object]:
    return {
        "Package ID": pid,
        "Client": client,
        "Package": "5-Session Pack",
        "Sessions": 5,
        "Purchased": date(2026, 1, 1),
        **extra,
    }


def unlimited(pid: str = "P-0001", **extra: object) -> dict[str, object]:
    return pack(
        pid,
        **{
            "Package": "Monthly Unlimited",
            "Sessions": "Unlimited",
            "Purchased": date(2026, 11, 1),
            "Expires": date(2026, 12, 1),
            **extra,
        },
    )


def sess(day: str, kind: str | None = None, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {"Date": day, "Client": "Ann Lee", **extra}
    if kind is not None:
        row["Type"] = kind
    return row


# --- credit costs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "notes", "used"),
    [
        ([None], ["P-0001: 4 of 5 left"], 1),
        (["1-on-1"], ["P-0001: 4 of 5 left"], 1),
        (["Massage 90"], ["P-0001: 3 of 5 left"], 2),
        (["massage 90 "], ["P-0001: 3 of 5 left"], 2),
        (
            ["Massage 90", "Group", "Massage 90"],
            ["P-0001: 3 of 5 left", "P-0001: 2 of 5 left", "P-0001: 0 of 5 left"],
            5,
        ),
    ],
)
def test_a_session_uses_its_types_credits(
    kinds: list[str | None], notes: list[str], used: int
) -> None:
    sessions = [sess(f"2026-11-0{i + 1}", k) for i, k in enumerate(kinds)]
    r = run([ANN], [pack()], sessions, types=TYPES)
    assert [r.note("Sessions", 2 + i) for i in range(len(kinds))] == notes
    p = r.package("P-0001")
    assert (p.used, p.remaining) == (used, 5 - used)
    assert r.cell("Packages", 2, "Used") == used
    assert r.cell("Packages", 2, "Progress") == f"{'▰' * (5 - used)}{'▱' * used} {5 - used}/5"


def test_credits_are_never_split_over_two_packages() -> None:
    packages = [pack(Sessions=1), pack("P-0002", Purchased=date(2026, 2, 1), Sessions=1)]
    r = run([ANN], packages, [sess("2026-11-01", "Massage 90")], types=TYPES)
    assert r.cell("Sessions", 2, "Status") == "Rejected"
    assert r.note("Sessions", 2) == "no package with credits left on 2026-11-01"
    assert [r.package(p).remaining for p in ("P-0001", "P-0002")] == [1, 1]


def test_a_named_package_with_too_few_credits_says_what_the_type_needs() -> None:
    sessions = [
        sess("2026-11-01", "Massage 90", **{"Package ID": "P-0001"}),
        sess("2026-11-02", "Massage 90", **{"Package ID": "P-0001"}),
        sess("2026-11-03", "Massage 90", **{"Package ID": "P-0001"}),
        sess("2026-11-04", "Group", **{"Package ID": "P-0001"}),
        sess("2026-11-05", "Group", **{"Package ID": "P-0001"}),
    ]
    r = run([ANN], [pack()], sessions, types=TYPES)
    assert r.note("Sessions", 4) == "P-0001 has 1 credit left, Massage 90 needs 2"
    assert r.cell("Sessions", 5, "Status") == "Deducted"
    assert r.note("Sessions", 6) == "no credits left on P-0001 (5 of 5 used)"
    assert r.package("P-0001").remaining == 0
    assert r.session(4).reason == "no_credits"
    assert r.session(4).used_up == "5-Session Pack"


def test_the_auto_pick_passes_over_a_package_with_too_few_credits() -> None:
    packages = [
        pack(Sessions=1, Expires=date(2026, 12, 1)),
        pack("P-0002", Expires=date(2027, 1, 1)),
    ]
    r = run([ANN], packages, [sess("2026-11-01", "Massage 90"), sess("2026-11-02")], types=TYPES)
    assert r.note("Sessions", 2) == "P-0002: 3 of 5 left"
    assert r.note("Sessions", 3) == "P-0001: 0 of 1 left"


# --- For ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("for_", "kind", "status", "note"),
    [
        ("1-on-1", "1-on-1", "Deducted", "P-0001: 4 of 5 left"),
        ("1-on-1", "Group", "Rejected", "P-0001 is for 1-on-1, not Group"),
        ("1-on-1", None, "Rejected", "P-0001 is for 1-on-1, not sessions with no type"),
        (
            "Group, Massage 90",
            "1-on-1",
            "Rejected",
            "P-0001 is for Group or Massage 90, not 1-on-1",
        ),
        ("group", "Group", "Deducted", "P-0001: 4 of 5 left"),
        (None, "Group", "Deducted", "P-0001: 4 of 5 left"),
        (None, None, "Deducted", "P-0001: 4 of 5 left"),
    ],
)
def test_a_named_package_pays_only_for_its_types(
    for_: str | None, kind: str | None, status: str, note: str
) -> None:
    r = run(
        [ANN], [pack(For=for_)], [sess("2026-11-01", kind, **{"Package ID": "P-0001"})], types=TYPES
    )
    assert (r.cell("Sessions", 2, "Status"), r.note("Sessions", 2)) == (status, note)


def test_the_auto_pick_takes_only_packages_that_pay_for_the_type() -> None:
    packages = [
        pack(Package="1-on-1 Pack", For="1-on-1", Expires=date(2026, 12, 1)),
        pack("P-0002", Package="Group Pack", For="Group", Expires=date(2027, 6, 1)),
    ]
    sessions = [sess("2026-11-01", "Group"), sess("2026-11-02", "1-on-1"), sess("2026-11-03")]
    r = run([ANN], packages, sessions, types=TYPES)
    assert r.note("Sessions", 2) == "P-0002: 4 of 5 left"
    assert r.note("Sessions", 3) == "P-0001: 4 of 5 left"
    assert (
        r.note("Sessions", 4)
        == "no package for sessions with no type with credits left on 2026-11-03"
    )
    assert r.filled("Sessions")[(2, "Package ID")] == "P-0002"


def test_a_type_no_package_pays_for_is_named_in_the_note() -> None:
    r = run([ANN], [pack(For="1-on-1")], [sess("2026-11-20", "Group")], types=TYPES)
    assert r.note("Sessions", 2) == "no package for Group with credits left on 2026-11-20"
    assert r.session(2).reason == "none_usable"
    assert r.session(2).used_up is None


def test_with_the_other_packages_used_up_the_plain_note_stands() -> None:
    packages = [pack(For="1-on-1", Sessions=1), pack("P-0002", For="Group", Sessions=1)]
    sessions = [
        sess("2026-11-01", "1-on-1"),
        sess("2026-11-02", "Group"),
        sess("2026-11-03", "Group"),
    ]
    r = run([ANN], packages, sessions, types=TYPES)
    assert r.note("Sessions", 4) == "no package with credits left on 2026-11-03"
    assert r.session(4).used_up == "5-Session Pack"


def test_without_a_session_types_tab_type_and_for_are_read_past() -> None:
    r = run([ANN], [pack(For="Nothing real")], [sess("2026-11-01", "Anything")])
    assert r.cell("Packages", 2, "Status") == "Active"
    assert r.note("Sessions", 2) == "P-0001: 4 of 5 left"
    assert r.package("P-0001").package.for_keys is None


# --- the Session types tab ------------------------------------------------------------


def test_an_unknown_type_makes_the_session_invalid_with_a_suggestion() -> None:
    r = run([ANN], [pack()], [sess("2026-11-01", "Gruop"), sess("2026-11-02")], types=TYPES)
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Type: 'Gruop' is not on the Session types tab (did you mean 'Group'?)"
    )
    assert r.note("Sessions", 3) == "P-0001: 4 of 5 left"


def test_an_unknown_name_in_for_makes_the_package_invalid() -> None:
    r = run([ANN], [pack(For="1-on-1, Gruop")], [sess("2026-11-01")], types=TYPES)
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert r.note("Packages", 2) == (
        "For: 'Gruop' is not on the Session types tab (did you mean 'Group'?)"
    )
    assert r.cell("Sessions", 2, "Status") == "Rejected"


@pytest.mark.parametrize(
    ("types", "note"),
    [
        (
            [{"Type": "Massage 90", "Credits": "two"}],
            "Type: 'Massage 90' has a problem (Session types row 2: "
            "Credits: 'two' is not a whole number of 1 or more)",
        ),
        (
            [{"Type": "Massage 90", "Credits": 0}],
            "Type: 'Massage 90' has a problem (Session types row 2: "
            "Credits: must be 1 or more (got 0))",
        ),
    ],
)
def test_a_bad_type_row_shows_in_the_sessions_and_packages_that_use_it(
    types: list[dict[str, object]], note: str
) -> None:
    r = run(
        [ANN],
        [pack(), pack("P-0002", For="Massage 90")],
        [sess("2026-11-01", "Massage 90"), sess("2026-11-02")],
        types=types,
    )
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == note
    assert r.cell("Packages", 3, "Status") == "Invalid"
    assert str(r.note("Packages", 3)).startswith("For: 'Massage 90' has a problem")
    assert r.note("Sessions", 3) == "P-0001: 4 of 5 left"
    assert any(p.tab == "Session types" for p in r.result.problems)


def test_the_upper_row_of_a_duplicated_type_stands() -> None:
    types = [{"Type": "Massage 90", "Credits": 2}, {"Type": "massage 90", "Credits": 3}]
    r = run([ANN], [pack()], [sess("2026-11-01", "Massage 90")], types=types)
    assert r.note("Sessions", 2) == "P-0001: 3 of 5 left"
    assert [str(p) for p in r.result.problems] == [
        "Session types row 3: Type: 'massage 90' is already on row 2"
    ]


def test_a_broken_session_types_tab_stops_only_the_rows_that_use_types() -> None:
    made = tables(
        [ANN],
        [pack(), pack("P-0002", For="Group")],
        [sess("2026-11-01", "Group"), sess("2026-11-02")],
    )
    made["Session types"] = Table("Session types", ["Name", "Credits"], [["Group", 1]])
    r = Run(compute(made, today=TODAY))
    assert [str(p) for p in r.result.structural] == [
        "Session types: the required column 'Type' is missing"
    ]
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Type: the Session types tab cannot be used: the required column 'Type' is missing"
    )
    assert r.cell("Packages", 3, "Status") == "Invalid"
    assert r.note("Sessions", 3) == "P-0001: 4 of 5 left"


# --- Per week ------------------------------------------------------------------------


def test_a_named_package_past_its_weekly_limit_is_rejected() -> None:
    # 2026-11-16 is a Monday; 2026-11-22 the Sunday of the same week.
    days = ["2026-11-16", "2026-11-18", "2026-11-22", "2026-11-22", "2026-11-23"]
    sessions = [sess(d, **{"Package ID": "P-0004"}) for d in days]
    r = run([ANN], [pack("P-0004", **{"Per week": 3})], sessions)
    assert [r.cell("Sessions", 2 + i, "Status") for i in range(5)] == [
        "Deducted",
        "Deducted",
        "Deducted",
        "Rejected",
        "Deducted",
    ]
    assert r.note("Sessions", 5) == "P-0004: 3 of 3 sessions in the week of 2026-11-16 already used"
    assert r.session(5).reason == "weekly_limit"
    assert r.package("P-0004").used == 4


def test_the_weekly_limit_counts_sessions_not_credits() -> None:
    sessions = [sess("2026-11-16", "Massage 90"), sess("2026-11-17", "Massage 90")]
    r = run([ANN], [pack(Sessions=10, **{"Per week": 2})], sessions, types=TYPES)
    assert r.note("Sessions", 3) == "P-0001: 6 of 10 left"


def test_a_weekly_limit_of_one_reads_in_the_singular() -> None:
    sessions = [sess(d, **{"Package ID": "P-0001"}) for d in ("2026-11-19", "2026-11-20")]
    r = run([ANN], [pack(**{"Per week": 1})], sessions)
    assert r.note("Sessions", 3) == "P-0001: 1 of 1 session in the week of 2026-11-16 already used"


def test_the_auto_pick_moves_on_when_a_weekly_limit_is_reached() -> None:
    packages = [
        pack(Expires=date(2026, 12, 1), **{"Per week": 1}),
        pack("P-0002", Expires=date(2027, 1, 1)),
    ]
    sessions = [sess("2026-11-17"), sess("2026-11-18"), sess("2026-11-23")]
    r = run([ANN], packages, sessions)
    assert [r.filled("Sessions")[(2 + i, "Package ID")] for i in range(3)] == [
        "P-0001",
        "P-0002",
        "P-0001",
    ]


@pytest.mark.parametrize(("raw", "ok"), [(3, True), ("2", True), (0, False), ("two", False)])
def test_per_week_is_a_whole_number_of_one_or_more(raw: object, ok: bool) -> None:
    r = run([ANN], [pack(**{"Per week": raw})])
    assert (r.cell("Packages", 2, "Status") != "Invalid") is ok
    if not ok:
        assert str(r.note("Packages", 2)).startswith("Per week: ")


# --- the order of reasons ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "session", "note"),
    [
        # Not shared beats every later reason.
        (
            pack(client="Bob Stone", For="Group", Expires=date(2026, 1, 2)),
            sess("2025-12-01", "1-on-1"),
            "P-0001 is Bob Stone's package and is not shared with Ann Lee",
        ),
        # Not for this type beats expired and before purchase.
        (
            pack(For="Group", Expires=date(2026, 1, 2)),
            sess("2026-06-01", "1-on-1"),
            "P-0001 is for Group, not 1-on-1",
        ),
        (
            pack(For="Group", Purchased=date(2026, 11, 10)),
            sess("2026-11-01", "1-on-1"),
            "P-0001 is for Group, not 1-on-1",
        ),
        # Expired beats before purchase (Expires on or before Purchased).
        (
            pack(Purchased=date(2026, 11, 10), Expires=date(2026, 11, 5)),
            sess("2026-11-06"),
            "P-0001 expired on 2026-11-05",
        ),
        # Before purchase beats the weekly limit and credits.
        (
            pack(Purchased=date(2026, 11, 10), Sessions=1, **{"Per week": 1}),
            sess("2026-11-01", "Massage 90"),
            "P-0001 was purchased on 2026-11-10, after this session",
        ),
    ],
)
def test_the_first_reason_in_the_contracts_order_is_given(
    package: dict[str, object], session: dict[str, object], note: str
) -> None:
    named = {**session, "Package ID": "P-0001"}
    r = run([ANN, BOB], [package], [named], types=TYPES)
    assert (r.cell("Sessions", 2, "Status"), r.note("Sessions", 2)) == ("Rejected", note)


def test_the_weekly_limit_is_given_before_credits() -> None:
    sessions = [
        sess("2026-11-16", **{"Package ID": "P-0001"}),
        sess("2026-11-17", "Massage 90", **{"Package ID": "P-0001"}),
    ]
    r = run([ANN], [pack(Sessions=2, **{"Per week": 1})], sessions, types=TYPES)
    assert r.note("Sessions", 3) == "P-0001: 1 of 1 session in the week of 2026-11-16 already used"


def test_an_invalid_package_is_the_first_reason() -> None:
    r = run(
        [ANN],
        [pack(For="Gruop")],
        [sess("2026-11-01", "1-on-1", **{"Package ID": "P-0001"})],
        types=TYPES,
    )
    assert str(r.note("Sessions", 2)).startswith(
        "P-0001 cannot take sessions until its row is fixed"
    )


# --- templates --------------------------------------------------------------------------


def test_a_template_fills_for_and_per_week_and_typed_values_win() -> None:
    templates = [{"Template": "Group Pass", "Sessions": 10, "For": "group", "Per week": 2}]
    packages = [
        {"Client": "Ann Lee", "Template": "Group Pass", "Purchased": date(2026, 11, 1)},
        {
            "Client": "Ann Lee",
            "Template": "Group Pass",
            "Purchased": date(2026, 11, 1),
            "For": "1-on-1",
            "Per week": 5,
        },
    ]
    r = run([ANN], packages, [], templates, types=TYPES)
    filled = r.filled("Packages")
    assert filled[(2, "For")] == "Group" and filled[(2, "Per week")] == 2
    assert (3, "For") not in filled and (3, "Per week") not in filled
    assert r.package("P-0001").package.per_week == 2
    assert r.package("P-0002").package.for_names == ("1-on-1",)


def test_an_unknown_type_in_a_templates_for_makes_its_packages_invalid() -> None:
    templates = [{"Template": "Group Pass", "Sessions": 10, "For": "Gruop"}]
    packages = [{"Client": "Ann Lee", "Template": "Group Pass"}]
    r = run([ANN], packages, [], templates, types=TYPES)
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert "For: 'Gruop' is not on the Session types tab" in str(r.note("Packages", 2))


def test_an_unlimited_template_fills_unlimited_and_the_expiry() -> None:
    templates = [
        {"Template": "Monthly Unlimited", "Sessions": "unlimited", "Price": 120, "Expiry days": 30}
    ]
    packages = [
        {"Client": "Ann Lee", "Template": "Monthly Unlimited", "Purchased": date(2026, 11, 1)}
    ]
    r = run([ANN], packages, [sess("2026-11-02")], templates)
    filled = r.filled("Packages")
    assert filled[(2, "Sessions")] == "Unlimited"
    assert filled[(2, "Expires")] == date(2026, 12, 1)
    assert r.note("Sessions", 2) == "P-0001: unlimited until 2026-12-01"


def test_an_unlimited_template_needs_expiry_days() -> None:
    templates = [{"Template": "Forever", "Sessions": "Unlimited"}]
    r = run([ANN], [{"Client": "Ann Lee", "Template": "Forever"}], [], templates)
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert "an unlimited pass needs Expiry days" in str(r.note("Packages", 2))


# --- unlimited passes -------------------------------------------------------------------


def test_an_unlimited_pass_takes_any_number_of_sessions_until_it_expires() -> None:
    days = [f"2026-11-{d:02d}" for d in range(1, 21)] + ["2026-11-30", "2026-12-01"]
    r = run([ANN], [unlimited()], [sess(d) for d in days], today=date(2026, 11, 20))
    assert all(r.cell("Sessions", 2 + i, "Status") == "Deducted" for i in range(21))
    assert r.note("Sessions", 2) == "P-0001: unlimited until 2026-12-01"
    assert r.note("Sessions", 23) == "no package with credits left on 2026-12-01"
    assert r.cell("Packages", 2, "Remaining") == "Unlimited"
    assert r.cell("Packages", 2, "Used") == 21
    assert r.cell("Packages", 2, "Status") == "Active"
    assert r.color("Packages", 2, "Status") == GREEN
    assert r.cell("Packages", 2, "Progress") == "unlimited until 2026-12-01 · 21 used"
    assert r.cell("Clients", 2, "Credits left") == "Unlimited"
    assert r.color("Clients", 2, "Credits left") == GREEN


@pytest.mark.parametrize(
    ("today", "status", "credits_left"),
    [
        (date(2026, 10, 31), "Active", "Unlimited"),
        (date(2026, 11, 30), "Active", "Unlimited"),
        (date(2026, 12, 1), "Expired", 0),
        (date(2027, 1, 1), "Expired", 0),
    ],
)
def test_an_unlimited_pass_at_its_expiry_boundary(
    today: date, status: str, credits_left: object
) -> None:
    r = run([ANN], [unlimited()], [sess("2026-11-05")], today=today)
    assert r.cell("Packages", 2, "Status") == status
    assert r.cell("Clients", 2, "Credits left") == credits_left
    assert r.cell("Packages", 2, "Remaining") == "Unlimited"


@pytest.mark.parametrize(
    ("day", "status", "note"),
    [
        ("2026-10-31", "Rejected", "P-0001 was purchased on 2026-11-01, after this session"),
        ("2026-11-01", "Deducted", "P-0001: unlimited until 2026-12-01"),
        ("2026-11-30", "Deducted", "P-0001: unlimited until 2026-12-01"),
        ("2026-12-01", "Rejected", "P-0001 expired on 2026-12-01"),
    ],
)
def test_a_session_on_the_edges_of_a_pass(day: str, status: str, note: str) -> None:
    r = run([ANN], [unlimited()], [sess(day, **{"Package ID": "P-0001"})])
    assert (r.cell("Sessions", 2, "Status"), r.note("Sessions", 2)) == (status, note)


def test_an_unlimited_pass_needs_an_expires_date() -> None:
    r = run([ANN], [unlimited(Expires=None)], [sess("2026-11-02")])
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert r.note("Packages", 2) == "Expires: an unlimited pass needs an Expires date"
    assert r.filled("Packages") == {}


def test_adjust_on_an_unlimited_pass_is_a_row_problem() -> None:
    r = run([ANN], [unlimited(Adjust=1)])
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert str(r.note("Packages", 2)).startswith("Adjust: ")


def test_a_pass_keeps_its_for_and_weekly_limit() -> None:
    sessions = [sess(d, "Group") for d in ("2026-11-16", "2026-11-17", "2026-11-18")]
    sessions.append(sess("2026-11-19", "1-on-1"))
    r = run([ANN], [unlimited(For="Group", **{"Per week": 2})], sessions, types=TYPES)
    assert r.cell("Sessions", 3, "Status") == "Deducted"
    assert r.note("Sessions", 4) == "no package with credits left on 2026-11-18"
    assert r.note("Sessions", 5) == "no package for 1-on-1 with credits left on 2026-11-19"


def test_a_pass_and_a_pack_the_auto_pick_takes_the_sooner_to_expire() -> None:
    packages = [pack(Expires=date(2027, 1, 1)), unlimited("P-0002")]
    r = run([ANN], packages, [sess("2026-11-05"), sess("2026-12-05")])
    assert r.filled("Sessions")[(2, "Package ID")] == "P-0002"
    assert r.filled("Sessions")[(3, "Package ID")] == "P-0001"
    assert r.cell("Clients", 2, "Credits left") == "Unlimited"


def test_an_unlimited_pass_is_never_low_exhausted_nor_expired_unused() -> None:
    settings_days = [date(2026, 11, 25), date(2026, 12, 1), date(2026, 12, 20)]
    kinds: set[str] = set()
    for today in settings_days:
        r = run([ANN], [unlimited()], [sess("2026-11-05")], today=today)
        kinds |= {e.kind for e in r.result.events}
    assert "expiring_soon" in kinds
    assert not kinds & {"low", "exhausted", "expired_unused"}


def test_an_unlimited_pass_warns_of_expiry_while_a_day_is_left() -> None:
    r = run([ANN], [unlimited()], [], today=date(2026, 11, 30))
    (event,) = [e for e in r.result.events if e.kind == "expiring_soon"]
    assert event.key == "expiring:p-1:2026-12-01"
    assert event.subject.endswith("(1 day) as an unlimited pass")
    assert [e for e in run([ANN], [unlimited()], [], today=date(2026, 12, 1)).result.events] == []


# --- the Dashboard ------------------------------------------------------------------------


def test_dashboard_values_a_pass_by_the_share_of_its_term_ahead() -> None:
    # 30 days from 2026-11-01 to 2026-12-01; on 2026-11-26, 5 are ahead: 120 x 5/30.
    r = run([ANN], [unlimited(Price=120)], [sess("2026-11-02")], today=date(2026, 11, 26))
    d = r.result.dashboard
    assert d.prepaid_unused == Decimal("20.00")
    assert d.credits_outstanding == 0
    assert d.low_clients == ()
    assert d.expiring == (
        ("P-0001", "Ann Lee", "Monthly Unlimited", "Unlimited", date(2026, 12, 1)),
    )


@pytest.mark.parametrize(
    ("today", "value"),
    [(date(2026, 10, 20), "120.00"), (date(2026, 11, 1), "120.00"), (date(2026, 11, 30), "4.00")],
)
def test_a_pass_not_started_is_worth_its_whole_price(today: date, value: str) -> None:
    r = run([ANN], [unlimited(Price=120)], [], today=today)
    assert r.result.dashboard.prepaid_unused == Decimal(value)


def test_dashboard_value_expired_unused_over_the_last_twelve_months() -> None:
    packages = [
        pack(Price=250, Expires=date(2026, 11, 1)),  # 5 unused: 250
        pack("P-0002", Price=100, Sessions=10, Expires=date(2025, 10, 1)),  # too long ago
        pack("P-0003", Price=100, Sessions=4, Expires=date(2026, 2, 1)),  # 3 unused: 75
        unlimited("P-0004", Price=120, Expires=date(2026, 11, 10)),  # a pass: no breakage
        pack("P-0005", Price=90, Sessions=3),  # not expired
    ]
    sessions = [sess("2026-01-15", **{"Package ID": "P-0003"})]
    r = run([ANN], packages, sessions, today=date(2026, 11, 20))
    assert r.result.dashboard.expired_unused == Decimal("325.00")


def test_dashboard_prices_credits_not_sessions() -> None:
    r = run([ANN], [pack(Price=100)], [sess("2026-11-02", "Massage 90")], types=TYPES)
    d = r.result.dashboard
    assert d.credits_outstanding == 3
    assert d.prepaid_unused == Decimal("60.00")
    assert d.months[-1].sessions_used == 1


# --- client notices ---------------------------------------------------------------------


def test_a_session_rejected_for_want_of_credits_tells_the_client_once() -> None:
    client = {"Client": "Ann Lee", "Email": "ann@example.com"}
    sessions = [sess("2026-11-10"), sess("2026-11-12"), sess("2026-11-24")]
    r = run([client], [pack(Sessions=2)], sessions, client_notices=True)
    (notice,) = [e for e in r.result.events if e.kind == "client_rejected"]
    assert notice.audience == "ann@example.com"
    assert notice.subject == (
        "Your 5-Session Pack is used up: your session on 2026-11-24 is not covered"
    )
    assert notice.key.startswith("client-rejected:2026-11-24|ann lee|")


@pytest.mark.parametrize(
    "package",
    [
        pack(For="1-on-1"),  # not for the type
        pack(Expires=date(2026, 11, 1)),  # expired
        pack(**{"Per week": 1}),  # the weekly limit
    ],
)
def test_other_rejections_send_the_client_nothing(package: dict[str, object]) -> None:
    client = {"Client": "Ann Lee", "Email": "ann@example.com"}
    sessions = [sess("2026-11-17", "1-on-1"), sess("2026-11-18", "Group")]
    r = run([client], [package], sessions, client_notices=True, types=TYPES)
    assert r.cell("Sessions", 3, "Status") == "Rejected"
    assert [e for e in r.result.events if e.kind == "client_rejected"] == []
