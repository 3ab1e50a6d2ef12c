"""Tabs and columns: found by name, missing, duplicated, reordered, extra."""

from __future__ import annotations

from datetime import date

from rules.engine import compute
from rules.model import Table
from tests.workbooks import TODAY, run, tables


def test_tabs_and_columns_are_found_by_name_whatever_the_case_spacing_or_order() -> None:
    wb = {
        " clients ": Table(" clients ", ["My notes", " CLIENT", "billing"], [["vip", "Ann", ""]]),
        "PACKAGES": Table(
            "PACKAGES",
            ["sessions", "client", "purchased", "package id"],
            [[5, "ann", "2026-01-01", "P-0001"]],
        ),
        "Sessions": Table("Sessions", ["client", "date"], [["ANN", "2026-11-01"]]),
    }
    r = compute(wb, today=TODAY)
    assert r.structural == ()
    assert r.packages[0].used == 1
    clients = r.tabs[0]
    # Missing computed columns are added at the right end of the header row.
    assert clients.new_headers == {"Credits left": 3, "Sync note": 4}
    assert clients.positions["Client"] == 1


def test_a_missing_required_tab_blocks_the_core_tabs_and_is_reported() -> None:
    wb = tables([{"Client": "Ann"}])
    del wb["Sessions"]
    r = compute(wb, today=TODAY)
    assert r.blocked
    assert r.tabs == ()
    assert [str(p) for p in r.structural] == ["Sessions: the 'Sessions' tab is missing"]
    assert [e.kind for e in r.events] == ["sheet_problem"]


def test_a_missing_required_column_is_structural() -> None:
    wb = tables([{"Client": "Ann"}])
    wb["Sessions"] = Table("Sessions", ["When", "Client"], [])
    r = compute(wb, today=TODAY)
    assert [str(p) for p in r.structural] == ["Sessions: the required column 'Date' is missing"]
    assert r.blocked


def test_a_duplicated_known_column_is_structural() -> None:
    wb = tables([{"Client": "Ann"}])
    wb["Clients"] = Table("Clients", ["Client", "Email", "client"], [["Ann", "", "Bob"]])
    r = compute(wb, today=TODAY)
    assert [p.message for p in r.structural] == [
        "the 'Client' column appears more than once (columns A and C): rename or remove all but one"
    ]


def test_missing_templates_tab_is_fine_and_a_broken_one_only_hits_its_users() -> None:
    wb = tables(
        [{"Client": "Ann"}],
        [
            {"Client": "Ann", "Sessions": 5, "Purchased": date(2026, 1, 1)},
            {"Client": "Ann", "Template": "Basic", "Purchased": date(2026, 1, 1)},
        ],
    )
    assert compute(wb, today=TODAY).structural == ()
    wb["Templates"] = Table("Templates", ["Template", "Price"], [["Basic", 10]])
    r = compute(wb, today=TODAY)
    assert not r.blocked
    assert [str(p) for p in r.structural] == [
        "Templates: the required column 'Sessions' is missing"
    ]
    notes = {c.name: c.values for c in r.tabs[1].columns}["Sync note"]
    assert notes[0] is None
    assert notes[1] == (
        "Template: the Templates tab cannot be used: the required column 'Sessions' is missing"
    )


def test_optional_input_columns_may_be_left_out() -> None:
    wb = {
        "Clients": Table("Clients", ["Client"], [["Ann"]]),
        "Packages": Table("Packages", ["Client", "Sessions"], [["Ann", 3]]),
        "Sessions": Table("Sessions", ["Date", "Client"], [["2026-11-20", "Ann"]]),
    }
    r = compute(wb, today=TODAY)
    # No Package ID column: IDs are still assigned for notes but nowhere to fill.
    assert r.sessions[0].note == "P-0001: 2 of 3 left"
    assert all(t.fills == () for t in r.tabs)
    assert "Package ID" not in r.tabs[1].new_headers


def test_balance_link_column_only_when_the_page_is_enabled() -> None:
    from rules.model import Settings

    off = run([{"Client": "Ann"}])
    assert "Balance link" not in off.result.tabs[0].new_headers
    on = run(
        [{"Client": "Ann"}],
        settings=Settings(balance_links=True),
        balance_links={"ann": "https://x.example/b/tok"},
    )
    assert on.cell("Clients", 2, "Balance link") == "https://x.example/b/tok"
