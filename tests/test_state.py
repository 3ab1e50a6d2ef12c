"""The state store: which events are new, the outbox, cycles, the report schedule."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.messages import from_bytes
from rules.model import Event
from sync.config import ReportConfig
from sync.schedule import latest_slot, next_report_due
from sync.store import StateError, Store
from sync.store.cycles import KEEP_CYCLES
from sync.store.schema import SCHEMA_VERSION
from tests.mailfixtures import NOW, practice

LONDON = "Europe/London"


def ev(key: str, rearm: bool = True, kind: str = "low") -> Event:
    return Event(kind, key, rearm, "practitioner", f"about {key}")  # type: ignore[arg-type]


def msg(subject: str = "hello", to: str = "me@example.com") -> EmailMessage:
    m = EmailMessage()
    m["Subject"], m["From"], m["To"] = subject, "cs@example.com", to
    m["Message-ID"] = f"<{subject.replace(' ', '-')}@creditsheet>"
    m.set_content("body")
    return m


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.sqlite")
    yield s
    s.close()


# --- the file --------------------------------------------------------------------------


def test_state_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "state.sqlite"
        with Store(path) as s:
            s.alerts.record([ev("low:p-1")], NOW)
            s.outbox.queue("k", msg(), NOW)
            for f in [path, *path.parent.glob("state.sqlite-*")]:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_schema_is_versioned_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION == 1
        s.alerts.record([ev("low:p-1")], NOW)
    with Store(path) as s:
        assert s.schema_version == 1
        assert s.alerts.record([ev("low:p-1")], NOW) == []
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer creditsheet"):
        Store(path)


def test_a_file_that_is_not_a_state_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not sqlite at all, just some text " * 50)
    with pytest.raises(StateError) as err:
        Store(path)
    assert str(path) in str(err.value) and "not a creditsheet state file" in str(err.value)


def test_times_must_be_aware(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.alerts.record([ev("a")], datetime(2026, 11, 22, 8, 0))


# --- which events are new -----------------------------------------------------------


def test_first_sight_is_new_then_quiet(store: Store) -> None:
    events = [ev("low:p-1"), ev("expiring:p-2:2026-11-27", rearm=False)]
    assert store.alerts.record(events, NOW) == events
    assert store.alerts.record(events, NOW + timedelta(minutes=1)) == []
    key = store.alerts.get("low:p-1")
    assert key is not None and key.active and key.fired == 1
    assert key.first_seen == NOW and key.last_seen == NOW + timedelta(minutes=1)


def test_duplicate_keys_in_one_cycle_fire_once(store: Store) -> None:
    assert store.alerts.record([ev("a"), ev("a")], NOW) == [ev("a")]


def test_rearm_key_fires_again_after_it_stopped_holding(store: Store) -> None:
    low = ev("low:p-1")
    assert store.alerts.record([low], NOW) == [low]
    assert store.alerts.record([], NOW + timedelta(minutes=1)) == []
    key = store.alerts.get("low:p-1")
    assert key is not None and not key.active
    assert store.alerts.record([low], NOW + timedelta(minutes=2)) == [low]
    key = store.alerts.get("low:p-1")
    assert key is not None and key.fired == 2 and key.first_seen == NOW


def test_once_keys_never_fire_twice(store: Store) -> None:
    once = ev("rejected:2026-11-16|dan|p-0004|1", rearm=False, kind="rejected_session")
    assert store.alerts.record([once], NOW) == [once]
    for minutes in range(1, 5):
        events = [once] if minutes % 2 == 0 else []
        assert store.alerts.record(events, NOW + timedelta(minutes=minutes)) == []


def test_an_incomplete_cycle_rearms_nothing(store: Store) -> None:
    low = ev("low:p-1")
    store.alerts.record([low], NOW)
    assert store.alerts.record([ev("problems:abc")], NOW + timedelta(minutes=1), retire=False) != []
    assert store.alerts.record([low], NOW + timedelta(minutes=2)) == []


def test_package_leaving_low_and_coming_back_rearms_its_alert(store: Store) -> None:
    from tests.mailfixtures import SESSIONS

    def low_keys(sessions: list[list[object]]) -> list[str]:
        result = practice(sessions=sessions)
        return [e.key for e in store.alerts.record(result.events, NOW) if e.kind == "low"]

    assert low_keys(SESSIONS) == ["low:p-3"]  # Cara: 1 of 5 left
    fewer = [s for s in SESSIONS if s[:2] not in (["2026-11-12", "Cara"], ["2026-11-13", "Cara"])]
    assert low_keys(fewer) == []  # 3 of 5 left: Active, the key is re-armed
    assert low_keys(SESSIONS) == ["low:p-3"]  # Low again: fires again
    assert low_keys(SESSIONS) == []


def test_changed_expires_rearms_expiring_soon(store: Store) -> None:
    from tests.mailfixtures import PACKAGES

    def expiring(packages: list[list[object]]) -> list[str]:
        new = store.alerts.record(practice(packages=packages).events, NOW)
        return [e.key for e in new if e.kind == "expiring_soon"]

    assert expiring(PACKAGES) == ["expiring:p-1:2026-11-27"]
    assert expiring(PACKAGES) == []
    moved = [list(p) for p in PACKAGES]
    moved[0][6] = "2026-11-28"
    assert expiring(moved) == ["expiring:p-1:2026-11-28"]
    assert expiring(moved) == []


KEYS = [("a", True), ("b", True), ("c", False), ("d", False)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sets(st.sampled_from(range(len(KEYS)))), min_size=1, max_size=8))
def test_record_matches_the_contract(tmp_path_factory: pytest.TempPathFactory, cycles) -> None:
    """Against a plain model: new = never seen, or a rearm key absent last cycle."""
    path = tmp_path_factory.mktemp("prop") / "state.sqlite"
    seen: set[str] = set()
    previous: set[str] = set()
    with Store(path) as s:
        for n, chosen in enumerate(cycles):
            events = [ev(KEYS[i][0], KEYS[i][1]) for i in sorted(chosen)]
            expected = [
                e.key for e in events if e.key not in seen or (e.rearm and e.key not in previous)
            ]
            got = [e.key for e in s.alerts.record(events, NOW + timedelta(minutes=n))]
            assert got == expected
            seen |= {e.key for e in events}
            previous = {e.key for e in events}


# --- transactions and crashes ---------------------------------------------------------


def test_a_crash_inside_the_transaction_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    s = Store(path)
    with pytest.raises(RuntimeError), s.transaction():
        s.alerts.record([ev("low:p-1")], NOW)
        s.outbox.queue("digest:1", msg(), NOW)
        raise RuntimeError("power cut")
    s.close()
    with Store(path) as again:
        assert again.outbox.pending() == []
        assert again.alerts.record([ev("low:p-1")], NOW) == [ev("low:p-1")]


def test_a_killed_process_neither_loses_nor_duplicates(tmp_path: Path) -> None:
    """A real crash (os._exit) mid-transaction, then after queueing but before sending."""
    path = tmp_path / "state.sqlite"
    script = textwrap.dedent(
        """
        import os, sys
        from datetime import datetime, UTC
        from email.message import EmailMessage
        from rules.model import Event
        from sync.store import Store
        now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
        store = Store(sys.argv[1])
        m = EmailMessage()
        m["To"], m["Subject"], m["Message-ID"] = "me@example.com", "alert", "<x@creditsheet>"
        m.set_content("body")
        with store.transaction():
            new = store.alerts.record([Event("low", "low:p-1", True, "practitioner", "s")], now)
            store.outbox.queue("digest:1", m, now)
            if sys.argv[2] == "mid":
                os._exit(3)
        os._exit(4)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    mid = subprocess.run([sys.executable, "-c", script, str(path), "mid"], env=env, check=False)
    assert mid.returncode == 3
    with Store(path) as s:
        assert s.outbox.pending() == [] and s.alerts.get("low:p-1") is None
    after = subprocess.run([sys.executable, "-c", script, str(path), "after"], env=env, check=False)
    assert after.returncode == 4
    with Store(path) as s:
        assert [m.dedupe_key for m in s.outbox.pending()] == ["digest:1"]
        assert s.alerts.record([ev("low:p-1")], NOW) == []  # recorded with its message


# --- the outbox -------------------------------------------------------------------------


def test_queue_keeps_the_whole_message_once(store: Store) -> None:
    m = msg("Ann is low", "ann@example.com")
    assert store.outbox.queue("low:p-1", m, NOW)
    assert not store.outbox.queue("low:p-1", msg("another"), NOW)
    [row] = store.outbox.pending()
    assert row.dedupe_key == "low:p-1" and row.subject == "Ann is low"
    assert row.recipients == ("ann@example.com",) and row.message_id == "<Ann-is-low@creditsheet>"
    assert row.raw == m.as_bytes() and from_bytes(row.raw)["Subject"] == "Ann is low"
    assert row.attempts == 0 and row.sent is None and row.created == NOW


def test_claim_sent_failed_and_deferred(store: Store, tmp_path: Path) -> None:
    store.outbox.queue("a", msg("a"), NOW)
    store.outbox.queue("b", msg("b"), NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=2)
    a, b = store.outbox.due(later)
    with Store(tmp_path / "state.sqlite") as other:
        assert store.outbox.claim(a.id, later, timedelta(minutes=10))
        assert not other.outbox.claim(a.id, later, timedelta(minutes=10))  # someone is sending it
    assert [m.dedupe_key for m in store.outbox.due(later)] == ["b"]
    store.outbox.mark_failed(a.id, "could not reach x", later + timedelta(minutes=1))
    store.outbox.defer(b.id, "could not reach x", later + timedelta(minutes=1), later)
    assert store.outbox.due(later) == []
    a2, b2 = store.outbox.due(later + timedelta(minutes=1))
    assert (a2.attempts, a2.last_error, b2.attempts) == (1, "could not reach x", 0)
    store.outbox.mark_sent(a2.id, later + timedelta(minutes=1))
    assert [m.dedupe_key for m in store.outbox.pending()] == ["b"]
    [sent] = store.outbox.sent()
    assert sent.sent == later + timedelta(minutes=1) and sent.last_error is None
    assert store.outbox.prune_sent(later + timedelta(days=1)) == 1 and store.outbox.sent() == []


def test_a_lease_expires_after_a_crash_mid_send(store: Store) -> None:
    store.outbox.queue("a", msg("a"), NOW)
    [a] = store.outbox.due(NOW)
    assert store.outbox.claim(a.id, NOW, timedelta(minutes=10))
    assert store.outbox.due(NOW + timedelta(minutes=9)) == []
    [again] = store.outbox.due(NOW + timedelta(minutes=10))
    assert again.message_id == a.message_id  # a resend is recognisably the same message


def test_an_early_claim_takes_a_message_waiting_out_its_backoff(store: Store) -> None:
    store.outbox.queue("a", msg("a"), NOW)
    [a] = store.outbox.due(NOW)
    assert store.outbox.claim(a.id, NOW, timedelta(minutes=10))
    store.outbox.mark_failed(a.id, "could not reach x", NOW + timedelta(hours=1))
    later = NOW + timedelta(minutes=2)
    assert store.outbox.due(later) == [] and not store.outbox.claim(
        a.id, later, timedelta(minutes=10)
    )
    assert store.outbox.claim(a.id, later, timedelta(minutes=10), early=True)  # run by hand
    [held] = store.outbox.pending()
    assert held.claimed_until == later + timedelta(minutes=10)


def test_an_early_claim_never_takes_a_message_being_sent(store: Store, tmp_path: Path) -> None:
    store.outbox.queue("a", msg("a"), NOW)
    [a] = store.outbox.due(NOW)
    assert store.outbox.claim(a.id, NOW, timedelta(minutes=10))  # the daemon is sending it
    with Store(tmp_path / "state.sqlite") as by_hand:
        assert not by_hand.outbox.claim(
            a.id, NOW + timedelta(seconds=5), timedelta(minutes=10), early=True
        )
        # After a crash mid-send, once the lease is over, it may be taken again.
        after = NOW + timedelta(minutes=10)
        assert by_hand.outbox.claim(a.id, after, timedelta(minutes=10), early=True)
    store.outbox.mark_sent(a.id, NOW + timedelta(minutes=11))
    [sent] = store.outbox.sent()
    assert sent.claimed_until is None and sent.attempts == 1


def test_a_retry_request_is_taken_once(store: Store, tmp_path: Path) -> None:
    assert not store.outbox.take_retry() and store.outbox.retry_requested() is None
    store.outbox.request_retry(NOW)
    with Store(tmp_path / "state.sqlite") as daemon:
        assert daemon.outbox.retry_requested() == NOW
        assert daemon.outbox.take_retry()
    assert not store.outbox.take_retry() and store.outbox.retry_requested() is None


def test_a_store_from_before_the_claim_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as s:
        s.outbox.queue("a", msg("a"), NOW)
    db = sqlite3.connect(path)  # as the version before this one left it
    db.execute("ALTER TABLE outbox DROP COLUMN claimed_until")
    db.execute("DELETE FROM meta WHERE key = 'mail_schema_version'")
    db.commit()
    db.close()
    with Store(path) as s:
        [a] = s.outbox.pending()
        assert a.claimed_until is None and s.outbox.claim(a.id, NOW, timedelta(minutes=10))
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'mail_schema_version'").fetchone()
    db.close()
    assert version == ("1",)


# --- cycles -----------------------------------------------------------------------------


def test_cycles_newest_first_and_bounded(store: Store) -> None:
    store.cycles.record(NOW, 0.5, "ok", figures={"cells_changed": 3})
    store.cycles.record(NOW + timedelta(minutes=1), 0.2, "not written", "Excel has it open")
    store.cycles.record(NOW + timedelta(minutes=2), 1.5, "failed", "workbook not found")
    last = store.cycles.last(2)
    assert [(c.outcome, c.reason) for c in last] == [
        ("failed", "workbook not found"),
        ("not written", "Excel has it open"),
    ]
    assert store.cycles.last(5)[-1].figures == {"cells_changed": 3}
    assert store.cycles.last(5)[-1].started == NOW
    for i in range(KEEP_CYCLES + 5):
        store.cycles.record(NOW + timedelta(hours=1, seconds=i), 0.1, "ok")
    assert len(store.cycles.last(10_000)) == KEEP_CYCLES


# --- the report schedule ---------------------------------------------------------------

WEEKLY = ReportConfig(every="week", at="08:00")
DAILY = ReportConfig(every="day", at="08:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_latest_slot_weekly_is_monday_local_time() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo(LONDON)
    # Sunday 22 Nov 2026 -> Monday 16 Nov 08:00 GMT
    assert latest_slot(WEEKLY, london, NOW) == at("2026-11-16T08:00:00+00:00")
    # summer time: Monday 6 Jul 2026 08:00 BST is 07:00 UTC
    assert latest_slot(WEEKLY, london, at("2026-07-08T12:00:00+00:00")) == at(
        "2026-07-06T07:00:00+00:00"
    )
    assert latest_slot(DAILY, london, at("2026-11-22T07:59:00+00:00")) == at(
        "2026-11-21T08:00:00+00:00"
    )
    assert latest_slot(ReportConfig(every="off"), london, NOW) is None


def test_new_store_waits_for_the_next_slot_then_sends_once(store: Store) -> None:
    monday = at("2026-11-23T08:00:00+00:00")
    assert next_report_due(store.reports, WEEKLY, LONDON, NOW) == monday
    assert next_report_due(store.reports, WEEKLY, LONDON, monday - timedelta(seconds=1)) == monday
    assert (
        next_report_due(store.reports, WEEKLY, LONDON, monday + timedelta(hours=3)) == monday
    )  # due
    store.reports.mark(monday, monday + timedelta(hours=3))
    assert store.reports.last() == monday
    assert next_report_due(
        store.reports, WEEKLY, LONDON, monday + timedelta(hours=4)
    ) == monday + timedelta(days=7)


def test_after_downtime_only_the_latest_missed_report_is_due(store: Store) -> None:
    next_report_due(store.reports, DAILY, LONDON, NOW)  # starts the schedule
    three_days = NOW + timedelta(days=3, hours=2)
    due = next_report_due(store.reports, DAILY, LONDON, three_days)
    assert due == at("2026-11-25T08:00:00+00:00")
    store.reports.mark(due, three_days)
    assert next_report_due(store.reports, DAILY, LONDON, three_days) == at(
        "2026-11-26T08:00:00+00:00"
    )


def test_reports_off_are_never_due(store: Store) -> None:
    assert next_report_due(store.reports, ReportConfig(every="off"), LONDON, NOW) is None


def test_a_state_path_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.mkdir()
    with pytest.raises(StateError, match=r"state file .*state\.sqlite"):
        Store(path)
