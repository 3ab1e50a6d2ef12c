"""deliver: new events -> one alert email and client notices -> outbox -> sent exactly once."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from notifier.send import SendError
from rules.engine import compute
from rules.values import key
from sync.alerts import BACKOFF_CAP, AlertCounts, backoff, deliver, send_pending
from sync.store import Store
from tests.fakesender import RecordingSender
from tests.mailfixtures import EVIL, NOW, TODAY, config, parts, practice, tables

RESULT = practice()
NOTICES = [e for e in RESULT.events if e.audience != "practitioner"]
LINKS = {key(EVIL): "https://credits.example.com/b/ann", key("Dan"): "https://c.example/b/dan"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


def rng() -> random.Random:
    return random.Random(7)


def test_first_cycle_sends_one_alert_email_and_each_notice(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    counts = deliver(RESULT, store, sender, config(tmp_path), NOW, LINKS, rng=rng())
    assert counts == AlertCounts(queued=1 + len(NOTICES), sent=1 + len(NOTICES), pending=0)
    alert_emails = [m for m in sender.sent if m["To"] == "me@example.com"]
    assert len(alert_emails) == 1
    text, _ = parts(alert_emails[0])
    for title in ("Expiring soon", "Running low", "Packages exhausted", "Sessions rejected"):
        assert title in text
    to_clients = sorted(str(m["To"]) for m in sender.sent if m["To"] != "me@example.com")
    assert to_clients == sorted(e.audience for e in NOTICES)
    assert len({str(m["Message-ID"]) for m in sender.sent}) == len(sender.sent)
    dan = [m for m in sender.sent if m["Subject"] == "Your Duo is used up"]
    assert "https://c.example/b/dan" in parts(dan[0])[0]
    assert all(m["From"] == "creditsheet <cs@example.com>" for m in sender.sent)


def test_second_cycle_with_the_same_events_sends_nothing(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    deliver(RESULT, store, sender, config(tmp_path), NOW, rng=rng())
    before = len(sender.sent)
    again = deliver(RESULT, store, sender, config(tmp_path), NOW + timedelta(minutes=1), rng=rng())
    assert again == AlertCounts(queued=0, sent=0, pending=0, failed=0)
    assert len(sender.sent) == before


def test_only_new_events_are_in_the_next_alert_email(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    deliver(RESULT, store, sender, config(tmp_path, clients=False), NOW, rng=rng())
    later = tables()
    sessions = [*later["Sessions"].rows, ["2026-11-22", "Cara", "P-0003"]]
    result = compute(tables(sessions=sessions), today=TODAY)
    deliver(result, store, sender, config(tmp_path, clients=False), NOW + timedelta(minutes=1))
    assert len(sender.sent) == 2
    text, _ = parts(sender.sent[1])
    assert "Cara's 5-Session Pack (P-0003) is exhausted" in text
    assert "Dan" not in text and "Running low" not in text  # nothing already reported


def test_client_notices_only_when_switched_on(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    counts = deliver(RESULT, store, sender, config(tmp_path, clients=False), NOW, rng=rng())
    assert counts.sent == 1 and sender.to() == ["me@example.com"]


def test_no_practitioner_address_means_no_alert_email_but_events_are_kept(
    store: Store, tmp_path: Path
) -> None:
    sender = RecordingSender()
    counts = deliver(RESULT, store, sender, config(tmp_path, to=[], clients=False), NOW)
    assert counts.queued == 0 and sender.sent == []
    later = deliver(RESULT, store, sender, config(tmp_path, clients=False), NOW)
    assert later.queued == 0  # adding `to` later does not replay old alerts


def test_a_bad_client_address_skips_only_that_notice(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.mailfixtures import CLIENTS

    clients = [list(c) for c in CLIENTS]
    clients[3][1] = "dan>@example.com"  # passes the sheet's check, not ours
    result = compute(tables(clients=clients), today=TODAY, client_notices=True)
    sender = RecordingSender()
    with caplog.at_level(logging.WARNING):
        deliver(result, store, sender, config(tmp_path), NOW, rng=rng())
    assert "me@example.com" in sender.to() and not any("dan" in t for t in sender.to())
    assert "Dan's Email 'dan>@example.com' is not an email address" in caplog.text


def test_failed_sends_back_off_and_are_delivered_once(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender(fail_times=3)
    cfg = config(tmp_path, clients=False)
    first = deliver(RESULT, store, sender, cfg, NOW, rng=rng())
    assert first == AlertCounts(queued=1, sent=0, pending=1, failed=1)
    waits = []
    at = NOW
    for _ in range(2):
        [m] = store.outbox.pending()
        waits.append(m.next_attempt - at)
        assert deliver(RESULT, store, sender, cfg, at + timedelta(seconds=5)).sent == 0  # not due
        at = m.next_attempt
        counts = deliver(RESULT, store, sender, cfg, at, rng=rng())
        assert counts.failed == 1 and counts.pending == 1
    [m] = store.outbox.pending()
    waits.append(m.next_attempt - at)
    assert m.attempts == 3 and "connection refused" in (m.last_error or "")
    for n, wait in enumerate(waits):  # 1, 2, 4 minutes, each jittered to 50-100 %
        assert timedelta(minutes=2**n) * 0.5 <= wait <= timedelta(minutes=2**n)
    done = deliver(RESULT, store, sender, cfg, m.next_attempt, rng=rng())
    assert done == AlertCounts(queued=0, sent=1, pending=0, failed=0)
    assert len(sender.sent) == 1 and sender.attempts == 4
    assert deliver(RESULT, store, sender, cfg, m.next_attempt + timedelta(hours=5)).sent == 0


def test_backoff_is_capped_at_an_hour() -> None:
    r = rng()
    assert all(backoff(n, r) <= BACKOFF_CAP for n in range(1, 40))
    assert backoff(30, r) >= BACKOFF_CAP / 2
    assert backoff(1, r, permanent=True) >= BACKOFF_CAP / 2


def test_an_unreachable_server_holds_the_whole_queue(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender(fail_times=-1)
    counts = deliver(RESULT, store, sender, config(tmp_path), NOW, rng=rng())
    assert sender.attempts == 1  # one try, not one timeout per message
    assert counts.failed == 1 and counts.pending == 1 + len(NOTICES)
    pending = store.outbox.pending()
    assert [m.attempts for m in pending].count(1) == 1
    assert all(m.last_error and m.next_attempt > NOW for m in pending)
    sender.fail_times = 0
    later = send_pending(store, sender, NOW + timedelta(hours=2), rng=rng())
    assert later.sent == 1 + len(NOTICES) and later.pending == 0


def test_a_refused_message_does_not_hold_the_others(store: Store, tmp_path: Path) -> None:
    refused = SendError("the server refused the recipient (550)", permanent=True)
    sender = RecordingSender(fail_times=1, error=refused)
    counts = deliver(RESULT, store, sender, config(tmp_path), NOW, rng=rng())
    assert counts.failed == 1 and counts.sent == len(NOTICES) and counts.pending == 1
    [m] = store.outbox.pending()
    assert m.next_attempt - NOW >= BACKOFF_CAP / 2 and "550" in (m.last_error or "")


def test_an_unexpected_error_keeps_the_message(store: Store, tmp_path: Path) -> None:
    class Broken(RecordingSender):
        def send(self, message: object) -> None:
            raise RuntimeError("boom")

    counts = deliver(RESULT, store, Broken(), config(tmp_path, clients=False), NOW, rng=rng())
    assert counts.failed == 1 and counts.pending == 1
    assert "unexpected RuntimeError: boom" in (store.outbox.pending()[0].last_error or "")


def test_crash_between_queueing_and_sending(tmp_path: Path) -> None:
    from sync.alerts import queue_alerts

    path = tmp_path / "state.sqlite"
    cfg = config(tmp_path)
    with Store(path) as s:
        queued = queue_alerts(RESULT, s, cfg, NOW, LINKS)  # ... and the process dies here
    sender = RecordingSender()
    with Store(path) as s:
        counts = deliver(RESULT, s, sender, cfg, NOW + timedelta(minutes=1), LINKS, rng=rng())
    assert counts.queued == 0 and counts.sent == queued == 1 + len(NOTICES)
    with Store(path) as s:
        assert deliver(RESULT, s, sender, cfg, NOW + timedelta(minutes=2)).sent == 0
    assert len(sender.sent) == queued


def test_a_failure_while_building_records_nothing(store: Store, tmp_path: Path) -> None:
    from sync.alerts import queue_alerts

    cfg = config(tmp_path, sender="not an address\nBcc: x@example.com")
    with pytest.raises(Exception):  # noqa: B017 - a header error of the email package
        queue_alerts(RESULT, store, cfg, NOW)
    assert store.outbox.pending() == [] and store.alerts.get("low:p-3") is None
    assert queue_alerts(RESULT, store, config(tmp_path), NOW) == 1 + len(NOTICES)


def test_a_blocked_cycle_does_not_rearm_alerts(store: Store, tmp_path: Path) -> None:
    sender = RecordingSender()
    cfg = config(tmp_path, clients=False)
    deliver(RESULT, store, sender, cfg, NOW, rng=rng())
    broken = tables()
    del broken["Packages"]
    blocked = compute(broken, today=TODAY)
    assert blocked.blocked
    deliver(blocked, store, sender, cfg, NOW + timedelta(minutes=1), rng=rng())
    assert "Nothing was written" in parts(sender.sent[-1])[0]
    deliver(RESULT, store, sender, cfg, NOW + timedelta(minutes=2), rng=rng())
    assert len(sender.sent) == 2  # Low, Exhausted ... did not fire again after the fix


def test_sender_for_the_configured_backend(tmp_path: Path) -> None:
    from notifier.outbox import FileSender
    from notifier.smtp import SmtpSender
    from sync.bootstrap import sender as sender_for

    files = sender_for(config(tmp_path), {})
    assert isinstance(files, FileSender) and files.outbox == tmp_path / "outbox"
    smtp_cfg = config(
        tmp_path, backend="smtp", host="smtp.example.com", username="me", password_env="PW"
    )
    smtp = sender_for(smtp_cfg, {"PW": "hunter2"})
    assert isinstance(smtp, SmtpSender) and smtp.via == "smtp.example.com:587"
    assert "hunter2" not in repr(smtp)
