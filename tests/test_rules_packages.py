"""Packages, clients and templates: IDs, fills, validation, statuses, colors, credits."""

from __future__ import annotations

from datetime import date

import pytest

from rules.model import Settings
from tests.workbooks import TODAY, run

ANN = {"Client": "Ann Lee"}
BOB = {"Client": "Bob Stone"}
GREEN, AMBER, RED, GREY = "#B7E1CD", "#FCE8B2", "#F4C7C3", "#D9D9D9"


def pkg(**values: object) -> dict[str, object]:
    return {"Client": "Ann Lee", "Sessions": 5, "Purchased": date(2026, 1, 1), **values}


# --- IDs ------------------------------------------------------------------------


def test_blank_ids_get_the_next_free_number_above_the_highest_present() -> None:
    packages = [pkg(**{"Package ID": "P-0007"}), pkg(), pkg(**{"Package ID": "p-3"}), pkg()]
    r = run([ANN], packages)
    assert r.filled("Packages") == {(3, "Package ID"): "P-0008", (5, "Package ID"): "P-0009"}


def test_ids_named_only_by_sessions_are_never_reused() -> None:
    sessions = [{"Date": "2026-02-01", "Client": "Ann Lee", "Package ID": "P-0012"}]
    r = run([ANN], [pkg()], sessions)
    assert r.filled("Packages")[(2, "Package ID")] == "P-0013"


def test_typed_ids_of_any_form_are_kept_and_compared_case_insensitively() -> None:
    packages = [pkg(**{"Package ID": "ann-2026"}), pkg(**{"Package ID": " ANN-2026 "})]
    r = run([ANN], packages)
    assert r.cell("Packages", 2, "Status") == "Active"
    assert r.cell("Packages", 3, "Status") == "Invalid"
    assert r.note("Packages", 3) == "Package ID: 'ANN-2026' is already used on row 2"


def test_p7_and_p0007_are_the_same_id() -> None:
    packages = [pkg(**{"Package ID": "P-0007"}), pkg(**{"Package ID": "p-7"})]
    r = run([ANN], packages)
    assert r.note("Packages", 3) == "Package ID: 'p-7' is already used on row 2"


# --- validation: invalid rows are left as typed --------------------------------


def test_an_invalid_package_gets_no_fills_and_counts_for_no_one() -> None:
    packages = [pkg(Client="Nobody", Template="Basic"), pkg()]
    r = run([ANN], packages, templates=[{"Template": "Basic", "Sessions": 3, "Expiry days": 30}])
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert set(r.filled("Packages")) == {(3, "Package ID")}
    assert r.cell("Clients", 2, "Credits left") == 5
    assert r.color("Packages", 2, "Status") == RED
    assert r.color("Packages", 2, "Progress") == RED
    assert r.cell("Packages", 2, "Used") is None


@pytest.mark.parametrize(
    ("values", "note"),
    [
        ({"Client": None}, "Client: blank (type a name from the Clients tab)"),
        (
            {"Sessions": None},
            "Sessions: blank (type the number of sessions bought, or pick a Template)",
        ),
        ({"Sessions": 0}, "Sessions: must be 1 or more (got 0)"),
        ({"Sessions": "10.5"}, "Sessions: '10.5' is not a whole number of 1 or more"),
        ({"Sessions": 10**9}, "Sessions: 1000000000 is more than 100000: is that a typo?"),
        ({"Price": "-5"}, "Price: must be 0 or more (got '-5')"),
        ({"Price": "ten pounds"}, "Price: 'ten pounds' is not an amount of money"),
        (
            {"Purchased": "yesterday"},
            "Purchased: 'yesterday' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20",
        ),
        ({"Adjust": "1.5"}, "Adjust: '1.5' is not a whole number"),
        (
            {"Shared with": "Bobb Stone"},
            "Shared with: 'Bobb Stone' is not on the Clients tab (did you mean 'Bob Stone'?)",
        ),
        (
            {"Template": "Basik"},
            "Template: 'Basik' is not on the Templates tab (did you mean 'Basic'?)",
        ),
    ],
)
def test_package_row_problems_name_the_column(values: dict[str, object], note: str) -> None:
    r = run([ANN, BOB], [pkg(**values)], templates=[{"Template": "Basic", "Sessions": 3}])
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert r.note("Packages", 2) == note
    assert r.filled("Packages") == {}


def test_several_problems_are_all_listed() -> None:
    r = run([ANN], [pkg(Sessions=0, Price="abc")])
    assert r.note("Packages", 2) == (
        "Sessions: must be 1 or more (got 0); Price: 'abc' is not an amount of money"
    )


def test_a_template_with_a_problem_makes_its_packages_invalid_even_with_typed_values() -> None:
    templates = [{"Template": "Basic", "Sessions": "many"}]
    r = run([ANN], [pkg(Template="Basic", Sessions=5)], templates=templates)
    assert r.cell("Packages", 2, "Status") == "Invalid"
    assert r.note("Packages", 2) == (
        "Template: 'Basic' has a problem (Templates row 2: Sessions: 'many' is not a whole "
        "number of 1 or more)"
    )


def test_duplicate_client_rows_the_upper_stands() -> None:
    r = run([ANN, {"Client": " ann lee ", "Billing": "Monthly"}], [pkg()])
    assert r.note("Clients", 3) == "Client: 'ann lee' is already on row 2"
    assert r.color("Clients", 3, "Credits left") == RED
    assert r.cell("Clients", 2, "Credits left") == 5


def test_a_client_whose_only_row_is_invalid_is_unknown_elsewhere() -> None:
    r = run([{"Client": "Ann Lee", "Billing": "Weekly"}], [pkg()])
    assert (
        r.note("Clients", 2)
        == "Billing: 'Weekly' is not one of Package, Per-session, Monthly, None"
    )
    assert r.note("Packages", 2).startswith("Client: 'Ann Lee' is not on the Clients tab")


def test_a_bad_email_is_a_warning_not_a_problem() -> None:
    r = run([{**ANN, "Email": "ann@"}], [pkg()])
    assert r.cell("Clients", 2, "Credits left") == 5
    assert "does not look like an email address" in str(r.note("Clients", 2))
    assert r.result.problems == ()


# --- templates fill blanks; typed values win -------------------------------------


def test_template_fills_blank_cells_and_typed_values_win() -> None:
    templates = [
        {"Template": "10-Session Pack", "Sessions": 10, "Price": "£450", "Expiry days": 90}
    ]
    packages = [
        {"Client": "Ann Lee", "Template": "10-session pack", "Purchased": date(2026, 11, 1)},
        {
            "Client": "Ann Lee",
            "Template": "10-Session Pack",
            "Sessions": 12,
            "Price": 400,
            "Package": "Custom",
        },
    ]
    r = run([ANN], packages, templates=templates)
    filled = r.filled("Packages")
    assert filled == {
        (2, "Package ID"): "P-0001",
        (2, "Package"): "10-Session Pack",
        (2, "Sessions"): 10,
        (2, "Price"): 450,
        (2, "Expires"): date(2027, 1, 30),  # Purchased + 90 days
        (3, "Package ID"): "P-0002",
        (3, "Purchased"): TODAY,
        (3, "Expires"): date(2027, 2, 18),
    }
    assert r.package("P-0002").package.total == 12


def test_purchased_is_filled_with_today_and_expires_stays_blank_without_template() -> None:
    r = run([ANN], [{"Client": "Ann Lee", "Sessions": 3}])
    assert r.filled("Packages") == {(2, "Package ID"): "P-0001", (2, "Purchased"): TODAY}
    assert r.package("P-0001").package.expires is None


# --- Adjust, statuses, colors, progress --------------------------------------------


@pytest.mark.parametrize(
    ("adjust", "used", "remaining", "status"),
    [
        (None, 0, 5, "Active"),
        (1, 0, 6, "Active"),
        (-3, 0, 2, "Low"),
        (-5, 0, 0, "Exhausted"),
        (-9, 0, 0, "Exhausted"),
    ],
)
def test_adjust(adjust: object, used: int, remaining: int, status: str) -> None:
    r = run([ANN], [pkg(**{"Package ID": "P-0001", "Adjust": adjust})])
    p = r.package("P-0001")
    assert (p.used, p.remaining, p.status.value) == (used, remaining, status)


@pytest.mark.parametrize(
    ("sessions_used", "expires", "status", "color", "progress"),
    [
        (0, None, "Active", GREEN, "▰▰▰▰▰ 5/5"),
        (2, None, "Active", GREEN, "▰▰▰▱▱ 3/5"),
        (3, None, "Low", AMBER, "▰▰▱▱▱ 2/5"),
        (4, None, "Low", AMBER, "▰▱▱▱▱ 1/5"),
        (5, None, "Exhausted", RED, "▱▱▱▱▱ 0/5"),
        (2, TODAY, "Expired", GREY, "▰▰▰▱▱ 3/5"),
        (5, TODAY, "Expired", GREY, "▱▱▱▱▱ 0/5"),
        (2, date(2026, 11, 21), "Active", GREEN, "▰▰▰▱▱ 3/5"),
    ],
)
def test_statuses_colors_and_progress(
    sessions_used: int, expires: date | None, status: str, color: str, progress: str
) -> None:
    sessions = [{"Date": date(2026, 2, d + 1), "Client": "Ann Lee"} for d in range(sessions_used)]
    r = run([ANN], [pkg(**{"Package ID": "P-0001", "Expires": expires})], sessions)
    assert r.cell("Packages", 2, "Status") == status
    assert r.color("Packages", 2, "Status") == color
    assert r.cell("Packages", 2, "Progress") == progress
    assert r.color("Packages", 2, "Progress") == color
    # An expired package keeps Used and Remaining visible.
    assert r.cell("Packages", 2, "Used") == sessions_used


def test_low_threshold_is_configurable() -> None:
    r = run([ANN], [pkg(**{"Package ID": "P-0001"})], settings=Settings(low_credit_threshold=5))
    assert r.cell("Packages", 2, "Status") == "Low"


def test_progress_scales_past_ten_credits() -> None:
    sessions = [{"Date": date(2026, 2, d + 1), "Client": "Ann Lee"} for d in range(19)]
    r = run([ANN], [pkg(**{"Package ID": "P-0001", "Sessions": 20})], sessions)
    assert r.cell("Packages", 2, "Progress") == "▰▱▱▱▱▱▱▱▱▱ 1/20"


# --- Credits left ----------------------------------------------------------------


def test_credits_left_sums_own_and_shared_live_packages() -> None:
    packages = [
        pkg(**{"Package ID": "P-0001"}),
        pkg(
            **{
                "Package ID": "P-0002",
                "Client": "Bob Stone",
                "Shared with": "Ann Lee",
                "Sessions": 10,
            }
        ),
        pkg(**{"Package ID": "P-0003", "Expires": date(2026, 6, 1)}),  # expired: not counted
        pkg(**{"Package ID": "P-0004", "Sessions": "x"}),  # invalid: not counted
    ]
    r = run([ANN, BOB], packages)
    assert r.cell("Clients", 2, "Credits left") == 15
    assert r.color("Clients", 2, "Credits left") == GREEN
    assert r.cell("Clients", 3, "Credits left") == 10
    assert r.result.client_credits == {"Ann Lee": 15, "Bob Stone": 10}


@pytest.mark.parametrize(("credits", "color"), [(0, RED), (1, AMBER), (2, AMBER), (3, GREEN)])
def test_credits_left_colors(credits: int, color: str) -> None:
    r = run([ANN], [pkg(Sessions=credits, Adjust=None)] if credits else [])
    assert r.cell("Clients", 2, "Credits left") == credits
    assert r.color("Clients", 2, "Credits left") == color


def test_credits_left_is_blank_and_uncolored_for_non_package_clients() -> None:
    r = run([{**ANN, "Billing": "Per-session"}], [pkg()])
    assert r.cell("Clients", 2, "Credits left") is None
    assert r.color("Clients", 2, "Credits left") is None


# --- blank rows and columns ----------------------------------------------------------


def test_blank_rows_are_skipped_and_their_computed_cells_cleared() -> None:
    r = run([ANN, {}, {"Client": "  "}, BOB], [pkg(**{"Package ID": "P-0001"}), {"Notes": "x"}])
    assert r.result.rows_read["Clients"] == 2
    assert r.cell("Clients", 3, "Credits left") is None
    assert r.cell("Clients", 5, "Credits left") == 0
    assert r.result.rows_read["Packages"] == 1
