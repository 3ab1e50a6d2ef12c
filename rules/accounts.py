"""The ledger an accountant asks for, worked out from a cycle's result.

    books = accounts(result)
    books.packages   # each package: client, price, credits bought, used, left, expiry, status
    books.sessions   # each session: the package it used, its credits and the value they used up
    books.months     # each month: sales, value used, value expired unused, prepaid liability

A credit is worth its package's price per credit (``Price / (Sessions +
Adjust)``), the same value the Dashboard's "prepaid value not yet used"
counts, and a session uses its type's credits (as the deduction took them). An
unlimited pass has no credits to count: its prepaid value is the Dashboard's
straight-line figure (its price x the share of its term still ahead, see
:func:`rules.dashboard.unused_value`), so the value it uses in a month is the
share of its term that fell in that month, and none of it ever expires unused.

Amounts are exact here (rounded only where they are written out), so in every
month ``sales - value used - value expired`` summed from the start equals the
prepaid liability at the month's end.

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
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from rules.dashboard import unused_value
from rules.model import PackageResult, Result, SessionResult
from rules.schema import UNLIMITED, PackageStatus, SessionStatus


@dataclass(frozen=True, slots=True)
class PackageLine:
    package_id: str
    client: str
    shared_with: str
    package: str
    purchased: date
    expires: date | None
    price: Decimal | None
    #: ``Sessions`` as bought; ``credits`` adds ``Adjust``. ``Unlimited`` for a pass.
    bought: int | str
    adjust: int
    credits: int | str
    #: Credits its sessions used (a pass's too, as its ``Used`` counts them).
    used: int
    remaining: int | str
    status: str
    per_credit: Decimal | None
    #: What is prepaid and not used yet while the package can still be used: the
    #: credits left at price per credit; a pass's share of its term still ahead.
    value_left: Decimal | None
    #: What the credits left were worth when it expired (never any, for a pass).
    value_expired: Decimal | None


@dataclass(frozen=True, slots=True)
class SessionLine:
    row: int
    date: date
    client: str
    outcome: str
    status: str
    #: The package the session took its credits from (blank unless ``Deducted``).
    package_id: str
    package: str
    #: Its type's credits, as deducted (0 unless ``Deducted``).
    credits: int
    #: Price per credit x credits; None for a pass (it is used by time, see ``MonthLine``).
    value: Decimal | None
    note: str


@dataclass(frozen=True, slots=True)
class MonthLine:
    month: str  # "2026-11"
    packages_sold: int
    #: Credits of the packages sold (passes have none).
    credits_sold: int
    sales: Decimal
    #: Sessions deducted, from packages and passes alike.
    sessions_used: int
    #: Their credits taken from packages (not passes: they count in no credits figure).
    credits_used: int
    #: Credits used at price per credit, plus each pass's share of its term in the month.
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
    """The package's price per credit; None when it has no price or no credits (a pass)."""
    p = r.package
    if p.price is None or p.unlimited or p.total <= 0:
        return None
    return p.price / p.total


def accounts(result: Result) -> Accounts:
    today = result.dashboard.today
    by_id = {r.package.id: r for r in result.packages}
    prices = {pid: per_credit(r) for pid, r in by_id.items()}
    packages = tuple(_package_line(r, prices[r.package.id], today) for r in result.packages)
    sessions = tuple(
        _session_line(s, by_id.get(s.package_id or ""), prices)
        for s in result.sessions
        if s.session
    )
    problems = tuple(str(p) for p in (*result.structural, *result.problems))
    months = _months(result.packages, sessions, today, prices)
    return Accounts(today, packages, sessions, months, problems)


def _package_line(r: PackageResult, price: Decimal | None, today: date) -> PackageLine:
    p = r.package
    expired = r.status is PackageStatus.EXPIRED
    if p.unlimited:
        worth = None if p.price is None else unused_value(r, today)
    else:
        worth = None if price is None else price * r.remaining
    return PackageLine(
        package_id=p.id,
        client=p.client.name,
        shared_with=", ".join(c.name for c in p.shared_with),
        package=p.display(),
        purchased=p.purchased,
        expires=p.expires,
        price=p.price,
        bought=UNLIMITED if p.unlimited else p.sessions,
        adjust=p.adjust,
        credits=UNLIMITED if p.unlimited else p.total,
        used=r.used,
        remaining=r.remaining_shown,
        status=r.status.value,
        per_credit=price,
        value_left=None if worth is None else (Decimal(0) if expired else worth),
        value_expired=(
            None if worth is None else (worth if expired and not p.unlimited else Decimal(0))
        ),
    )


def _session_line(
    s: SessionResult, used: PackageResult | None, prices: Mapping[str, Decimal | None]
) -> SessionLine:
    assert s.session is not None
    taken = used if s.status is SessionStatus.DEDUCTED else None
    credits = s.session.credits if taken is not None else 0
    price = prices[taken.package.id] if taken is not None else None
    return SessionLine(
        row=s.row,
        date=s.session.date,
        client=s.session.client.name,
        outcome=s.session.outcome.value,
        status=s.status.value,
        package_id=taken.package.id if taken is not None else "",
        package=taken.package.display() if taken is not None else "",
        credits=credits,
        value=None if price is None else price * credits,
        note=s.note,
    )


@dataclass(frozen=True, slots=True)
class _Taken:
    """A package's deducted sessions: their dates, sorted, and the credits used up to each."""

    package: PackageResult
    days: list[date]
    credits_by: list[int]

    def sessions(self, start: date, end: date) -> int:
        return bisect_right(self.days, end) - bisect_left(self.days, start)

    def credits_to(self, day: date) -> int:
        """Credits used by the sessions dated up to ``day``."""
        n = bisect_right(self.days, day)
        return self.credits_by[n - 1] if n else 0

    def held(self, day: date) -> Decimal:
        """A pass's prepaid value at the end of ``day``: nothing before it is bought."""
        if self.package.package.purchased > day:
            return Decimal(0)
        return unused_value(self.package, day)


def _months(
    packages: Sequence[PackageResult],
    sessions: Sequence[SessionLine],
    today: date,
    prices: Mapping[str, Decimal | None],
) -> tuple[MonthLine, ...]:
    firsts = [
        d
        for r in packages
        for d in (r.package.purchased, *r.session_dates, r.package.expires)
        if d is not None and d <= today
    ]
    if not firsts:
        return ()
    credits: dict[str, list[tuple[date, int]]] = {r.package.id: [] for r in packages}
    for s in sessions:
        if s.package_id in credits:
            credits[s.package_id].append((s.date, s.credits))
    taken = []
    for r in packages:
        dated = sorted(credits[r.package.id], key=lambda item: item[0])
        taken.append(_Taken(r, [d for d, _ in dated], list(accumulate(n for _, n in dated))))
    return tuple(_month(taken, m, today, prices) for m in _month_starts(min(firsts), today))


def _month_starts(first: date, today: date) -> Iterable[date]:
    month = first.replace(day=1)
    while month <= today:
        yield month
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month(
    taken: Sequence[_Taken], start: date, today: date, prices: Mapping[str, Decimal | None]
) -> MonthLine:
    """One month's figures, from each package's deducted sessions (``taken``)."""
    end = min(start.replace(day=calendar.monthrange(start.year, start.month)[1]), today)
    before = start - timedelta(days=1)

    def within(day: date | None) -> bool:
        return day is not None and start <= day <= end

    def live(r: PackageResult) -> bool:
        p = r.package
        return p.purchased <= end and (p.expires is None or end < p.expires)

    counted = [t for t in taken if not t.package.package.unlimited]
    passes = [t for t in taken if t.package.package.unlimited]
    sold = [t.package for t in taken if within(t.package.package.purchased)]
    expired = [t.package for t in counted if within(t.package.package.expires)]
    expired = [r for r in expired if r.remaining > 0]
    used = [(t.package, t.credits_to(end) - t.credits_to(before)) for t in counted]
    left = [
        (t.package, max(0, t.package.package.total - t.credits_to(end)))
        for t in counted
        if live(t.package)
    ]
    # A pass's value is used in a straight line over its term: what it held at the
    # month's start (or its price, in the month it is sold) less what it holds at the end.
    pass_sold = sum((_price(r) for r in sold if r.package.unlimited), Decimal(0))
    pass_before = sum((t.held(before) for t in passes), Decimal(0))
    pass_end = sum((t.held(end) for t in passes), Decimal(0))
    return MonthLine(
        month=f"{start.year:04d}-{start.month:02d}",
        packages_sold=len(sold),
        credits_sold=sum(r.package.total for r in sold if not r.package.unlimited),
        sales=sum((_price(r) for r in sold), Decimal(0)),
        sessions_used=sum(t.sessions(start, end) for t in taken),
        credits_used=sum(n for _, n in used),
        value_used=_worth(used, prices) + pass_before + pass_sold - pass_end,
        credits_expired=sum(r.remaining for r in expired),
        value_expired=_worth(((r, r.remaining) for r in expired), prices),
        credits_outstanding=sum(n for _, n in left),
        liability=_worth(left, prices) + pass_end,
    )


def _price(r: PackageResult) -> Decimal:
    return r.package.price if r.package.price is not None else Decimal(0)


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
