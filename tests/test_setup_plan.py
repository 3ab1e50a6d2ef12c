"""init's one pure plan, carried out by both backends: plain values in, plain values out."""

from __future__ import annotations

from datetime import date

import pytest

from rules.schema import TABS, Column, Tab
from sync.backends.base import Layout, WorkbookUnavailable
from sync.backends.setup import Dropdown, NewColumn, TabFound, plan_setup

CLIENTS, PACKAGES = TABS[0], TABS[1]


def test_an_empty_workbook_gets_every_tab_frozen_with_its_columns_and_dropdowns() -> None:
    plan = plan_setup(Layout(tabs=TABS), {})
    # The optional Session types tab is prepared only where it exists (or the demo fills it).
    assert [t.name for t in plan.tabs if t.create] == [t.name for t in TABS if t.created]
    assert "Session types" not in [t.name for t in plan.tabs]
    assert all(t.freeze for t in plan.tabs)
    packages = plan.tabs[1]
    assert [c.name for c in packages.columns] == [c.name for c in PACKAGES.columns]
    assert packages.dropdowns == (
        Dropdown(1, "Client", source=("Clients", 0)),
        Dropdown(3, "Template", source=("Templates", 0)),
    )
    assert plan.done[:3] == [
        "added the Clients tab",
        "Clients: added the columns Client, Email, Billing, Credits left, Balance link, Sync note",
        "Clients: froze the header row",
    ]
    assert plan.done[-1] == "Sessions: added a dropdown to Outcome"


def test_missing_columns_go_at_the_right_end_of_what_is_there() -> None:
    found = {
        "clients": TabFound("clients ", ("Phone", "client", None, "Billing"), frozen=True),
    }
    plan = plan_setup(Layout(tabs=(CLIENTS,)), found)
    (clients,) = plan.tabs
    assert not clients.create and not clients.freeze and clients.title == "clients "
    assert clients.columns == (
        NewColumn(4, "Email", 12),
        NewColumn(5, "Credits left", 16),
        NewColumn(6, "Balance link", 36),
        NewColumn(7, "Sync note", 36),
    )
    assert clients.dropdowns == (Dropdown(3, "Billing", choices=CLIENTS.column("Billing").choices),)


def test_a_column_that_already_has_a_dropdown_keeps_it() -> None:
    found = {"clients": TabFound("Clients", ("Client", "Billing"), True, frozenset({1}))}
    plan = plan_setup(Layout(tabs=(CLIENTS,)), found)
    assert plan.tabs[0].dropdowns == ()
    assert not any("dropdown" in line for line in plan.done)


def test_a_dropdown_lists_the_first_column_of_its_source_tab_wherever_it_stands() -> None:
    types = Tab("Session types", (Column("Type", required=True), Column("Credits")), False)
    sessions = Tab("Sessions", (Column("Date"), Column("Type", choices_from="Session types")))
    found = {"session types": TabFound("Session Types", ("Credits", "Type"), True)}
    plan = plan_setup(Layout(tabs=(types, sessions)), found)
    assert plan.tabs[1].dropdowns == (Dropdown(1, "Type", source=("Session Types", 1)),)


def test_demo_rows_are_cells_at_their_columns_and_refused_on_a_tab_with_rows() -> None:
    demo = {"Clients": [{"Client": "Ann Lee", "Billing": "Package"}]}
    plan = plan_setup(Layout(tabs=(CLIENTS,), demo=demo), {})
    assert [(c.row, c.col, c.value, c.kind) for c in plan.tabs[0].demo] == [
        (2, 0, "Ann Lee", "text"),
        (2, 2, "Package", "text"),
    ]
    assert plan.done[-1] == "Clients: added 1 demo rows"
    found = {"clients": TabFound("Clients", ("Client",), True, has_rows=True)}
    with pytest.raises(WorkbookUnavailable, match="--demo only fills an empty workbook"):
        plan_setup(Layout(tabs=(CLIENTS,), demo={"Clients": [{"Client": date(2026, 1, 1)}]}), found)


def test_nothing_to_do_is_an_empty_plan() -> None:
    header = tuple(c.name for c in CLIENTS.columns)
    dropdown = frozenset({2})
    plan = plan_setup(
        Layout(tabs=(CLIENTS,)), {"clients": TabFound("Clients", header, True, dropdown)}
    )
    assert not plan and plan.done == []
