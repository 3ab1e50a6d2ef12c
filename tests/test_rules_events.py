"""Alert events and their dedupe keys; the dashboard figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.workbooks import TODAY, run

ANN = {"Client": "Ann Lee", "Email": "ann@example.com"}


def pkg(pid: str, **values: object) -> dict[str, object]:
    return {
        "Package ID": pid,
        "Client": "Ann Lee",
        "Sessions": 5,
        "Purchased": date(2026, 1, 1),
        **values,
    }


def kinds(r: object) -> dict[str, str]:
    return {e.key: e.kind for e in r.result.events}  # type: ignore[attr-defined]


def test_each_condition_gives_its_event_with_a_key() -> None:
    sessions = [
        {"Date": date(2026, 2, d), "Client": "Ann Lee", "Package ID": "P-0002"} for d in range(1, 7)
    ]
    r = run(
        [ANN],
        [
            pkg("P-0001", Sessions=2),  # low
            pkg("P-0002"),  # exhausted, and its sixth session rejected
            pkg("P-0003", Expires=date(2026, 11, 27)),  # expiring in 7 days
            pkg("P-0004", Expires=date(2026, 11, 1)),  # expired unused
            pkg("P-0005", Sessions="x"),  # a row problem
        ],
        sessions,
    )
    assert kinds(r) == {
        "low:p-1": "low",
        "exhausted:p-2": "exhausted",
        "expiring:p-3:2026-11-27": "expiring_soon",
        "expired-unused:p-4": "expired_unused",
        "rejected:2026-02-06|ann lee|p-0002|1": "rejected_session",
        next(k for k in kinds(r) if k.startswith("problems:")): "sheet_problem",
    }
    rearm = {e.kind: e.rearm for e in r.result.events}
    assert rearm == {
        "low": True,
        "exhausted": True,
        "expiring_soon": False,
        "expired_unused": False,
        "rejected_session": False,
        "sheet_problem": True,
    }


def test_expiring_window_is_one_to_warning_days_and_needs_credits() -> None:
    def expiring(expires: date, sessions: int = 5) -> bool:
        r = run([ANN], [pkg("P-0001", Expires=expires, Sessions=sessions)])
        return any(e.kind == "expiring_soon" for e in r.result.events)

    assert expiring(date(2026, 11, 21))  # 1 day
    assert expiring(date(2026, 11, 27))  # 7 days
    assert not expiring(date(2026, 11, 28))  # 8 days
    assert not expiring(TODAY)  # on the day itself it is Expired
    used_up = run(
        [ANN],
        [pkg("P-0001", Expires=date(2026, 11, 25), Sessions=1)],
        [{"Date": date(2026, 2, 1), "Client": "Ann Lee"}],
    )
    assert not any(e.kind == "expiring_soon" for e in used_up.result.events)


def test_a_changed_expires_date_is_a_new_key() -> None:
    a = run([ANN], [pkg("P-0001", Expires=date(2026, 11, 25))])
    b = run([ANN], [pkg("P-0001", Expires=date(2026, 11, 26))])
    assert {e.key for e in a.result.events} != {e.key for e in b.result.events}


def test_sheet_problem_key_changes_with_the_set_of_problems() -> None:
    one = run([ANN], [pkg("P-0001", Sessions="x")])
    same = run([ANN], [pkg("P-0001", Sessions="x")])
    two = run([ANN], [pkg("P-0001", Sessions="x"), pkg("P-0002", Price="y")])
    key = lambda r: next(e.key for e in r.result.events if e.kind == "sheet_problem")  # noqa: E731
    assert key(one) == key(same) != key(two)


def test_client_notices_only_when_enabled_and_only_for_recent_sessions() -> None:
    sessions = [
        {"Date": date(2026, 11, 19), "Client": "Ann Lee"},
        {"Date": date(2026, 9, 1), "Client": "Ann Lee"},
    ]
    off = run([ANN], [pkg("P-0001")], sessions)
    assert not any(e.kind.startswith("client_") for e in off.result.events)
    on = run([ANN], [pkg("P-0001")], sessions, client_notices=True)
    notices = [e for e in on.result.events if e.kind == "client_session"]
    assert [(e.audience, e.subject) for e in notices] == [
        ("ann@example.com", "Session on 2026-11-19: P-0001: 3 of 5 left")
    ]


def test_dashboard_figures() -> None:
    r = run(
        [ANN, {"Client": "Bob"}],
        [
            pkg("P-0001", Price="£100", Purchased=date(2026, 10, 5)),
            pkg(
                "P-0002",
                Price=50,
                Purchased=date(2026, 11, 2),
                Sessions=10,
                Expires=date(2026, 11, 25),
            ),
            pkg("P-0003", Price=80, Purchased=date(2025, 1, 1), Expires=date(2025, 6, 1)),
        ],
        [
            {"Date": date(2026, 11, 3), "Client": "Ann Lee", "Package ID": "P-0001"},
            {"Date": date(2026, 10, 30), "Client": "Ann Lee", "Package ID": "P-0001"},
            {"Date": date(2026, 11, 4), "Client": "Ann Lee", "Package ID": "P-0001"},
        ],
    )
    d = r.result.dashboard
    assert [m.month for m in d.months][-2:] == ["2026-10", "2026-11"]
    assert len(d.months) == 12
    by_month = {m.month: m for m in d.months}
    assert by_month["2026-10"].revenue == Decimal(100)
    assert by_month["2026-11"].revenue == Decimal(50)
    assert (by_month["2026-10"].sessions_used, by_month["2026-11"].sessions_used) == (1, 2)
    assert d.credits_outstanding == 2 + 10  # the expired package's 5 are not outstanding
    assert d.prepaid_unused == Decimal("90.00")  # 100/5*2 + 50/10*10
    assert d.low_clients == (("Bob", 0),)
    assert d.expiring == (("P-0002", "Ann Lee", "P-0002", 10, date(2026, 11, 25)),)
