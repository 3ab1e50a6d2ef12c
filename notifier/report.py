"""The periodic report: the Dashboard figures and everything that needs attention.

Its trend over the months is drawn as bars in the email itself: table cells
with a width in the HTML, block characters in the text, so it needs no images
and reads on a phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from notifier.alert_email import rejected_title
from notifier.format import money, month_label, nice_date, plural
from notifier.render import Rendered, render
from rules.model import Dashboard, SessionResult
from rules.schema import SessionStatus

BAR_WIDTH = 20
MAX_PROBLEMS = 50
PERIODS = {"day": "daily", "week": "weekly"}


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: str
    #: Share of the largest value, 0 to 100; at least 1 for any value above 0.
    percent: int
    #: The same bar drawn in text, e.g. ``████████``.
    blocks: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    total: str
    bars: tuple[Bar, ...]


def chart(title: str, points: Sequence[tuple[str, Decimal | int]], fmt: str) -> Chart:
    """Bars for ``points`` (label, value); ``fmt`` is a currency code or ``count``."""
    top = max((v for _, v in points), default=0)

    def show(v: Decimal | int) -> str:
        return str(v) if fmt == "count" else money(v, fmt)

    made = []
    for label, v in points:
        share = Decimal(v) / Decimal(top) if top > 0 and v > 0 else Decimal(0)
        percent = max(1, round(share * 100)) if v > 0 else 0
        blocks = "█" * max(1, round(share * BAR_WIDTH)) if v > 0 else ""
        made.append(Bar(label, show(v), percent, blocks))
    total = sum((v for _, v in points), Decimal(0))
    return Chart(title, show(int(total)) if fmt == "count" else show(total), tuple(made))


@dataclass(frozen=True, slots=True)
class ReportView:
    heading: str
    figures: tuple[tuple[str, str], ...]
    charts: tuple[Chart, ...]
    low: tuple[str, ...]
    expiring: tuple[str, ...]
    problems: tuple[str, ...]
    more_problems: int
    rejected: tuple[str, ...] = ()
    more_rejected: int = 0

    @property
    def attention(self) -> int:
        return (
            len(self.low)
            + len(self.expiring)
            + len(self.problems)
            + self.more_problems
            + len(self.rejected)
            + self.more_rejected
        )


def rejected_sessions(sessions: Sequence[SessionResult], today: date) -> list[str]:
    """Each ``Rejected`` session, oldest first, in the alert email's words."""
    rejected = [
        (s.session.date, s.row, s.session.client.name, s.note)
        for s in sessions
        if s.status is SessionStatus.REJECTED and s.session is not None
    ]
    return [
        rejected_title(name, day.isoformat(), note, today=today)
        for day, _, name, note in sorted(rejected)
    ]


def view(
    dashboard: Dashboard,
    problems: Sequence[str],
    *,
    currency: str,
    every: str,
    rejected: Sequence[str] = (),
) -> ReportView:
    months = dashboard.months
    charts = (
        chart(
            "Revenue by month of purchase",
            [(month_label(m.month), m.revenue) for m in months],
            currency,
        ),
        chart(
            "Sessions used by month",
            [(month_label(m.month), m.sessions_used) for m in months],
            "count",
        ),
    )
    this_month = months[-1] if months else None
    figures = [
        ("Credits outstanding", str(dashboard.credits_outstanding)),
        ("Prepaid value not yet used", money(dashboard.prepaid_unused, currency)),
        ("Value expired unused, last 12 months", money(dashboard.expired_unused, currency)),
    ]
    if this_month is not None:
        figures += [
            (f"Revenue in {month_label(this_month.month)}", money(this_month.revenue, currency)),
            (f"Sessions used in {month_label(this_month.month)}", str(this_month.sessions_used)),
        ]
    low = tuple(
        f"{name}: {plural(credits, 'credit')} left" for name, credits in dashboard.low_clients
    )
    expiring = tuple(
        f"{client}'s {name} ({pid}): {_left(remaining)}, expires {nice_date(expires)}"
        for pid, client, name, remaining, expires in dashboard.expiring
    )
    period = PERIODS.get(every, "")
    return ReportView(
        heading=f"Your {period + ' ' if period else ''}report for {nice_date(dashboard.today)}",
        figures=tuple(figures),
        charts=charts,
        low=low,
        expiring=expiring,
        problems=tuple(problems[:MAX_PROBLEMS]),
        more_problems=max(0, len(problems) - MAX_PROBLEMS),
        rejected=tuple(rejected[:MAX_PROBLEMS]),
        more_rejected=max(0, len(rejected) - MAX_PROBLEMS),
    )


def _left(remaining: int | str) -> str:
    """``3 credits left``, or ``unlimited`` for a pass."""
    return f"{plural(remaining, 'credit')} left" if isinstance(remaining, int) else "unlimited"


def render_report(
    dashboard: Dashboard,
    problems: Sequence[str],
    *,
    currency: str,
    every: str,
    rejected: Sequence[str] = (),
) -> Rendered:
    report = view(dashboard, problems, currency=currency, every=every, rejected=rejected)
    need = report.attention
    subject = f"creditsheet: {report.heading[0].lower()}{report.heading[1:]}"
    subject += f" ({plural(need, 'thing')} to look at)" if need else " (all in order)"
    return render(
        "report",
        subject,
        report=report,
        footer="Sent by creditsheet. Every figure comes from your workbook's last sync.",
    )
