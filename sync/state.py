"""The state store: what creditsheet remembers between cycles, in one SQLite file.

- ``alert_keys``: every event key seen, whether it holds now, when it fired;
  :meth:`StateStore.record` decides which of a cycle's events are new.
- ``outbox``: every email to send, with its full RFC 5322 bytes, until sent;
  ``claimed_until`` marks one a process is sending right now.
- ``cycles``: the last cycles' outcomes, for ``creditsheet status``.
- ``reports``: when each periodic report went out.
- ``balance_tokens`` and ``balance_pages``: each client's private balance page
  link (kept with the token's hash, which is what a request is looked up by) and
  what that page shows, as of the last sync (see :mod:`sync.balance`).

Recording a cycle's events and queueing their emails happen in one
transaction (:meth:`StateStore.transaction`), so a crash between the two can
neither lose an alert nor queue it twice. The file is created with mode 0600.
Every time is a parameter (``now``); nothing in here reads the clock.

    with StateStore(path) as store:
        with store.transaction():
            new = store.record(result.events, now)
            store.queue("digest:...", message, now)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from notifier.messages import POLICY
from rules.model import Event
from sync.config import ReportConfig
from sync.errors import CreditsheetError

SCHEMA_VERSION = 1
#: The balance page's tables have their own version line (``balance_schema_version``
#: in ``meta``), migrated on open like the core one: adding them left the core
#: schema, and every store written before, at version 1.
BALANCE_SCHEMA_VERSION = 1
#: The outbox's own additions (``mail_schema_version``), on the same footing.
MAIL_SCHEMA_VERSION = 1
#: Cycles kept for ``status``; older ones are dropped as new ones come in.
KEEP_CYCLES = 500
#: Longest error text kept per message.
MAX_ERROR = 500

_SCHEMA_V1 = """
CREATE TABLE alert_keys (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    rearm INTEGER NOT NULL,
    active INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_fired TEXT NOT NULL
);
CREATE INDEX alert_keys_active ON alert_keys(key) WHERE active = 1;
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw BLOB NOT NULL,
    created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    sent TEXT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox(next_attempt) WHERE sent IS NULL;
CREATE TABLE cycles (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    duration REAL NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    figures TEXT NOT NULL
);
CREATE TABLE reports (
    slot TEXT PRIMARY KEY,
    queued TEXT NOT NULL
);
"""


_BALANCE_V1 = """
CREATE TABLE balance_tokens (
    client_key TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE balance_pages (
    client_key TEXT PRIMARY KEY,
    page TEXT NOT NULL,
    published TEXT NOT NULL
)
"""

#: A message being sent is held by its claim until this time (see ``claim``), told
#: apart from one waiting out its backoff, which a hand-run cycle may try early.
_MAIL_V1 = "ALTER TABLE outbox ADD COLUMN claimed_until TEXT"


def _run_script(script: str) -> Callable[[sqlite3.Connection], None]:
    """Statements one by one (``executescript`` would commit the open transaction)."""

    def run(db: sqlite3.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)

    return run


#: Migration ``n`` takes a store from schema version ``n`` to ``n + 1``, inside the
#: transaction that records the new version.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _run_script(_SCHEMA_V1)}
#: The same for the balance page's tables (``balance_schema_version``).
BALANCE_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _run_script(_BALANCE_V1)}
#: The same for the outbox's additions (``mail_schema_version``).
MAIL_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _run_script(_MAIL_V1)}
#: ``meta`` key: when a test email last went through with mail still pending, so the
#: daemon's next cycle tries that mail at once.
_MAIL_RETRY = "mail_retry_requested"


class StateError(CreditsheetError):
    """The state file cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One row of the outbox."""

    id: int
    dedupe_key: str
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    created: datetime
    attempts: int
    next_attempt: datetime
    sent: datetime | None
    last_error: str | None
    #: While a process is sending it: until when its claim holds.
    claimed_until: datetime | None = None

    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=POLICY)


@dataclass(frozen=True, slots=True)
class AlertKey:
    key: str
    kind: str
    rearm: bool
    active: bool
    fired: int
    first_seen: datetime
    last_seen: datetime
    last_fired: datetime


@dataclass(frozen=True, slots=True)
class CycleRecord:
    started: datetime
    duration: float
    #: ``ok``, ``not written`` or ``failed``.
    outcome: str
    reason: str | None
    figures: Mapping[str, Any] = field(default_factory=dict)


class StateStore:
    """The SQLite state file; open it, use it, close it (or use ``with``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._depth = 0
        try:
            _create_private(self.path)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except OSError as err:
            raise StateError(
                f"cannot create the state file {self.path}: {err.strerror or err}"
            ) from None
        except sqlite3.Error as err:
            raise StateError(f"cannot open the state file {self.path}: {err}") from None
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except BaseException as err:
            self._db.close()
            if isinstance(err, sqlite3.OperationalError):
                raise StateError(f"cannot use the state file {self.path}: {err}") from None
            if not isinstance(err, sqlite3.DatabaseError):
                raise
            raise StateError(
                f"{self.path} is not a creditsheet state file ({err}); "
                "move it away and creditsheet starts a new one"
            ) from None

    # --- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StateError(
                f"the state file {self.path} is busy ({err}); is another creditsheet using it?"
            ) from None
        self._depth = 1
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @property
    def schema_version(self) -> int:
        return int(self._meta("schema_version") or 0)

    def _migrate(self) -> None:
        with self.transaction():
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = self.schema_version
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{self.path} was written by a newer creditsheet (schema {version}, this "
                    f"one knows {SCHEMA_VERSION}); upgrade creditsheet"
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](self._db)
                version += 1
                self._set_meta("schema_version", str(version))
            self._migrate_line("balance_schema_version", BALANCE_SCHEMA_VERSION, BALANCE_MIGRATIONS)
            self._migrate_line("mail_schema_version", MAIL_SCHEMA_VERSION, MAIL_MIGRATIONS)

    def _migrate_line(
        self,
        meta_key: str,
        known: int,
        migrations: Mapping[int, Callable[[sqlite3.Connection], None]],
    ) -> None:
        version = int(self._meta(meta_key) or 0)
        if version > known:
            raise StateError(
                f"{self.path} was written by a newer creditsheet ({meta_key} {version}, this "
                f"one knows {known}); upgrade creditsheet"
            )
        while version < known:
            migrations[version](self._db)
            version += 1
            self._set_meta(meta_key, str(version))

    def extend(
        self,
        meta_key: str,
        known: int,
        migrations: Mapping[int, Callable[[sqlite3.Connection], None]],
    ) -> sqlite3.Connection:
        """Bring a feature's own tables (versioned under ``meta_key``) up to ``known``, and
        hand out the connection for its queries (run them inside :meth:`transaction`)."""
        with self.transaction():
            self._migrate_line(meta_key, known, migrations)
        return self._db

    def meta(self, key: str) -> str | None:
        return self._meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._set_meta(key, value)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # --- alert keys -----------------------------------------------------------

    def record(self, events: Iterable[Event], now: datetime, *, retire: bool = True) -> list[Event]:
        """Remember this cycle's events; return those that are new.

        New: a key never seen; or a ``rearm`` key that had stopped holding (it
        was absent from an earlier cycle) and holds again. A key without
        ``rearm`` fires once, ever. With ``retire`` (a complete cycle), keys
        absent from ``events`` are marked as no longer holding, which re-arms
        the ``rearm`` ones; pass ``retire=False`` when the cycle could not see
        everything (the workbook's structure was broken), so nothing re-arms.
        """
        stamp = timestamp(now)
        current: dict[str, Event] = {}
        for event in events:
            current.setdefault(event.key, event)
        new: list[Event] = []
        with self.transaction():
            for k, event in current.items():
                row = self._db.execute(
                    "SELECT active FROM alert_keys WHERE key = ?", (k,)
                ).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO alert_keys (key, kind, rearm, active, fired, first_seen, "
                        "last_seen, last_fired) VALUES (?, ?, ?, 1, 1, ?, ?, ?)",
                        (k, event.kind, int(event.rearm), stamp, stamp, stamp),
                    )
                    new.append(event)
                elif event.rearm and not row[0]:
                    self._db.execute(
                        "UPDATE alert_keys SET kind = ?, rearm = 1, active = 1, "
                        "fired = fired + 1, last_seen = ?, last_fired = ? WHERE key = ?",
                        (event.kind, stamp, stamp, k),
                    )
                    new.append(event)
                else:
                    self._db.execute(
                        "UPDATE alert_keys SET kind = ?, rearm = ?, active = 1, last_seen = ? "
                        "WHERE key = ?",
                        (event.kind, int(event.rearm), stamp, k),
                    )
            if retire:
                holding = [
                    r[0] for r in self._db.execute("SELECT key FROM alert_keys WHERE active = 1")
                ]
                gone = [(k,) for k in holding if k not in current]
                self._db.executemany("UPDATE alert_keys SET active = 0 WHERE key = ?", gone)
        return new

    def alert_key(self, key: str) -> AlertKey | None:
        row = self._db.execute(
            "SELECT key, kind, rearm, active, fired, first_seen, last_seen, last_fired "
            "FROM alert_keys WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return AlertKey(
            row[0],
            row[1],
            bool(row[2]),
            bool(row[3]),
            row[4],
            _dt(row[5]),
            _dt(row[6]),
            _dt(row[7]),
        )

    # --- outbox ---------------------------------------------------------------

    def queue(self, dedupe_key: str, message: EmailMessage, now: datetime) -> bool:
        """Put a message in the outbox; False if one with this key is already there."""
        to = [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])]) if a]
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO outbox (dedupe_key, message_id, recipients, subject, raw, created, "
                "next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
                (
                    dedupe_key,
                    str(message.get("Message-ID", "")),
                    json.dumps(to),
                    str(message.get("Subject", "")),
                    message.as_bytes(),
                    timestamp(now),
                    timestamp(now),
                ),
            )
            return cursor.rowcount == 1

    def due(self, now: datetime) -> list[QueuedMessage]:
        """Unsent messages whose next attempt is due, oldest first."""
        return self._messages("WHERE sent IS NULL AND next_attempt <= ?", (timestamp(now),))

    def pending(self) -> list[QueuedMessage]:
        """Every unsent message, oldest first."""
        return self._messages("WHERE sent IS NULL", ())

    def message(self, dedupe_key: str) -> QueuedMessage | None:
        found = self._messages("WHERE dedupe_key = ?", (dedupe_key,))
        return found[0] if found else None

    def sent(self, since: datetime | None = None) -> list[QueuedMessage]:
        """Sent messages (since a time, when given), oldest first."""
        return self._messages(
            "WHERE sent IS NOT NULL AND sent >= ?", (timestamp(since) if since else "",)
        )

    def claim(
        self, message_id: int, now: datetime, lease: timedelta, *, early: bool = False
    ) -> bool:
        """Take a due message for sending; no other process takes it until ``lease`` ends.

        If this process dies mid-send, the message is due again after the lease.
        ``early`` takes a message that is still waiting out its backoff too (a
        cycle run by hand), but never one another process is sending.
        """
        until, at = timestamp(now + lease), timestamp(now)
        sql = (
            "UPDATE outbox SET next_attempt = ?, claimed_until = ? WHERE id = ? "
            "AND sent IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)"
        )
        args: tuple[object, ...] = (until, until, message_id, at)
        if not early:
            sql, args = sql + " AND next_attempt <= ?", (*args, at)
        with self.transaction():
            cursor = self._db.execute(sql, args)
            return cursor.rowcount == 1

    def mark_sent(self, message_id: int, now: datetime) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE outbox SET sent = ?, attempts = attempts + 1, last_error = NULL, "
                "claimed_until = NULL WHERE id = ?",
                (timestamp(now), message_id),
            )

    def mark_failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        """A try failed: keep the message pending until ``retry_at``."""
        with self.transaction():
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                "claimed_until = NULL WHERE id = ? AND sent IS NULL",
                (error[:MAX_ERROR], timestamp(retry_at), message_id),
            )

    def defer(self, message_id: int, error: str, retry_at: datetime, now: datetime) -> None:
        """Hold back a due message that was not tried (the server is down) until ``retry_at``."""
        with self.transaction():
            self._db.execute(
                "UPDATE outbox SET last_error = ?, next_attempt = ? "
                "WHERE id = ? AND sent IS NULL AND next_attempt <= ?",
                (error[:MAX_ERROR], timestamp(retry_at), message_id, timestamp(now)),
            )

    def request_mail_retry(self, now: datetime) -> None:
        """Ask the next cycle (the daemon's) to try every pending message at once."""
        with self.transaction():
            self._set_meta(_MAIL_RETRY, timestamp(now))

    def mail_retry_requested(self) -> datetime | None:
        """When :meth:`request_mail_retry` asked, if no cycle has taken it up yet."""
        stamp = self._meta(_MAIL_RETRY)
        return _dt(stamp) if stamp else None

    def take_mail_retry(self) -> bool:
        """Whether a retry was asked for; the asking is used up by this call."""
        with self.transaction():
            asked = self._meta(_MAIL_RETRY) is not None
            if asked:
                self._db.execute("DELETE FROM meta WHERE key = ?", (_MAIL_RETRY,))
            return asked

    def prune_sent(self, before: datetime) -> int:
        """Forget messages sent before ``before``; the alert keys still stop resends."""
        with self.transaction():
            return self._db.execute(
                "DELETE FROM outbox WHERE sent IS NOT NULL AND sent < ?", (timestamp(before),)
            ).rowcount

    def _messages(self, where: str, args: Sequence[object]) -> list[QueuedMessage]:
        rows = self._db.execute(
            "SELECT id, dedupe_key, message_id, recipients, subject, raw, created, attempts, "
            f"next_attempt, sent, last_error, claimed_until FROM outbox {where} "
            "ORDER BY created, id",
            tuple(args),
        ).fetchall()
        return [
            QueuedMessage(
                id=r[0],
                dedupe_key=r[1],
                message_id=r[2],
                recipients=tuple(json.loads(r[3])),
                subject=r[4],
                raw=bytes(r[5]),
                created=_dt(r[6]),
                attempts=r[7],
                next_attempt=_dt(r[8]),
                sent=_dt(r[9]) if r[9] else None,
                last_error=r[10],
                claimed_until=_dt(r[11]) if r[11] else None,
            )
            for r in rows
        ]

    # --- cycles ---------------------------------------------------------------

    def record_cycle(
        self,
        started: datetime,
        duration: float,
        outcome: str,
        reason: str | None = None,
        figures: Mapping[str, Any] | None = None,
    ) -> None:
        """Remember one cycle: ``outcome`` is ``ok``, ``not written`` or ``failed``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO cycles (started, duration, outcome, reason, figures) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    timestamp(started),
                    duration,
                    outcome,
                    reason,
                    json.dumps(figures or {}, default=str),
                ),
            )
            self._db.execute(
                "DELETE FROM cycles WHERE id <= (SELECT MAX(id) FROM cycles) - ?", (KEEP_CYCLES,)
            )

    def last_cycles(self, n: int = 10) -> list[CycleRecord]:
        """The last ``n`` cycles, newest first."""
        rows = self._db.execute(
            "SELECT started, duration, outcome, reason, figures FROM cycles "
            "ORDER BY id DESC LIMIT ?",
            (n,),
        ).fetchall()
        return [CycleRecord(_dt(r[0]), r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # --- reports --------------------------------------------------------------

    def last_report(self) -> datetime | None:
        """The schedule slot of the last periodic report queued."""
        row = self._db.execute("SELECT MAX(slot) FROM reports").fetchone()
        return _dt(row[0]) if row and row[0] else None

    def mark_report(self, slot: datetime, now: datetime) -> None:
        """Remember that the report for ``slot`` went into the outbox at ``now``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO reports (slot, queued) VALUES (?, ?) ON CONFLICT(slot) DO NOTHING",
                (timestamp(slot), timestamp(now)),
            )

    def next_report_due(
        self, report: ReportConfig, tz: tzinfo | str | None, now: datetime
    ) -> datetime | None:
        """When the next periodic report is due: at or before ``now`` means send it now.

        None when reports are off. The first call on a store starts the schedule,
        so a new store sends its first report at the next slot, not at once; after
        downtime, only the latest missed report is due (once), not every one.
        """
        zone = zone_of(tz, now)
        latest = latest_slot(report, zone, now)
        if latest is None:
            return None
        baseline = self.last_report()
        if baseline is None:
            started = self._meta("report_schedule_start")
            if started is None:
                with self.transaction():
                    self._set_meta("report_schedule_start", timestamp(now))
                started = timestamp(now)
            baseline = _dt(started)
        if latest > baseline:
            return latest
        return next_slot(report, zone, now)

    # --- balance page ---------------------------------------------------------------

    def balance_tokens(self) -> dict[str, str]:
        """Client key -> the token of their balance page link."""
        rows = self._db.execute("SELECT client_key, token FROM balance_tokens").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def set_balance_token(
        self, client_key: str, token: str, token_hash: str, now: datetime
    ) -> None:
        """Give a client this token, replacing any they had (the old one stops working)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO balance_tokens (client_key, token, token_hash, created) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(client_key) DO UPDATE SET "
                "token = excluded.token, token_hash = excluded.token_hash, "
                "created = excluded.created",
                (client_key, token, token_hash, timestamp(now)),
            )

    def balance_lookup(self, token_hash: str) -> tuple[str, str | None] | None:
        """The client key and page (JSON, None when none is published) for a token's hash."""
        row = self._db.execute(
            "SELECT t.client_key, p.page FROM balance_tokens AS t "
            "LEFT JOIN balance_pages AS p ON p.client_key = t.client_key "
            "WHERE t.token_hash = ?",
            (token_hash,),
        ).fetchone()
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def balance_pages(self) -> dict[str, str]:
        """Client key -> their published page (JSON)."""
        rows = self._db.execute("SELECT client_key, page FROM balance_pages").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def replace_balance_pages(self, pages: Mapping[str, str], now: datetime) -> None:
        """Publish a cycle's pages: all of them replace all the previous ones, at once."""
        stamp = timestamp(now)
        with self.transaction():
            self._db.execute("DELETE FROM balance_pages")
            self._db.executemany(
                "INSERT INTO balance_pages (client_key, page, published) VALUES (?, ?, ?)",
                [(k, page, stamp) for k, page in pages.items()],
            )


# --- the report schedule, as plain functions ------------------------------------


def zone_of(tz: tzinfo | str | None, now: datetime) -> tzinfo:
    """A time zone from a name, a tzinfo, or None: the zone ``now`` is in on this machine."""
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if tz is None:
        return _aware(now).astimezone().tzinfo or UTC
    return tz


def latest_slot(report: ReportConfig, tz: tzinfo, now: datetime) -> datetime | None:
    """The latest scheduled report time at or before ``now`` (UTC), or None when off."""
    if report.every == "off":
        return None
    _aware(now)
    step = 7 if report.every == "week" else 1
    day = now.astimezone(tz).date()
    if report.every == "week":
        day -= timedelta(days=day.weekday())  # Monday
    slot = _slot(day, report.at, tz)
    while slot > now:
        day -= timedelta(days=step)
        slot = _slot(day, report.at, tz)
    return slot


def next_slot(report: ReportConfig, tz: tzinfo, now: datetime) -> datetime | None:
    """The first scheduled report time after ``now`` (UTC), or None when off."""
    latest = latest_slot(report, tz, now)
    if latest is None:
        return None
    step = 7 if report.every == "week" else 1
    day = latest.astimezone(tz).date()
    slot = latest
    while slot <= now:
        day += timedelta(days=step)
        slot = _slot(day, report.at, tz)
    return slot


def _slot(day: date, at: str, tz: tzinfo) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


# --- files and times --------------------------------------------------------------


def _create_private(path: Path) -> None:
    """Create the file readable and writable by its owner only (0600), if it is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times given to the state store must be timezone-aware")
    return now


def timestamp(moment: datetime) -> str:
    """A sortable UTC text form: ``2026-11-22T08:00:00.000000Z``."""
    return _aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
