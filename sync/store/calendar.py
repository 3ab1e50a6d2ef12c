"""What the calendar import keeps in the state file.

- ``calendar_events``: every event it logged, with what it wrote (the row's
  ``Date`` and ``Outcome``) and the booking's start. An event is ``pending`` from
  just before the write until the write is known to have landed (``imported``);
  a pending event found in the Sessions tab is imported (a crash came between the
  write and this record), one not found was never written and is logged again.
  An imported event never is: a row the practitioner deletes stays deleted.
- ``calendar_feeds``: each feed's last read (by a hash of its address, never the
  address): when, whether it worked, the error, the answer's ETag / Last-Modified
  and body for the next conditional request.
- ``meta`` ``calendar_since``: the day the import first ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sync.calendar.feeds import Validators
from sync.store.db import Database, parse_timestamp, timestamp

SINCE_KEY = "calendar_since"


@dataclass(frozen=True, slots=True)
class Imported:
    """One event the import logged, and the cells it wrote."""

    event_id: str
    feed: str
    start: datetime
    wrote_date: date
    wrote_outcome: str | None
    pending: bool = False


@dataclass(frozen=True, slots=True)
class FeedStatus:
    feed: str
    label: str
    last_read: datetime | None
    last_ok: datetime | None
    error: str | None
    bookings: int | None


class CalendarTables:
    """The calendar import's tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- the import's start --------------------------------------------------

    def recorded_since(self) -> date | None:
        """The day the import first ran, if it has."""
        found = self._db.meta(SINCE_KEY)
        return date.fromisoformat(found) if found else None

    def since(self, today: date) -> date:
        """The first day events are imported from: the day the import first ran
        (``today``, remembered, when this is the first run)."""
        found = self.recorded_since()
        if found is not None:
            return found
        self._db.set_meta(SINCE_KEY, today.isoformat())
        return today

    # --- events ----------------------------------------------------------------

    def events(self) -> dict[str, Imported]:
        rows = self._db.connection.execute(
            "SELECT event_id, feed, start, wrote_date, wrote_outcome, state FROM calendar_events"
        ).fetchall()
        return {
            str(r[0]): Imported(
                str(r[0]),
                str(r[1]),
                parse_timestamp(r[2]),
                date.fromisoformat(r[3]),
                r[4],
                r[5] == "pending",
            )
            for r in rows
        }

    def put(self, records: Iterable[Imported], now: datetime) -> None:
        """Insert or replace these events' records, all at once."""
        with self._db.transaction():
            self._db.connection.executemany(
                "INSERT INTO calendar_events "
                "(event_id, feed, start, wrote_date, wrote_outcome, state, first_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO UPDATE SET "
                "feed = excluded.feed, start = excluded.start, wrote_date = excluded.wrote_date, "
                "wrote_outcome = excluded.wrote_outcome, state = excluded.state",
                [
                    (
                        r.event_id,
                        r.feed,
                        timestamp(r.start),
                        r.wrote_date.isoformat(),
                        r.wrote_outcome,
                        "pending" if r.pending else "imported",
                        timestamp(now),
                    )
                    for r in records
                ],
            )

    def forget(self, event_ids: Iterable[str]) -> None:
        """Drop pending records whose rows never reached the sheet."""
        with self._db.transaction():
            self._db.connection.executemany(
                "DELETE FROM calendar_events WHERE event_id = ? AND state = 'pending'",
                [(e,) for e in event_ids],
            )

    # --- feeds -------------------------------------------------------------------

    def validators(self, feed: str) -> tuple[Validators, bytes | None]:
        """The last good answer's validators and body (for a conditional request)."""
        row = self._db.connection.execute(
            "SELECT etag, last_modified, body FROM calendar_feeds WHERE feed = ?", (feed,)
        ).fetchone()
        if row is None or row[2] is None:
            return Validators(), None
        return Validators(row[0], row[1]), bytes(row[2])

    def record_read(
        self,
        feed: str,
        label: str,
        now: datetime,
        *,
        error: str | None,
        bookings: int | None = None,
        validators: Validators | None = None,
        body: bytes | None = None,
    ) -> None:
        """Remember a feed's read; a failed read keeps the last good body and validators."""
        stamp = timestamp(now)
        sql = self._db.connection
        with self._db.transaction():
            sql.execute(
                "INSERT INTO calendar_feeds (feed, label) VALUES (?, ?) "
                "ON CONFLICT(feed) DO UPDATE SET label = excluded.label",
                (feed, label),
            )
            if error is not None:
                sql.execute(
                    "UPDATE calendar_feeds SET last_read = ?, error = ? WHERE feed = ?",
                    (stamp, error, feed),
                )
                return
            sql.execute(
                "UPDATE calendar_feeds SET last_read = ?, last_ok = ?, error = NULL, "
                "bookings = ? WHERE feed = ?",
                (stamp, stamp, bookings, feed),
            )
            if body is not None and validators is not None:
                sql.execute(
                    "UPDATE calendar_feeds SET etag = ?, last_modified = ?, body = ? "
                    "WHERE feed = ?",
                    (validators.etag, validators.last_modified, body, feed),
                )

    def feeds(self, wanted: Mapping[str, str] | None = None) -> list[FeedStatus]:
        """Each feed's last read; ``wanted`` (id -> label) limits and orders them."""
        rows = self._db.connection.execute(
            "SELECT feed, label, last_read, last_ok, error, bookings FROM calendar_feeds"
        ).fetchall()
        found = {
            str(r[0]): FeedStatus(
                str(r[0]),
                str(r[1]),
                parse_timestamp(r[2]) if r[2] else None,
                parse_timestamp(r[3]) if r[3] else None,
                r[4],
                r[5],
            )
            for r in rows
        }
        if wanted is None:
            return list(found.values())
        return [
            found.get(f, FeedStatus(f, label, None, None, None, None))
            for f, label in wanted.items()
        ]
