"""The periodic report, the test email, and what ``creditsheet status`` shows.

creditsheet report          print(report_text(result, config, now))
creditsheet report --send   send_report(result, store, sender, config, now)
the daemon, each cycle      queue_report(result, store, config, now, tz) (if due),
                            then alerts.send_pending(...)
creditsheet test-email      test_email(config, sender, now)
creditsheet status          status_lines(store, config, now, tz)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from typing import Any

from notifier.format import nice_date
from notifier.messages import build
from notifier.render import render
from notifier.report import rejected_sessions
from notifier.report import render_report as render_report_words
from notifier.send import Sender
from rules.model import Result
from rules.words import plural
from sync.alerts import AlertCounts, send_pending
from sync.config import Config
from sync.cycle import CycleReport
from sync.schedule import latest_slot, next_report_due, zone_of
from sync.store import Store
from sync.store.cycles import CycleRecord
from sync.store.db import timestamp
from sync.store.outbox import QueuedMessage


class ReportError(Exception):
    """A report or test email cannot go out; the message says what to set."""


def render_report(
    result: Result, config: Config, now: datetime, *, dedupe_key: str | None = None
) -> EmailMessage:
    """The report as an email to ``[email] to`` (text and HTML)."""
    problems = [str(p) for p in result.structural] + [str(p) for p in result.problems]
    rendered = render_report_words(
        result.dashboard,
        problems,
        currency=config.rules.currency,
        every=config.report.every,
        rejected=rejected_sessions(result.sessions, result.dashboard.today),
    )
    return build(
        rendered,
        dedupe_key=dedupe_key or f"report:manual:{timestamp(now)}",
        sender=config.email.sender,
        to=config.email.to,
        now=now,
    )


def report_text(result: Result, config: Config, now: datetime) -> str:
    """The report's text part, for ``creditsheet report`` to print."""
    return text_of(render_report(result, config, now))


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()) if isinstance(body, EmailMessage) else ""


def report_due(store: Store, config: Config, now: datetime, tz: tzinfo | str | None) -> bool:
    """Whether the periodic report should go out now (``[report] every`` and ``at``)."""
    due = next_report_due(store.reports, config.report, tz, now)
    return due is not None and due <= now


def queue_report(
    result: Result, store: Store, config: Config, now: datetime, tz: tzinfo | str | None
) -> bool:
    """If the periodic report is due, queue it (send with ``send_pending``); True if queued.

    Queueing it and marking its slot done are one transaction, so each
    scheduled report goes out once, even across a crash or a restart.
    """
    if not report_due(store, config, now, tz):
        return False
    slot = latest_slot(config.report, zone_of(tz, now), now)
    assert slot is not None
    with store.transaction():
        store.reports.mark(slot, now)
        if not config.email.to:
            return False
        message = render_report(result, config, now, dedupe_key=f"report:{timestamp(slot)}")
        return store.outbox.queue(f"report:{timestamp(slot)}", message, now)


def send_report(
    result: Result,
    store: Store,
    sender: Sender,
    config: Config,
    now: datetime,
    *,
    rng: random.Random | None = None,
    at_once: bool = True,
) -> AlertCounts:
    """``report --send``: queue the report now (off schedule) and send what is pending.

    Run by hand, it tries every pending message (``at_once``), backoff or not.
    """
    if not config.email.to:
        raise ReportError("[email] to is empty: add the address the report should go to")
    dedupe = f"report:manual:{timestamp(now)}"
    queued = store.outbox.queue(dedupe, render_report(result, config, now, dedupe_key=dedupe), now)
    counts = send_pending(store, sender, now, rng=rng, at_once=at_once)
    return AlertCounts(int(queued), counts.sent, counts.pending, counts.failed)


def test_email(config: Config, sender: Sender, now: datetime) -> EmailMessage:
    """Send one test email straight through ``sender`` (not the outbox); return it.

    Raises :class:`notifier.send.SendError` with what to fix when it cannot go.
    """
    if not config.email.to:
        raise ReportError("[email] to is empty: add your address so the test email can go out")
    to = ", ".join(config.email.to)
    utc = now.astimezone(UTC)
    rendered = render(
        "test",
        "creditsheet test email",
        when=f"{nice_date(utc.date())} at {utc:%H:%M} UTC",
        how=sender.where,
        to=to,
        footer="Sent by `creditsheet test-email`.",
    )
    message = build(
        rendered,
        dedupe_key=f"test:{timestamp(now)}",
        sender=config.email.sender,
        to=config.email.to,
        now=now,
    )
    sender.send(message)
    return message


test_email.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# --- the cycle history and status ------------------------------------------------


def cycle_outcome(report: CycleReport) -> tuple[str, str | None]:
    """``ok``, or ``not written`` and why."""
    if report.blocked:
        return "not written", "; ".join(str(p) for p in report.structural) or "structure broken"
    if report.outcome.reason and not report.outcome.written:
        return "not written", report.outcome.reason
    return "ok", None


def cycle_figures(report: CycleReport, alerts: AlertCounts | None = None) -> dict[str, Any]:
    data = report.as_dict()
    figures = {
        k: data[k]
        for k in ("rows_read", "cells_changed", "packages", "sessions", "rows_with_problems")
    }
    figures["events"] = len(report.events)
    figures["alerts"] = (alerts or AlertCounts()).as_dict()
    return figures


def record_cycle(
    store: Store,
    report: CycleReport,
    started: datetime,
    alerts: AlertCounts | None = None,
) -> None:
    """Remember a finished cycle for ``status``. A cycle that raised is recorded by
    the caller as ``store.cycles.record(started, seconds, "failed", reason=str(err))``."""
    outcome, reason = cycle_outcome(report)
    store.cycles.record(started, report.duration, outcome, reason, cycle_figures(report, alerts))


def status_lines(
    store: Store, config: Config, now: datetime, tz: tzinfo | str | None, *, cycles: int = 10
) -> list[str]:
    """What ``creditsheet status`` prints: last cycles, pending alerts, next report."""
    zone = zone_of(tz, now)

    def local(moment: datetime) -> str:
        at = moment.astimezone(zone)
        return f"{at:%Y-%m-%d %H:%M:%S %Z}".strip()

    lines = ["last cycles:"]
    records = store.cycles.last(cycles)
    for c in records:
        lines.append(f"  {local(c.started)}  {c.outcome:<11} {c.duration:.2f} s{_figures(c)}")
        if c.reason:
            lines.append(f"      {c.reason}")
    if not records:
        lines.append("  none yet")
    pending = store.outbox.pending()
    if pending:
        lines.append(f"alerts pending delivery: {len(pending)}")
        asked = store.outbox.retry_requested()
        for m in pending[:20]:
            lines.append(f"  {m.subject} -> {', '.join(m.recipients)} ({_next_try(m, now, local)})")
            if m.last_error:
                lines.append(f"      last error: {m.last_error}")
        if len(pending) > 20:
            lines.append(f"  ... and {len(pending) - 20} more")
        if asked:
            lines.append(
                f"  a test email went through at {local(asked)}: the daemon's next cycle "
                "tries these at once"
            )
        lines.append("  `creditsheet sync` tries them all now, whatever the next try says")
    else:
        lines.append("alerts pending delivery: none")
    due = next_report_due(store.reports, config.report, zone, now)
    if due is None:
        lines.append('next report: none ([report] every = "off")')
    elif due <= now:
        lines.append(f"next report: due now (was due {local(due)})")
    else:
        lines.append(f"next report: {local(due)}")
    return lines


def _next_try(m: QueuedMessage, now: datetime, local: Callable[[datetime], str]) -> str:
    """``next try 2026-11-22 09:04:00 GMT, 2 tries``, or that it is being sent now."""
    if m.claimed_until is not None and m.claimed_until > now:
        when = "being sent now"
    elif m.next_attempt <= now:
        when = "due now: the next cycle sends it"
    else:
        when = f"next try {local(m.next_attempt)}"
    return when + (f", {plural(m.attempts, 'try', 'tries')} so far" if m.attempts else "")


def _figures(c: CycleRecord) -> str:
    f: Mapping[str, Any] = c.figures
    parts = []
    if "cells_changed" in f:
        parts.append(f"{plural(int(f['cells_changed']), 'cell')} changed")
    alerts = f.get("alerts")
    if isinstance(alerts, Mapping) and (alerts.get("queued") or alerts.get("sent")):
        parts.append(
            f"{plural(int(alerts.get('queued', 0)), 'alert')} queued, {alerts.get('sent', 0)} sent"
        )
    return ("  " + ", ".join(parts)) if parts else ""
