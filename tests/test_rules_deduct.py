"""Deduction rules 1-6 and their note wordings, from the workbook contract."""

from __future__ import annotations

from datetime import date

import pytest

from rules.model import Settings
from rules.schema import Outcome
from tests.workbooks import run

ANN = {"Client": "Ann Lee"}
BOB = {"Client": "Bob Stone"}


def five(pid: str = "P-0001", client: str = "Ann Lee", **extra: object) -> dict[str, object]:
    return {
        "Package ID": pid,
        "Client": client,
        "Package": "5-Session Pack",
        "Sessions": 5,
        "Purchased": date(2026, 1, 1),
        **extra,
    }


def sess(day: str, client: str = "Ann Lee", **extra: object) -> dict[str, object]:
    return {"Date": day, "Client": client, **extra}


def test_a_deducted_session_names_the_package_and_what_is_left() -> None:
    r = run([ANN], [five()], [sess("2026-11-01"), sess("2026-11-02"), sess("2026-11-03")])
    assert r.note("Sessions", 2) == "P-0001: 4 of 5 left"
    assert r.note("Sessions", 4) == "P-0001: 2 of 5 left"
    assert r.cell("Sessions", 4, "Status") == "Deducted"
    p = r.package("P-0001")
    assert (p.used, p.remaining, p.status.value) == (3, 2, "Low")


def test_the_sixth_session_on_a_five_pack_is_rejected_and_remaining_stays_zero() -> None:
    sessions = [sess(f"2026-11-0{d}", **{"Package ID": "P-0001"}) for d in range(1, 7)]
    r = run([ANN], [five()], sessions)
    assert r.cell("Sessions", 7, "Status") == "Rejected"
    assert r.note("Sessions", 7) == "no credits left on P-0001 (5 of 5 used)"
    p = r.package("P-0001")
    assert (p.used, p.remaining, p.status.value) == (5, 0, "Exhausted")
    assert r.cell("Packages", 2, "Remaining") == 0


def test_blank_package_with_no_usable_package_is_rejected_with_the_date() -> None:
    r = run([ANN], [five()], [sess(f"2026-11-{d:02d}") for d in range(1, 7)])
    assert r.note("Sessions", 7) == "no package with credits left on 2026-11-06"
    assert r.filled("Sessions").get((7, "Package ID")) is None


def test_rows_are_taken_in_date_order_then_row_order() -> None:
    sessions = [sess("2026-11-05"), sess("2026-11-01"), sess("2026-11-05")]
    r = run([ANN], [five(Sessions=2)], sessions)
    assert r.note("Sessions", 3) == "P-0001: 1 of 2 left"
    assert r.note("Sessions", 2) == "P-0001: 0 of 2 left"
    assert r.cell("Sessions", 4, "Status") == "Rejected"


@pytest.mark.parametrize(
    ("outcome", "status", "note"),
    [
        ("Attended", "Deducted", "P-0001: 4 of 5 left"),
        ("", "Deducted", "P-0001: 4 of 5 left"),
        ("No-show", "Deducted", "P-0001: 4 of 5 left"),
        ("no show", "Deducted", "P-0001: 4 of 5 left"),
        ("Late cancel", "Deducted", "P-0001: 4 of 5 left"),
        ("late cancellation", "Deducted", "P-0001: 4 of 5 left"),
        ("Cancelled", "Not deducted", "Cancelled: no credit used"),
        ("canceled", "Not deducted", "Cancelled: no credit used"),
    ],
)
def test_outcomes(outcome: str, status: str, note: str) -> None:
    r = run([ANN], [five()], [sess("2026-11-01", Outcome=outcome)])
    assert (r.cell("Sessions", 2, "Status"), r.note("Sessions", 2)) == (status, note)


def test_deduct_outcomes_is_configurable() -> None:
    settings = Settings(deduct_outcomes=frozenset({Outcome.ATTENDED}))
    r = run([ANN], [five()], [sess("2026-11-01", Outcome="No-show")], settings=settings)
    assert r.note("Sessions", 2) == "No-show: no credit used"


def test_unknown_outcome_is_a_row_problem() -> None:
    r = run([ANN], [five()], [sess("2026-11-01", Outcome="Sick")])
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Outcome: 'Sick' is not one of Attended, No-show, Late cancel, Cancelled"
    )
    assert r.color("Sessions", 2, "Status") == "#F4C7C3"


@pytest.mark.parametrize(
    ("billing", "note"),
    [
        ("Per-session", "Ann Lee is billed Per-session: no package credit used"),
        ("per session", "Ann Lee is billed Per-session: no package credit used"),
        ("Monthly", "Ann Lee is billed Monthly: no package credit used"),
        ("None", "Ann Lee is billed no billing: no package credit used"),
        ("no billing", "Ann Lee is billed no billing: no package credit used"),
    ],
)
def test_non_package_clients_are_not_deducted(billing: str, note: str) -> None:
    r = run([{**ANN, "Billing": billing}], [five()], [sess("2026-11-01")])
    assert r.cell("Sessions", 2, "Status") == "Not deducted"
    assert r.note("Sessions", 2) == note
    assert r.package("P-0001").used == 0
    assert r.cell("Clients", 2, "Credits left") is None


def test_outcome_rule_comes_before_billing_rule_and_nothing_is_picked() -> None:
    r = run([{**ANN, "Billing": "Monthly"}], [five()], [sess("2026-11-01", Outcome="Cancelled")])
    assert r.note("Sessions", 2) == "Cancelled: no credit used"
    assert r.filled("Sessions") == {}


def test_a_named_package_of_someone_else_is_rejected() -> None:
    r = run(
        [ANN, BOB], [five(client="Bob Stone")], [sess("2026-11-01", **{"Package ID": "P-0001"})]
    )
    assert r.cell("Sessions", 2, "Status") == "Rejected"
    assert r.note("Sessions", 2) == "P-0001 is Bob Stone's package and is not shared with Ann Lee"


def test_a_session_on_or_after_expiry_is_rejected() -> None:
    pkg = five(Expires=date(2026, 11, 10))
    r = run(
        [ANN],
        [pkg],
        [
            sess("2026-11-09", **{"Package ID": "P-0001"}),
            sess("2026-11-10", **{"Package ID": "p-1"}),
        ],
    )
    assert r.cell("Sessions", 2, "Status") == "Deducted"
    assert r.note("Sessions", 3) == "P-0001 expired on 2026-11-10"


def test_a_session_before_purchase_is_rejected() -> None:
    r = run([ANN], [five()], [sess("2025-12-31", **{"Package ID": "P-0001"})])
    assert r.note("Sessions", 2) == "P-0001 was purchased on 2026-01-01, after this session"


def test_order_of_reasons_not_shared_comes_before_expired() -> None:
    pkg = five(client="Bob Stone", Expires=date(2026, 2, 1))
    r = run([ANN, BOB], [pkg], [sess("2026-11-01", **{"Package ID": "P-0001"})])
    assert r.note("Sessions", 2).startswith("P-0001 is Bob Stone's package")


def test_order_of_reasons_expired_comes_before_before_purchase() -> None:
    pkg = five(Purchased=date(2026, 6, 1), Expires=date(2026, 5, 1))
    r = run([ANN], [pkg], [sess("2026-05-15", **{"Package ID": "P-0001"})])
    assert r.note("Sessions", 2) == "P-0001 expired on 2026-05-01"


def test_an_invalid_package_takes_no_sessions_and_the_note_points_at_it() -> None:
    pkg = five(Sessions="ten")
    r = run([ANN], [pkg], [sess("2026-11-01", **{"Package ID": "P-0001"})])
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert r.cell("Sessions", 2, "Status") == "Rejected"
    note = r.note("Sessions", 2)
    assert note.startswith("P-0001 cannot take sessions until its row is fixed (Packages row 2:")
    assert "Sessions: 'ten' is not a whole number" in note


def test_a_package_named_by_name_unique_among_the_clients_packages() -> None:
    packages = [five(), five("P-0002", Package="Couples Pack")]
    r = run([ANN], packages, [sess("2026-11-01", **{"Package ID": " couples pack "})])
    assert r.note("Sessions", 2) == "P-0002: 4 of 5 left"


def test_a_name_matching_several_packages_is_invalid() -> None:
    packages = [five(), five("P-0002")]
    r = run([ANN], packages, [sess("2026-11-01", **{"Package ID": "5-Session Pack"})])
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Package ID: '5-Session Pack' matches several of Ann Lee's packages "
        "(P-0001, P-0002): type the Package ID"
    )


def test_an_unknown_package_is_invalid_with_a_suggestion() -> None:
    r = run([ANN], [five()], [sess("2026-11-01", **{"Package ID": "P-0011"})])
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Package ID: 'P-0011' is not a Package ID nor one of Ann Lee's packages "
        "(did you mean 'P-0001'?)"
    )


def test_package_names_are_looked_up_among_shared_packages_too() -> None:
    family = five(**{"Package": "Family Pack", "Shared with": "Bob Stone"})
    r = run(
        [ANN, BOB], [family], [sess("2026-11-01", "Bob Stone", **{"Package ID": "family pack"})]
    )
    assert r.note("Sessions", 2) == "P-0001: 4 of 5 left"


def test_unknown_client_is_invalid_with_did_you_mean() -> None:
    r = run([{"Client": "John Smith"}], [], [sess("2026-11-01", "Jon Smith")])
    assert r.cell("Sessions", 2, "Status") == "Invalid"
    assert r.note("Sessions", 2) == (
        "Client: 'Jon Smith' is not on the Clients tab (did you mean 'John Smith'?)"
    )


def test_future_dated_sessions_hold_their_credit() -> None:
    r = run([ANN], [five()], [sess("2027-01-15")])
    assert r.cell("Sessions", 2, "Status") == "Deducted"
    assert r.package("P-0001").remaining == 4


# --- rule 5: the auto-pick ------------------------------------------------------


def test_auto_pick_takes_the_package_that_expires_first_and_writes_its_id() -> None:
    packages = [
        five("P-0001"),  # never expires
        five("P-0002", Expires=date(2027, 3, 1)),
        five("P-0003", Expires=date(2027, 1, 1)),
    ]
    r = run([ANN], packages, [sess("2026-11-01")])
    assert r.note("Sessions", 2) == "P-0003: 4 of 5 left"
    assert r.filled("Sessions") == {(2, "Package ID"): "P-0003"}


def test_auto_pick_prefers_own_over_shared_then_earliest_purchase_then_upper_row() -> None:
    shared = five("P-0001", client="Bob Stone", **{"Shared with": "Ann Lee"})
    own_late = five("P-0002", Purchased=date(2026, 3, 1))
    own_early = five("P-0003", Purchased=date(2026, 2, 1))
    own_early_too = five("P-0004", Purchased=date(2026, 2, 1))
    r = run([ANN, BOB], [shared, own_late, own_early, own_early_too], [sess("2026-11-01")])
    assert r.filled("Sessions") == {(2, "Package ID"): "P-0003"}
    r = run([ANN, BOB], [shared, own_early_too, own_early], [sess("2026-11-01")])
    assert r.filled("Sessions") == {(2, "Package ID"): "P-0004"}
    r = run([ANN, BOB], [shared], [sess("2026-11-01")])
    assert r.filled("Sessions") == {(2, "Package ID"): "P-0001"}


def test_auto_pick_skips_packages_not_usable_on_the_date() -> None:
    packages = [
        five("P-0001", Expires=date(2026, 10, 1)),  # expired on the date
        five("P-0002", Purchased=date(2026, 12, 1)),  # bought after
        five("P-0003", Sessions=1),  # used up by the first session
        five("P-0004", Expires=date(2027, 6, 1)),
    ]
    sessions = [sess("2026-10-30", **{"Package ID": "P-0003"}), sess("2026-11-01")]
    r = run([ANN], packages, sessions)
    assert r.filled("Sessions") == {(3, "Package ID"): "P-0004"}


def test_a_picked_package_is_named_next_time_with_the_same_results() -> None:
    packages = [five("P-0001", Expires=date(2027, 1, 1)), five("P-0002")]
    first = run([ANN], packages, [sess("2026-11-01"), sess("2026-11-02")])
    picks = first.filled("Sessions")
    sessions = [
        sess("2026-11-01", **{"Package ID": picks[(2, "Package ID")]}),
        sess("2026-11-02", **{"Package ID": picks[(3, "Package ID")]}),
    ]
    second = run([ANN], packages, sessions)
    assert second.filled("Sessions") == {}
    assert [s.note for s in second.result.sessions] == [s.note for s in first.result.sessions]


def test_expires_on_or_before_purchase_is_not_a_problem_but_takes_nothing() -> None:
    pkg = five(Expires=date(2026, 1, 1))
    r = run([ANN], [pkg], [sess("2026-11-01")])
    assert r.note("Packages", 2) is None
    assert r.cell("Packages", 2, "Status") == "Expired"
    assert r.note("Sessions", 2) == "no package with credits left on 2026-11-01"
