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
    prepaid = sum(
        (
            r.package.price * r.remaining / r.package.total
            for r in live
            if r.package.price is not None and r.package.total > 0
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
                r.remaining,
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
        credits_outstanding=sum(r.remaining for r in live),
        prepaid_unused=prepaid.quantize(CENT),
        low_clients=tuple(low),
        expiring=tuple(expiring),
    )


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
