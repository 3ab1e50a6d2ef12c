"""Invariants of the engine, checked on generated workbooks (hypothesis).

- a second sync changes nothing;
- a bad row never changes any other row's result;
- Remaining is never negative, and the Used column adds up to the Deducted sessions;
- shuffling row order changes nothing but row-order tie-breaks.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import compute
from rules.model import Result
from rules.schema import SessionStatus
from sync.config import Config
from sync.cycle import run_cycle
from tests.memory import MemoryBackend
from tests.workbooks import TODAY, tables

NAMES = ["Ann Lee", "Bob Stone", "Cara Diaz", "Dev Rao"]
OUTCOMES = ["", "Attended", "No-show", "Late cancel", "Cancelled"]
BASE = date(2026, 6, 1)

days = st.integers(min_value=0, max_value=200)


TYPES = [{"Type": "1-on-1"}, {"Type": "Group", "Credits": 1}, {"Type": "Massage 90", "Credits": 2}]
TYPE_NAMES = ["", "1-on-1", "Group", "Massage 90"]


@st.composite
def workbooks(
    draw: st.DrawFn, *, typed_ids: bool = False, distinct: bool = False, kinds: bool = False
) -> dict:
    """A generated workbook; ``kinds``: with session types, ``For``, ``Per week`` and
    unlimited passes."""
    n_clients = draw(st.integers(1, 4))
    clients = [
        {
            "Client": NAMES[i],
            "Billing": draw(st.sampled_from(["", "Package", "Package", "Monthly"])),
        }
        for i in range(n_clients)
    ]
    n_packages = draw(st.integers(0, 5))
    purchase_days = (
        draw(st.lists(days, min_size=n_packages, max_size=n_packages, unique=True))
        if distinct
        else [draw(days) for _ in range(n_packages)]
    )
    packages = []
    for i in range(n_packages):
        row: dict[str, object] = {
            "Client": NAMES[draw(st.integers(0, n_clients - 1))],
            "Sessions": draw(st.integers(1, 6)),
            "Purchased": BASE + timedelta(days=purchase_days[i]),
        }
        if typed_ids or draw(st.booleans()):
            row["Package ID"] = f"P-{i + 1:04d}"
        if draw(st.booleans()):
            row["Expires"] = BASE + timedelta(days=purchase_days[i] + draw(st.integers(1, 120)))
        if draw(st.booleans()):
            row["Adjust"] = draw(st.integers(-3, 2))
        if draw(st.booleans()):
            row["Shared with"] = NAMES[draw(st.integers(0, n_clients - 1))]
        if kinds:
            if draw(st.integers(0, 3)) == 0:
                row["Sessions"] = "Unlimited"
                row.pop("Adjust", None)
                start = BASE + timedelta(days=purchase_days[i])
                row["Expires"] = start + timedelta(days=draw(st.integers(1, 60)))
            if draw(st.booleans()):
                listed = draw(st.lists(st.sampled_from(TYPE_NAMES[1:]), min_size=1, max_size=2))
                row["For"] = ", ".join(listed)
            if draw(st.integers(0, 2)) == 0:
                row["Per week"] = draw(st.integers(1, 3))
        packages.append(row)
    n_sessions = draw(st.integers(0, 20))
    session_days = (
        draw(st.lists(days, min_size=n_sessions, max_size=n_sessions, unique=True))
        if distinct
        else [draw(days) for _ in range(n_sessions)]
    )
    sessions = []
    for i in range(n_sessions):
        srow: dict[str, object] = {
            "Date": BASE + timedelta(days=session_days[i]),
            "Client": NAMES[draw(st.integers(0, n_clients - 1))],
            "Outcome": draw(st.sampled_from(OUTCOMES)),
        }
        if n_packages and draw(st.integers(0, 3)) == 0:
            srow["Package ID"] = f"P-{draw(st.integers(1, n_packages)):04d}"
        if kinds:
            srow["Type"] = draw(st.sampled_from(TYPE_NAMES))
        sessions.append(srow)
    return {
        "clients": clients,
        "packages": packages,
        "sessions": sessions,
        "types": TYPES if kinds else None,
    }


def of(wb: dict, **changed: list) -> dict:
    """The workbook's tables, with some tabs' rows replaced."""
    rows = {**wb, **changed}
    return tables(rows["clients"], rows["packages"], rows["sessions"], types=rows["types"])


def computed(result: Result) -> dict[tuple[str, int, str], object]:
    """Every computed cell and color, by (tab, row, column)."""
    out: dict[tuple[str, int, str], object] = {}
    for tab in result.tabs:
        for col in tab.columns:
            for i, value in enumerate(col.values):
                out[(tab.title, i + 2, col.name)] = value
                if col.colors is not None:
                    out[(tab.title, i + 2, col.name + " color")] = col.colors[i]
    return out


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(workbooks())
def test_a_second_sync_changes_nothing(wb: dict) -> None:
    backend = MemoryBackend(tables(wb["clients"], wb["packages"], wb["sessions"]))
    config = Config()
    clock = lambda: datetime(2026, 11, 20, 12, tzinfo=UTC)  # noqa: E731
    first = run_cycle(config, backend, now=clock())
    second = run_cycle(config, backend, now=clock())
    assert not second.plan, second.plan
    assert computed(first.result) == computed(second.result)
    assert backend.writes == (1 if first.plan else 0)


@PROPERTY
@given(workbooks(), st.data())
def test_a_bad_session_row_changes_no_other_row(wb: dict, data: st.DataObject) -> None:
    if not wb["sessions"]:
        return
    at = data.draw(st.integers(0, len(wb["sessions"]) - 1))
    bad = dict(wb["sessions"][at])
    bad.update(
        data.draw(
            st.sampled_from(
                [
                    {"Date": "someday"},
                    {"Client": "Nobody"},
                    {"Outcome": "Sick"},
                    {"Package ID": "P-9999"},
                ]
            )
        )
    )
    # A typed Package ID reserves its number wherever it stands (so a new package
    # never inherits a deleted one's sessions): the bad row must act exactly like
    # a row that holds nothing but that ID.
    blank = [dict(s) for s in wb["sessions"]]
    blank[at] = {"Package ID": bad["Package ID"]} if "Package ID" in bad else {}
    with_bad = [dict(s) for s in wb["sessions"]]
    with_bad[at] = bad
    a = computed(compute(tables(wb["clients"], wb["packages"], with_bad), today=TODAY))
    b = computed(compute(tables(wb["clients"], wb["packages"], blank), today=TODAY))
    row = at + 2
    assert a[("Sessions", row, "Status")] == "Invalid"
    assert {k: v for k, v in a.items() if k[:2] != ("Sessions", row)} == {
        k: v for k, v in b.items() if k[:2] != ("Sessions", row)
    }


@PROPERTY
@given(workbooks(), st.data())
def test_a_bad_package_row_changes_no_row_that_does_not_draw_on_it(
    wb: dict, data: st.DataObject
) -> None:
    # A package row without a typed ID that nothing names: as if it were not there.
    candidates = [i for i, p in enumerate(wb["packages"]) if "Package ID" not in p]
    if not candidates:
        return
    at = data.draw(st.sampled_from(candidates))
    bad = {**wb["packages"][at], "Sessions": data.draw(st.sampled_from(["many", 0, -2, 2.5]))}
    with_bad = [dict(p) for p in wb["packages"]]
    with_bad[at] = bad
    blank = [dict(p) for p in wb["packages"]]
    blank[at] = {}
    a = computed(compute(tables(wb["clients"], with_bad, wb["sessions"]), today=TODAY))
    b = computed(compute(tables(wb["clients"], blank, wb["sessions"]), today=TODAY))
    row = at + 2
    assert a[("Packages", row, "Status")] == "Invalid"
    assert {k: v for k, v in a.items() if k[:2] != ("Packages", row)} == {
        k: v for k, v in b.items() if k[:2] != ("Packages", row)
    }


@PROPERTY
@given(workbooks())
def test_remaining_is_never_negative_and_used_adds_up_to_deducted(wb: dict) -> None:
    r = compute(tables(wb["clients"], wb["packages"], wb["sessions"]), today=TODAY)
    assert all(p.remaining >= 0 for p in r.packages)
    assert all(p.used <= max(p.package.total, 0) for p in r.packages)
    deducted = sum(1 for s in r.sessions if s.status is SessionStatus.DEDUCTED)
    assert sum(p.used for p in r.packages) == deducted


@PROPERTY
@given(workbooks(typed_ids=True, distinct=True), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_no_result(wb: dict, rnd: random.Random) -> None:
    # Distinct dates and typed IDs leave no row-order tie-break to decide.
    def outcome(clients: list, packages: list, sessions: list) -> tuple:
        r = compute(tables(clients, packages, sessions), today=TODAY)
        per_package = sorted((p.package.id, p.used, p.remaining, p.status) for p in r.packages)
        per_session = sorted(
            (str(s.session.date), s.session.client.name, s.status, s.note)
            for s in r.sessions
            if s.session is not None
        )
        return per_package, per_session, sorted(r.client_credits.items())

    before = outcome(wb["clients"], wb["packages"], wb["sessions"])
    shuffled = [list(wb[k]) for k in ("clients", "packages", "sessions")]
    for rows in shuffled:
        rnd.shuffle(rows)
    assert outcome(*shuffled) == before


# --- with session types, credit costs, weekly limits and unlimited passes ---------------


def only_the_row_differs(with_bad: dict, blank: dict, tab: str, row: int) -> None:
    """The bad row is Invalid, and every other cell is as if the row were blank."""
    a = computed(compute(with_bad, today=TODAY))
    b = computed(compute(blank, today=TODAY))
    assert a[(tab, row, "Status")] == "Invalid"
    assert {k: v for k, v in a.items() if k[:2] != (tab, row)} == {
        k: v for k, v in b.items() if k[:2] != (tab, row)
    }


@PROPERTY
@given(workbooks(kinds=True))
def test_with_types_and_passes_a_second_sync_changes_nothing(wb: dict) -> None:
    backend = MemoryBackend(of(wb))
    config = Config()
    clock = lambda: datetime(2026, 11, 20, 12, tzinfo=UTC)  # noqa: E731
    first = run_cycle(config, backend, now=clock())
    second = run_cycle(config, backend, now=clock())
    assert not second.plan, second.plan
    assert computed(first.result) == computed(second.result)


@PROPERTY
@given(workbooks(kinds=True), st.data())
def test_with_types_a_bad_session_row_changes_no_other_row(wb: dict, data: st.DataObject) -> None:
    if not wb["sessions"]:
        return
    at = data.draw(st.integers(0, len(wb["sessions"]) - 1))
    bad = {**wb["sessions"][at], "Type": data.draw(st.sampled_from(["Yoga", "Gruop", "x"]))}
    blank = [dict(s) for s in wb["sessions"]]
    blank[at] = {"Package ID": bad["Package ID"]} if "Package ID" in bad else {}
    with_bad = [dict(s) for s in wb["sessions"]]
    with_bad[at] = bad
    only_the_row_differs(of(wb, sessions=with_bad), of(wb, sessions=blank), "Sessions", at + 2)


@PROPERTY
@given(workbooks(kinds=True), st.data())
def test_with_types_a_bad_package_row_changes_no_row_that_does_not_draw_on_it(
    wb: dict, data: st.DataObject
) -> None:
    candidates = [i for i, p in enumerate(wb["packages"]) if "Package ID" not in p]
    if not candidates:
        return
    at = data.draw(st.sampled_from(candidates))
    spoilt = data.draw(
        st.sampled_from(
            [{"For": "Yoga"}, {"Per week": 0}, {"Sessions": "Unlimited", "Expires": None}]
        )
    )
    with_bad = [dict(p) for p in wb["packages"]]
    with_bad[at] = {**wb["packages"][at], **spoilt}
    blank = [dict(p) for p in wb["packages"]]
    blank[at] = {}
    only_the_row_differs(of(wb, packages=with_bad), of(wb, packages=blank), "Packages", at + 2)


@PROPERTY
@given(workbooks(kinds=True))
def test_used_is_the_credits_of_the_deducted_sessions_and_remaining_never_negative(
    wb: dict,
) -> None:
    r = compute(of(wb), today=TODAY)
    credits = {"massage 90": 2}
    by_package: dict[str, int] = {}
    weekly: dict[tuple[str, int], int] = {}
    for s in r.sessions:
        if s.status is not SessionStatus.DEDUCTED:
            continue
        assert s.session is not None and s.package_id is not None
        cost = credits.get((s.session.type_key or ""), 1)
        assert s.session.credits == cost
        by_package[s.package_id] = by_package.get(s.package_id, 0) + cost
        week = (s.session.date.toordinal() - 1) // 7
        weekly[(s.package_id, week)] = weekly.get((s.package_id, week), 0) + 1
    for p in r.packages:
        assert p.used == by_package.get(p.package.id, 0)
        assert p.remaining >= 0
        if not p.package.unlimited:
            assert p.used <= max(p.package.total, 0)
        if p.package.per_week is not None:
            assert all(
                n <= p.package.per_week for (pid, _), n in weekly.items() if pid == p.package.id
            )


@PROPERTY
@given(workbooks(kinds=True))
def test_no_session_is_paid_by_a_package_whose_for_excludes_its_type(wb: dict) -> None:
    r = compute(of(wb), today=TODAY)
    packages = {p.package.id: p.package for p in r.packages}
    for s in r.sessions:
        if s.status is SessionStatus.DEDUCTED:
            assert s.session is not None and s.package_id is not None
            package = packages[s.package_id]
            assert package.pays_for(s.session.type_key)
            if package.for_keys is not None:
                assert s.session.type_key in package.for_keys
            if package.unlimited:
                assert package.expires is not None
                assert package.purchased <= s.session.date < package.expires


@PROPERTY
@given(workbooks())
def test_a_one_credit_type_on_every_session_changes_no_result(wb: dict) -> None:
    # The typed path (TypedSession, credits read) and the plain one agree where they must.
    typed = [{**s, "Type": "Any"} for s in wb["sessions"]]
    plain = computed(compute(tables(wb["clients"], wb["packages"], wb["sessions"]), today=TODAY))
    with_type = computed(
        compute(tables(wb["clients"], wb["packages"], typed, types=[{"Type": "Any"}]), today=TODAY)
    )
    assert with_type == plain
