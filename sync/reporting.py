"""The periodic report, the test email, and each cycle remembered for ``status``.

creditsheet report          print(report_text(result, config, now))
creditsheet report --send   send_report(result, store, sender, config, now)
the daemon, each cycle      queue_report(result, store, config, now, tz) (if due),
                            then alerts.send_pending(...)
creditsheet test-email      test_email(config, sender, now), then retry_pending_now(config, now)
each cycle                  record_cycle(store, cycle, started, counts)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage

from notifier.format import nice_date
from notifier.messages import build
from notifier.render import render
from notifier.report import rejected_sessions
from notifier.report import render_report as render_report_words
from notifier.send import Sender
from rules.model import Result
from sync.alerts import AlertCounts, send_pending
from sync.config import Config
from sync.cycle import Cycle
from sync.errors import CreditsheetError
from sync.schedule import latest_slot, next_report_due, zone_of
from sync.store import Store
from sync.store.db import timestamp
from sync.views import cycle_figures, cycle_outcome


class ReportError(CreditsheetError):
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
        how=sender.via,
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


def retry_pending_now(config: Config, now: datetime) -> int:
    """After a test email got through: ask the daemon's next cycle to try the emails
    waiting in the outbox at once; how many there are."""
    if not config.state_path.exists():
        return 0
    with Store(config.state_path) as store:
        waiting = len(store.outbox.pending())
        if waiting:
            store.outbox.request_retry(now)
    return waiting


def record_cycle(
    store: Store,
    cycle: Cycle,
    started: datetime,
    alerts: AlertCounts | None = None,
) -> None:
    """Remember a finished cycle for ``status``. A cycle that raised is recorded by
    the caller as ``store.cycles.record(started, seconds, "failed", reason=str(err))``."""
    outcome, reason = cycle_outcome(cycle)
    store.cycles.record(started, cycle.duration, outcome, reason, cycle_figures(cycle, alerts))
