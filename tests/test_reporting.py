"""The periodic report, its schedule, the test email, and ``status``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier.messages import message_id
from notifier.outbox import FileSender
from notifier.send import SendError
from notifier.smtp import SmtpSender
from rules.engine import compute
from rules.model import Result
from sync.alerts import AlertCounts, deliver
from sync.backends.base import WriteOutcome, WritePlan
from sync.cycle import Cycle
from sync.reporting import (
    ReportError,
    queue_report,
    record_cycle,
    render_report,
    report_due,
    report_text,
    send_report,
    text_of,
)
from sync.reporting import (
    test_email as send_test_email,
)
from sync.store import Store
from sync.views import cycle_outcome, status_lines
from tests.fakesender import RecordingSender
from tests.mailfixtures import (
    EVIL,
    NOW,
    TODAY,
    Recorder,
    config,
    flat,
    parse_eml,
    parts,
    practice,
    smtp_server,
    tables,
    visible_text,
)

RESULT = practice()
LONDON = "Europe/London"
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 08:00 in London in November


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def cycle(result: Result = RESULT, outcome: WriteOutcome | None = None) -> Cycle:
    return Cycle(
        workbook="practice.xlsx",
        today=TODAY,
        dry_run=False,
        rows_read=result.rows_read,
        plan=WritePlan(),
        outcome=outcome or WriteOutcome(written=True),
        result=result,
        duration=0.25,
    )


def test_report_message_has_both_parts_saying_the_same(tmp_path: Path) -> None:
    m = render_report(RESULT, config(tmp_path), NOW)
    assert m["To"] == "me@example.com" and m["From"] == "creditsheet <cs@example.com>"
    assert m["Message-ID"] == message_id(f"report:manual:{'2026-11-22T08:00:00.000000Z'}")
    assert str(m["Subject"]).startswith("creditsheet: your weekly report for Sun 22 Nov 2026")
    text, html = parts(m)
    seen = visible_text(html)
    for fact in (
        "Credits outstanding",
        "Prepaid value not yet used",
        "£660.00",
        "Cara: 1 credit left",
        f"{EVIL}'s 5-Session Pack (P-0001)",
        "Sessions row 13: Client: 'Jon' is not on the Clients tab",
    ):
        assert fact in flat(text) and fact in seen, fact
    assert "width:100%;border-collapse" in html


def test_report_text_is_what_the_command_prints(tmp_path: Path) -> None:
    text = report_text(RESULT, config(tmp_path), NOW)
    assert text.startswith("Your weekly report for Sun 22 Nov 2026")
    assert "Sessions used by month" in text and "<" not in text.replace(EVIL, "")
    assert text == text_of(render_report(RESULT, config(tmp_path), NOW))


def test_report_due_on_schedule(store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert not report_due(store, cfg, NOW, LONDON)  # a new store waits for Monday
    assert not report_due(store, cfg, MONDAY - timedelta(minutes=1), LONDON)
    assert report_due(store, cfg, MONDAY, LONDON)
    off = cfg.model_copy(update={"report": cfg.report.model_copy(update={"every": "off"})})
    assert not report_due(store, off, MONDAY, LONDON)


def test_each_scheduled_report_is_queued_once(store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert not queue_report(RESULT, store, cfg, NOW, LONDON)
    assert queue_report(RESULT, store, cfg, MONDAY + timedelta(minutes=5), LONDON)
    assert not queue_report(RESULT, store, cfg, MONDAY + timedelta(minutes=6), LONDON)
    [queued] = store.outbox.pending()
    assert queued.dedupe_key == "report:2026-11-23T08:00:00.000000Z"
    assert queued.message_id == message_id(queued.dedupe_key)
    sender = RecordingSender()
    deliver(RESULT, store, sender, cfg, MONDAY + timedelta(minutes=6), rng=random.Random(1))
    assert sum("weekly report" in s for s in sender.subjects()) == 1
    assert queue_report(RESULT, store, cfg, MONDAY + timedelta(days=7), LONDON)


def test_no_address_marks_the_slot_and_queues_nothing(store: Store, tmp_path: Path) -> None:
    assert not report_due(store, config(tmp_path), NOW, LONDON)  # starts the schedule
    assert not queue_report(RESULT, store, config(tmp_path, to=[]), MONDAY, LONDON)
    assert store.outbox.pending() == [] and store.reports.last() == MONDAY


def test_send_report_now(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    counts = send_report(RESULT, store, sender, config(tmp_path), NOW, rng=random.Random(1))
    assert counts == AlertCounts(queued=1, sent=1, pending=0, failed=0)
    assert sender.subjects()[0].startswith("creditsheet: your weekly report")
    assert store.reports.last() is None  # an extra report does not move the schedule
    with pytest.raises(ReportError, match=r"\[email\] to is empty"):
        send_report(RESULT, store, sender, config(tmp_path, to=[]), NOW)


def test_test_email_to_files(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    sent = send_test_email(config(tmp_path), FileSender(outbox), NOW)
    [path] = outbox.iterdir()
    m = parse_eml(path.read_bytes())
    assert m["Message-ID"] == sent["Message-ID"] and m["Subject"] == "creditsheet test email"
    text, html = parts(m)
    where = f"files in {outbox}"
    assert where in flat(text) and where in visible_text(html)
    assert "Sun 22 Nov 2026 at 08:00 UTC" in text


def test_test_email_through_smtp_and_its_failures(tmp_path: Path) -> None:
    handler = Recorder()
    with smtp_server(handler) as server:
        cfg = config(tmp_path, backend="smtp", host="127.0.0.1", port=server.port, security="none")
        send_test_email(cfg, SmtpSender(cfg.email, None, local_hostname="localhost"), NOW)
    assert [m["Subject"] for m in handler.messages] == ["creditsheet test email"]
    with pytest.raises(SendError):
        send_test_email(config(tmp_path), RecordingSender(fail_times=1), NOW)
    with pytest.raises(ReportError):
        send_test_email(config(tmp_path, to=[]), RecordingSender(), NOW)


def test_cycle_outcomes() -> None:
    assert cycle_outcome(cycle()) == ("ok", None)
    locked = cycle(outcome=WriteOutcome(written=False, reason="Excel has practice.xlsx open"))
    assert cycle_outcome(locked) == ("not written", "Excel has practice.xlsx open")
    broken = tables()
    del broken["Sessions"]
    outcome, reason = cycle_outcome(cycle(compute(broken, today=TODAY)))
    assert outcome == "not written" and reason and "Sessions" in reason


def test_status_shows_cycles_pending_alerts_and_the_next_report(
    store: Store, tmp_path: Path
) -> None:
    cfg = config(tmp_path, clients=False)
    counts = deliver(RESULT, store, RecordingSender(fail_times=-1), cfg, NOW, rng=random.Random(1))
    record_cycle(store, cycle(), NOW, counts)
    store.cycles.record(NOW + timedelta(minutes=1), 0.1, "failed", "could not open practice.xlsx")
    first = store.cycles.last(2)[1]
    assert first.figures["alerts"] == counts.as_dict()
    assert first.figures["packages"]["Low"] == 1 and first.figures["rows_with_problems"] == 1
    lines = status_lines(store, cfg, NOW + timedelta(minutes=2), LONDON)
    text = "\n".join(lines)
    assert lines[0] == "last cycles:"
    assert "2026-11-22 08:01:00 GMT  failed" in text and "could not open practice.xlsx" in text
    assert "2026-11-22 08:00:00 GMT  ok" in text and "1 alert queued, 0 sent" in text
    assert "alerts pending delivery: 1" in text and "connection refused" in text
    assert "next report: 2026-11-23 08:00:00 GMT" in text


def test_status_says_a_test_email_asked_the_daemon_to_try_at_once(
    store: Store, tmp_path: Path
) -> None:
    cfg = config(tmp_path, clients=False)
    deliver(RESULT, store, RecordingSender(fail_times=-1), cfg, NOW, rng=random.Random(1))
    before = "\n".join(status_lines(store, cfg, NOW + timedelta(minutes=2), LONDON))
    assert "a test email went through" not in before
    assert "`creditsheet sync` tries them all now" in before
    store.outbox.request_retry(NOW + timedelta(minutes=1))
    after = "\n".join(status_lines(store, cfg, NOW + timedelta(minutes=2), LONDON))
    assert (
        "a test email went through at 2026-11-22 08:01:00 GMT: "
        "the daemon's next cycle tries these at once"
    ) in after
    assert ", 1 try so far)" in after
