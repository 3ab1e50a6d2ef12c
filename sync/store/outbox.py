"""``outbox``: every email to send, with its full RFC 5322 bytes, until sent.

``claimed_until`` marks one a process is sending right now. A retry asked for by
hand (``creditsheet test-email`` with mail pending) is kept in ``meta`` until the
daemon's next cycle takes it up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses

from sync.store.db import Database, parse_timestamp, timestamp

#: Longest error text kept per message.
MAX_ERROR = 500
#: ``meta`` key: when a test email last went through with mail still pending, so the
#: daemon's next cycle tries that mail at once.
_RETRY_KEY = "mail_retry_requested"


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


class Outbox:
    """The outbox's table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def queue(self, dedupe_key: str, message: EmailMessage, now: datetime) -> bool:
        """Put a message in the outbox; False if one with this key is already there."""
        to = [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])]) if a]
        with self._db.transaction():
            cursor = self._db.connection.execute(
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
        with self._db.transaction():
            cursor = self._db.connection.execute(sql, args)
            return cursor.rowcount == 1

    def mark_sent(self, message_id: int, now: datetime) -> None:
        with self._db.transaction():
            self._db.connection.execute(
                "UPDATE outbox SET sent = ?, attempts = attempts + 1, last_error = NULL, "
                "claimed_until = NULL WHERE id = ?",
                (timestamp(now), message_id),
            )

    def mark_failed(self, message_id: int, error: str, retry_at: datetime) -> None:
        """A try failed: keep the message pending until ``retry_at``."""
        with self._db.transaction():
            self._db.connection.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
                "claimed_until = NULL WHERE id = ? AND sent IS NULL",
                (error[:MAX_ERROR], timestamp(retry_at), message_id),
            )

    def defer(self, message_id: int, error: str, retry_at: datetime, now: datetime) -> None:
        """Hold back a due message that was not tried (the server is down) until ``retry_at``."""
        with self._db.transaction():
            self._db.connection.execute(
                "UPDATE outbox SET last_error = ?, next_attempt = ? "
                "WHERE id = ? AND sent IS NULL AND next_attempt <= ?",
                (error[:MAX_ERROR], timestamp(retry_at), message_id, timestamp(now)),
            )

    def prune_sent(self, before: datetime) -> int:
        """Forget messages sent before ``before``; the alert keys still stop resends."""
        with self._db.transaction():
            return self._db.connection.execute(
                "DELETE FROM outbox WHERE sent IS NOT NULL AND sent < ?", (timestamp(before),)
            ).rowcount

    # --- a retry asked for by hand -----------------------------------------------------

    def request_retry(self, now: datetime) -> None:
        """Ask the next cycle (the daemon's) to try every pending message at once."""
        self._db.set_meta(_RETRY_KEY, timestamp(now))

    def retry_requested(self) -> datetime | None:
        """When :meth:`request_retry` asked, if no cycle has taken it up yet."""
        stamp = self._db.meta(_RETRY_KEY)
        return parse_timestamp(stamp) if stamp else None

    def take_retry(self) -> bool:
        """Whether a retry was asked for; the asking is used up by this call."""
        with self._db.transaction():
            asked = self._db.meta(_RETRY_KEY) is not None
            if asked:
                self._db.delete_meta(_RETRY_KEY)
            return asked

    def _messages(self, where: str, args: Sequence[object]) -> list[QueuedMessage]:
        rows = self._db.connection.execute(
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
                created=parse_timestamp(r[6]),
                attempts=r[7],
                next_attempt=parse_timestamp(r[8]),
                sent=parse_timestamp(r[9]) if r[9] else None,
                last_error=r[10],
                claimed_until=parse_timestamp(r[11]) if r[11] else None,
            )
            for r in rows
        ]
