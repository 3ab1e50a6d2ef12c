"""The Dashboard figures: revenue, sessions used, what is owed, what needs attention."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from rules.events import expiring_soon
from rules.model import Dashboard, MonthFigure, PackageResult, SessionResult, Settings, Value
from rules.schema import PackageStatus, SessionStatus

MONTHS = 12
CENT = Decimal("0.01")


def last_months(today: date, count: int = MONTHS) -> list[str]:
    """``YYYY-MM`` for the ``count`` months ending with today's, oldest first."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def dashboard(
    packages: Sequence[PackageResult],
    sessions: Sequence[SessionResult],
    client_credits: Mapping[str, int],
    *,
    today: date,
    settings: Settings,
) -> Dashboard:
    months = last_months(today)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for r in packages:
        if r.package.price is not None:
            revenue[r.package.purchased.strftime("%Y-%m")] += r.package.price
    by_day: Counter[date] = Counter(
        s.session.date
        for s in sessions
        if s.status is SessionStatus.DEDUCTED and s.session is not None
    )
    used: dict[str, int] = defaultdict(int)
    for day, n in by_day.items():
        used[f"{day.year:04d}-{day.month:02d}"] += n
    live = [r for r in packages if r.status is not PackageStatus.EXPIRED]
    prepaid = sum((unused_value(r, today) for r in live), Decimal(0))
    window = set(months)
    breakage = sum(
        (
            unused_value(r, today)
            for r in packages
            if r.status is PackageStatus.EXPIRED
            and r.package.expires is not None
            and r.package.expires.strftime("%Y-%m") in window
            and not r.package.unlimited
        ),
        Decimal(0),
    )
    low = sorted(
        (
            (name, credits)
            for name, credits in client_credits.items()
            if credits <= settings.low_credit_threshold
        ),
        key=lambda item: (item[1], item[0].casefold()),
    )
    expiring = sorted(
        (
            (
                r.package.id,
                r.package.client.name,
                r.package.display(),
                r.remaining_shown,
                r.package.expires,
            )
            for r in packages
            if expiring_soon(r, today, settings) and r.package.expires is not None
        ),
        key=lambda item: (item[4], item[0]),
    )
    return Dashboard(
        today=today,
        months=tuple(MonthFigure(m, revenue.get(m, Decimal(0)), used.get(m, 0)) for m in months),
        credits_outstanding=sum(r.remaining for r in live if not r.package.unlimited),
        prepaid_unused=prepaid.quantize(CENT),
        low_clients=tuple(low),
        expiring=tuple(expiring),
        expired_unused=breakage.quantize(CENT),
    )


def unused_value(r: PackageResult, today: date) -> Decimal:
    """What is prepaid and not used yet: price per credit x credits left; for an
    unlimited pass, its price x the share of its term still ahead (straight line)."""
    p = r.package
    if p.price is None:
        return Decimal(0)
    if p.unlimited:
        if p.expires is None:
            return Decimal(0)
        term = (p.expires - p.purchased).days
        if term <= 0:
            return Decimal(0)
        ahead = min(term, max(0, (p.expires - max(today, p.purchased)).days))
        return p.price * ahead / term
    if p.total <= 0:
        return Decimal(0)
    return p.price * r.remaining / p.total


def dashboard_rows(d: Dashboard, *, currency: str, warning_days: int) -> list[list[Value]]:
    """The Dashboard tab's content, row by row: plain values, owned by the sync."""
    rows: list[list[Value]] = [
        ["Dashboard", f"as of {d.today.isoformat()}"],
        [],
        ["Month", f"Revenue ({currency})", "Sessions used"],
    ]
    rows += [[m.month, _money(m.revenue), m.sessions_used] for m in d.months]
    rows += [
        [],
        ["Credits outstanding", d.credits_outstanding],
        [f"Prepaid value not yet used ({currency})", _money(d.prepaid_unused)],
        [f"Value expired unused, last 12 months ({currency})", _money(d.expired_unused)],
        [],
        ["Clients running low", "Credits left"],
    ]
    rows += [[name, credits] for name, credits in d.low_clients] or [["(none)"]]
    rows += [
        [],
        [
            f"Packages expiring within {warning_days} days",
            "Client",
            "Package",
            "Remaining",
            "Expires",
        ],
    ]
    rows += [list(item) for item in d.expiring] or [["(none)"]]
    return rows


def _money(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
