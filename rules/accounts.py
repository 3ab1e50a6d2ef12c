"""The ledger an accountant asks for, worked out from a cycle's result.

    books = accounts(result)
    books.packages   # each package: client, price, credits bought, used, left, expiry, status
    books.sessions   # each session: the package it used and the value it used up
    books.months     # each month: sales, value used, value expired unused, prepaid liability

A credit is worth its package's price per credit (``Price / (Sessions +
Adjust)``), the same value the Dashboard's "prepaid value not yet used"
counts. Amounts are exact here (rounded only where they are written out), so
in every month ``sales - value used - value expired`` summed from the start
equals the prepaid liability at the month's end.

Months run from the first one with a purchase, a deducted session or an
expiry, to today's. A month's figures at its end count the sessions dated up
to that day (today, for the current month); the Packages tab's ``Remaining``
also counts sessions booked ahead, so the packages' "prepaid value left" can
be below the current month's liability when bookings lie in the future.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rules.model import PackageResult, Result, SessionResult
from rules.schema import PackageStatus, SessionStatus


@dataclass(frozen=True, slots=True)
class PackageLine:
    package_id: str
    client: str
    shared_with: str
    package: str
    purchased: date
    expires: date | None
    price: Decimal | None
    #: ``Sessions`` as bought; ``credits`` adds ``Adjust``.
    bought: int
    adjust: int
    credits: int
    used: int
    remaining: int
    status: str
    per_credit: Decimal | None
    #: What the credits left are worth while the package can still be used.
    value_left: Decimal | None
    #: What the credits left were worth when it expired.
    value_expired: Decimal | None


@dataclass(frozen=True, slots=True)
class SessionLine:
    row: int
    date: date
    client: str
    outcome: str
    status: str
    #: The package the session took its credit from (blank unless ``Deducted``).
    package_id: str
    package: str
    credits: int
    value: Decimal | None
    note: str


@dataclass(frozen=True, slots=True)
class MonthLine:
    month: str  # "2026-11"
    packages_sold: int
    credits_sold: int
    sales: Decimal
    sessions_used: int
    value_used: Decimal
    credits_expired: int
    value_expired: Decimal
    #: At the month's end (today, for the current month).
    credits_outstanding: int
    liability: Decimal


@dataclass(frozen=True, slots=True)
class Accounts:
    today: date
    packages: tuple[PackageLine, ...]
    sessions: tuple[SessionLine, ...]
    months: tuple[MonthLine, ...]
    #: Rows that are not in the ledger until they are fixed (their Sync notes).
    problems: tuple[str, ...]


def per_credit(r: PackageResult) -> Decimal | None:
    """The package's price per credit; None when it has no price or no credits."""
    p = r.package
    if p.price is None or p.total <= 0:
        return None
    return p.price / p.total


def accounts(result: Result) -> Accounts:
    today = result.dashboard.today
    by_id = {r.package.id: r for r in result.packages}
    prices = {pid: per_credit(r) for pid, r in by_id.items()}
    packages = tuple(_package_line(r, prices[r.package.id]) for r in result.packages)
    sessions = tuple(
        _session_line(s, by_id.get(s.package_id or ""), prices)
        for s in result.sessions
        if s.session
    )
    problems = tuple(str(p) for p in (*result.structural, *result.problems))
    months = _months(result.packages, today, prices)
    return Accounts(today, packages, sessions, months, problems)


def _package_line(r: PackageResult, price: Decimal | None) -> PackageLine:
    p = r.package
    expired = r.status is PackageStatus.EXPIRED
    worth = None if price is None else price * r.remaining
    return PackageLine(
        package_id=p.id,
        client=p.client.name,
        shared_with=", ".join(c.name for c in p.shared_with),
        package=p.display(),
        purchased=p.purchased,
        expires=p.expires,
        price=p.price,
        bought=p.sessions,
        adjust=p.adjust,
        credits=p.total,
        used=r.used,
        remaining=r.remaining,
        status=r.status.value,
        per_credit=price,
        value_left=None if worth is None else (Decimal(0) if expired else worth),
        value_expired=None if worth is None else (worth if expired else Decimal(0)),
    )


def _session_line(
    s: SessionResult, used: PackageResult | None, prices: Mapping[str, Decimal | None]
) -> SessionLine:
    assert s.session is not None
    deducted = s.status is SessionStatus.DEDUCTED and used is not None
    price = prices[used.package.id] if deducted and used is not None else None
    return SessionLine(
        row=s.row,
        date=s.session.date,
        client=s.session.client.name,
        outcome=s.session.outcome.value,
        status=s.status.value,
        package_id=used.package.id if deducted and used is not None else "",
        package=used.package.display() if deducted and used is not None else "",
        credits=1 if deducted else 0,
        value=price,
        note=s.note,
    )


def _months(
    packages: Sequence[PackageResult], today: date, prices: Mapping[str, Decimal | None]
) -> tuple[MonthLine, ...]:
    firsts = [
        d
        for r in packages
        for d in (r.package.purchased, *r.session_dates, r.package.expires)
        if d is not None and d <= today
    ]
    if not firsts:
        return ()
    dated = [(r, sorted(r.session_dates)) for r in packages]
    return tuple(_month(dated, m, today, prices) for m in _month_starts(min(firsts), today))


def _month_starts(first: date, today: date) -> Iterable[date]:
    month = first.replace(day=1)
    while month <= today:
        yield month
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month(
    dated: Sequence[tuple[PackageResult, list[date]]],
    start: date,
    today: date,
    prices: Mapping[str, Decimal | None],
) -> MonthLine:
    """One month's figures; ``dated`` pairs each package with its sessions' dates, sorted."""
    end = min(start.replace(day=calendar.monthrange(start.year, start.month)[1]), today)

    def within(day: date | None) -> bool:
        return day is not None and start <= day <= end

    packages = [r for r, _ in dated]
    sold = [r for r in packages if within(r.package.purchased)]
    expired = [r for r in packages if within(r.package.expires) and r.remaining > 0]
    used = [(r, bisect_right(days, end) - bisect_left(days, start)) for r, days in dated]
    live = [
        (r, max(0, r.package.total - bisect_right(days, end)))
        for r, days in dated
        if r.package.purchased <= end and (r.package.expires is None or end < r.package.expires)
    ]
    return MonthLine(
        month=f"{start.year:04d}-{start.month:02d}",
        packages_sold=len(sold),
        credits_sold=sum(r.package.total for r in sold),
        sales=sum((r.package.price for r in sold if r.package.price is not None), Decimal(0)),
        sessions_used=sum(n for _, n in used),
        value_used=_worth(used, prices),
        credits_expired=sum(r.remaining for r in expired),
        value_expired=_worth(((r, r.remaining) for r in expired), prices),
        credits_outstanding=sum(n for _, n in live),
        liability=_worth(live, prices),
    )


def _worth(
    credits: Iterable[tuple[PackageResult, int]], prices: Mapping[str, Decimal | None]
) -> Decimal:
    total = Decimal(0)
    for r, n in credits:
        if not n:
            continue
        price = prices[r.package.id]
        if price is not None:
            total += price * n
    return total
