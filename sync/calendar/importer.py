"""The calendar import wired for one cycle: read the feeds, plan, and keep the records.

    calendar = CalendarImport.for_config(config, state)
    made = calendar.prepare(tables, now=now, zone=zone, numbers_are_dates=...)
    ...  # the cycle appends made.rows, decides them with the rules, writes
    calendar.landed(made, outcome, now)

``state`` None (a dry run with no state store yet) reads the feeds and keeps
nothing. ``record=False`` (a dry run, ``check``) reads and keeps nothing either.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import requests

from rules.model import Table
from rules.values import is_blank, key, text
from sync.backends.base import WriteOutcome
from sync.backends.google.client import RetryPolicy
from sync.calendar.feeds import FeedRead, FeedSource, read_feed
from sync.calendar.match import ClientRef
from sync.calendar.parse import Booking, ParseError, bookings
from sync.calendar.plan import CalendarPlan, FeedBookings, columns, plan
from sync.config import Config
from sync.store.calendar import CalendarTables

log = logging.getLogger(__name__)

#: Bookings are looked at up to a year ahead (at least), so a booking moved past the
#: horizon is followed rather than taken for cancelled.
FOLLOW_DAYS = 366
SESSION_TYPES = "Session types"


@dataclass(frozen=True)
class FeedResult:
    """One feed's read this cycle, for ``check`` and the summary."""

    source: FeedSource
    bookings: Sequence[Booking] | None
    error: str | None


def find_table(tables: Mapping[str, Table], name: str) -> Table | None:
    for title, table in tables.items():
        if key(title) == key(name):
            return table
    return None


def clients_of(tables: Mapping[str, Table]) -> list[ClientRef]:
    """Each client's name and email, as the Clients tab has them (upper row first)."""
    table = find_table(tables, "Clients")
    if table is None:
        return []
    at = columns(table.header)
    name_col, email_col = at.get("client"), at.get("email")
    if name_col is None:
        return []
    found: dict[str, ClientRef] = {}
    for row in table.rows:
        name = row[name_col] if name_col < len(row) else None
        if is_blank(name):
            continue
        email = row[email_col] if email_col is not None and email_col < len(row) else None
        ref = ClientRef(text(name).strip(), None if is_blank(email) else text(email).strip())
        found.setdefault(key(ref.name), ref)
    return list(found.values())


def session_types_of(tables: Mapping[str, Table]) -> list[str] | None:
    """The names on the ``Session types`` tab, or None when there is no such tab."""
    table = find_table(tables, SESSION_TYPES)
    if table is None:
        return None
    col = columns(table.header).get("type")
    if col is None:
        return []
    return [text(r[col]).strip() for r in table.rows if col < len(r) and not is_blank(r[col])]


class CalendarImport:
    """Reads the configured feeds and plans their rows, cycle after cycle."""

    def __init__(
        self,
        sources: Sequence[FeedSource],
        *,
        since: date | None,
        horizon_days: int,
        late_cancel_hours: float,
        state: CalendarTables | None,
        record: bool = True,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.sources = list(sources)
        self.since = since
        self.horizon_days = horizon_days
        self.late_cancel_hours = late_cancel_hours
        self.state = state
        self.record = record and state is not None
        self.session = session or requests.Session()
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.last_reads: list[FeedResult] = []
        self.last_clients: list[ClientRef] = []
        self._fetched: list[tuple[FeedRead, bytes | None]] = []
        #: Each feed's last expansion, by (body hash, window, zone): a daemon's cycles do
        #: not expand an unchanged feed again.
        self._parsed: dict[str, tuple[tuple[str, datetime, datetime, str], list[Booking]]] = {}

    @classmethod
    def for_config(
        cls, config: Config, state: CalendarTables | None, *, record: bool = True, **kwargs: object
    ) -> CalendarImport | None:
        """The import for this config, or None when ``[calendar] feeds`` is not set."""
        c = config.calendar
        if not c.enabled:
            return None
        policy = RetryPolicy(
            attempts=3,
            total_seconds=max(c.timeout_seconds * 2, 10.0),
            timeout=(min(10.0, c.timeout_seconds), c.timeout_seconds),
        )
        return cls(
            [FeedSource.of(f, lambda p: config.resolve(p)) for f in c.feeds],
            since=c.since,
            horizon_days=c.horizon_days,
            late_cancel_hours=c.late_cancel_hours,
            state=state,
            record=record,
            **{"policy": policy, **kwargs},  # type: ignore[arg-type]
        )

    def read_only(self) -> CalendarImport:
        """The same import for a dry run: it reads, and keeps nothing."""
        made = copy.copy(self)
        made.record = False
        made.last_reads, made.last_clients, made._fetched = [], [], []
        return made

    def close(self) -> None:
        self.session.close()

    def labels(self) -> dict[str, str]:
        return {s.id: s.label for s in self.sources}

    def first_day(self, today: date) -> date:
        if self.since is not None:
            return self.since
        if self.state is not None and self.record:
            return self.state.since(today)
        if self.state is not None:
            return self.state.recorded_since() or today
        return today

    def fetch(self) -> None:
        """Fetch every feed (the network part), before the cycle reads the workbook, so
        the time between that read and the write is not spent waiting on calendars."""
        self._fetched = [self._fetch_one(source) for source in self.sources]

    def _fetch_one(self, source: FeedSource) -> tuple[FeedRead, bytes | None]:
        validators, body = (
            self.state.validators(source.id) if self.state is not None else (None, None)
        )
        read = read_feed(
            source,
            validators if body is not None else None,
            session=self.session,
            policy=self.policy,
            sleep=self.sleep,
            rng=self.rng,
        )
        return read, body

    def read(self, now: datetime, zone: ZoneInfo, since: date) -> list[FeedResult]:
        """Every feed's bookings from ``since`` to a year ahead (None where one failed);
        the feeds are fetched now unless :meth:`fetch` did it already."""
        start = datetime.combine(since, clock_time(), zone)
        # Whole days, so that a feed that did not change is not expanded again all day.
        last_day = now.astimezone(zone).date() + timedelta(days=max(self.horizon_days, FOLLOW_DAYS))
        end = datetime.combine(last_day + timedelta(days=1), clock_time(), zone)
        fetched = self._fetched or [self._fetch_one(source) for source in self.sources]
        self._fetched = []
        out = [self._parse_one(read, body, now, zone, start, end) for read, body in fetched]
        self.last_reads = out
        return out

    def _parse_one(
        self,
        read: FeedRead,
        body: bytes | None,
        now: datetime,
        zone: ZoneInfo,
        start: datetime,
        end: datetime,
    ) -> FeedResult:
        source = read.source
        data = body if read.not_modified else read.data
        error = read.error
        found: list[Booking] | None = None
        if error is None and data is not None:
            memo = (hashlib.sha256(data).hexdigest(), start, end, str(zone))
            cached = self._parsed.get(source.id)
            if cached is not None and cached[0] == memo:
                found = cached[1]
            else:
                try:
                    found = bookings(data, start, end, zone)
                    self._parsed[source.id] = (memo, found)
                except ParseError as err:
                    error = str(err)
        elif error is None:
            error = "it sent nothing"
        if error is not None:
            log.warning("calendar feed %s cannot be read: %s", source.label, error)
        if self.record and self.state is not None:
            self.state.record_read(
                source.id,
                source.label,
                now,
                error=error,
                bookings=None if found is None else len(found),
                validators=read.validators if not read.not_modified else None,
                body=read.data if error is None and not read.not_modified else None,
            )
        return FeedResult(source, found, error)

    def prepare(
        self,
        tables: Mapping[str, Table],
        *,
        now: datetime,
        zone: str | None,
        numbers_are_dates: bool,
    ) -> tuple[str, CalendarPlan] | None:
        """Read the feeds and plan the Sessions tab's changes: (its title, the plan).

        None when there is no Sessions tab with ``Date`` and ``Client`` columns to log
        bookings into (the rules report that), and then no feed is read.
        """
        sessions = find_table(tables, "Sessions")
        if sessions is None:
            return None
        at = columns(sessions.header)
        if "date" not in at or "client" not in at:
            return None
        tz = ZoneInfo(zone) if zone else _local_zone(now)
        today = now.astimezone(tz).date()
        since = self.first_day(today)
        reads = self.read(now, tz, since)
        imported = self.state.events() if self.state is not None else {}
        self.last_clients = clients_of(tables)
        made = plan(
            sessions,
            self.last_clients,
            session_types_of(tables),
            [FeedBookings(r.source.id, r.source.label, r.bookings, r.error) for r in reads],
            imported,
            now=now,
            since=since,
            until=now + timedelta(days=self.horizon_days),
            late_cancel_hours=self.late_cancel_hours,
            numbers_are_dates=numbers_are_dates,
        )
        if self.record and self.state is not None and made.now:
            self.state.put(made.now, now)
        return sessions.title, made

    def landed(self, made: CalendarPlan, outcome: WriteOutcome, now: datetime) -> None:
        """Keep the records of what the write carried out.

        Only a write that landed whole is recorded here; otherwise the next cycle finds
        the rows that did land by their ``Event`` cells, and logs the others again.
        """
        if not self.record or self.state is None or not made.after_write:
            return
        if outcome.written and not outcome.retry_next_cycle:
            self.state.put(made.after_write, now)


def _local_zone(now: datetime) -> ZoneInfo:
    name = getattr(now.astimezone().tzinfo, "key", None)
    return ZoneInfo(name) if isinstance(name, str) else ZoneInfo("UTC")
