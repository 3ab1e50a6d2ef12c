"""Retries: what is retried, how long we wait, when we give up, and that nothing is half-done.

The sleep and the clock are fakes (``Clock``), the random source is seeded, and the Sheets
API fake injects the faults, so every test runs in milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest

from sync.backends.base import WorkbookUnavailable
from sync.backends.google import GoogleBackend
from sync.backends.google.client import RetryPolicy, SheetsUnreachable, retry_after
from sync.config import Config
from sync.cycle import Cycle, run_cycle
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})
TABS = {
    "Clients": [["Client", "Billing"], ["Ann Lee", "Package"]],
    "Packages": [["Client", "Sessions", "Purchased"], ["Ann Lee", 5, date(2026, 10, 1)]],
    "Sessions": [["Date", "Client"], [date(2026, 11, 1), "Ann Lee"]],
    "Templates": [["Template", "Sessions"]],
}


class Clock:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    made = FakeSheets(seed=5)
    with made.mocked():
        yield made


@pytest.fixture
def clock() -> Clock:
    return Clock()


def backend(fake: FakeSheets, clock: Clock, policy: RetryPolicy | None = None) -> GoogleBackend:
    sid = fake.create_spreadsheet("Practice", TABS, row_count=50, column_count=10)
    return GoogleBackend(
        sid,
        endpoint=GOOGLE_BASE_URL,
        policy=policy or RetryPolicy(),
        rng=random.Random(11),
        sleep=clock.sleep,
        clock=clock,
    )


def cycle(b: GoogleBackend) -> Cycle:
    return run_cycle(CONFIG, b, now=NOW)


def statuses(fake: FakeSheets, b: GoogleBackend) -> list[object]:
    return [row[-2:] for row in fake.values(b.spreadsheet_id, "Sessions")[1:]]


def test_a_rate_limit_honours_retry_after_and_the_cycle_completes(
    fake: FakeSheets, clock: Clock
) -> None:
    b = backend(fake, clock)
    fake.faults.rate_limit(kind="values.batchGet", retry_after=7)
    report = cycle(b)
    assert report.outcome.written
    assert [r.status for r in fake.requests_of("values.batchGet")][:2] == [429, 200]
    assert clock.slept and clock.slept[0] >= 7
    assert statuses(fake, b) == [["Deducted", "P-0001: 4 of 5 left"]]


def test_a_dropped_connection_is_retried_and_the_write_lands_once(
    fake: FakeSheets, clock: Clock
) -> None:
    b = backend(fake, clock)
    fake.faults.drop(kind="batchUpdate")
    report = cycle(b)
    assert report.outcome.written
    writes = fake.requests_of("batchUpdate")
    assert [w.fault for w in writes] == ["drop", None]
    assert statuses(fake, b) == [["Deducted", "P-0001: 4 of 5 left"]]
    assert not cycle(b).plan


def test_a_write_whose_answer_was_lost_is_reported_and_completed_next_cycle(
    fake: FakeSheets, clock: Clock
) -> None:
    b = backend(fake, clock)
    fake.faults.drop(kind="batchUpdate", applied=True)  # carried out, answer lost
    first = cycle(b)
    # Repeating it asks for a Dashboard tab that now exists: Google refuses the repeat.
    assert not first.outcome.written
    assert "most likely carried out" in str(first.outcome.reason)
    assert not cycle(b).plan
    titles = [s["properties"]["title"] for s in fake.metadata(b.spreadsheet_id)["sheets"]]
    assert titles.count("Dashboard") == 1


def test_a_persistent_500_gives_up_after_the_tries_and_writes_nothing(
    fake: FakeSheets, clock: Clock
) -> None:
    b = backend(fake, clock)
    revision = fake.revision(b.spreadsheet_id)
    fake.faults.fail(500, kind="batchUpdate", times=None)
    with pytest.raises(SheetsUnreachable) as raised:
        cycle(b)
    assert isinstance(raised.value, WorkbookUnavailable)
    message = str(raised.value)
    assert message.startswith("Google Sheets did not answer after 5 tries over ")
    assert message.endswith("(HTTP 500): nothing was written; the next cycle tries again")
    assert len(fake.requests_of("batchUpdate")) == 5
    assert len(clock.slept) == 4 and sum(clock.slept) <= 60
    assert fake.revision(b.spreadsheet_id) == revision
    fake.faults.clear()
    assert cycle(b).outcome.written


def test_the_time_bound_stops_retries_before_the_try_bound(fake: FakeSheets, clock: Clock) -> None:
    policy = RetryPolicy(attempts=50, total_seconds=20, first_delay=4, max_delay=16)
    b = backend(fake, clock, policy)
    fake.faults.fail(503, kind="read", times=None)
    with pytest.raises(SheetsUnreachable, match=r"\(HTTP 503\): nothing was written") as raised:
        cycle(b)
    assert raised.value.tries < 50
    assert clock.now <= 20
    assert sum(clock.slept) == clock.now


def test_a_retry_after_beyond_the_time_bound_gives_up_at_once(
    fake: FakeSheets, clock: Clock
) -> None:
    b = backend(fake, clock, RetryPolicy(total_seconds=30))
    fake.faults.rate_limit(kind="read", retry_after=120, times=None)
    with pytest.raises(SheetsUnreachable, match="over the Sheets API quota"):
        cycle(b)
    assert clock.slept == []


def test_a_timeout_is_retried(fake: FakeSheets, clock: Clock) -> None:
    b = backend(fake, clock, RetryPolicy(timeout=(1.0, 0.05)))
    fake.faults.delay(0.2, kind="values.batchGet")
    assert cycle(b).outcome.written
    assert fake.requests_of("values.batchGet")[0].fault == "delay"
    fake.faults.delay(0.2, kind="values.batchGet", times=None)
    with pytest.raises(SheetsUnreachable, match=r"\(no answer within 0.05 s\)"):
        cycle(b)


def test_a_refusal_is_not_retried(fake: FakeSheets, clock: Clock) -> None:
    b = backend(fake, clock)
    fake.faults.fail(404, kind="spreadsheets.get")
    with pytest.raises(WorkbookUnavailable, match="no Google spreadsheet with the key"):
        cycle(b)
    assert len(fake.requests) == 1 and clock.slept == []


def test_backoff_is_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(first_delay=1.0, max_delay=8.0)
    rng = random.Random(3)
    waits = [[policy.backoff(n, rng) for _ in range(200)] for n in range(6)]
    for n, drawn in enumerate(waits):
        cap = min(8.0, 2.0**n)
        assert all(0 <= w <= cap for w in drawn)
        assert max(drawn) > cap * 0.9 and min(drawn) < cap * 0.1  # spread over [0, cap]
    again = random.Random(3)
    assert waits[0][:5] == [policy.backoff(0, again) for _ in range(5)]


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert retry_after({"Retry-After": "7"}, lambda: now) == 7
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after({"Retry-After": later}, lambda: now) == 30
    assert retry_after({"Retry-After": "soon"}, lambda: now) is None
    assert retry_after({}, lambda: now) is None
