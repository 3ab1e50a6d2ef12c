"""``alert_keys``: every event key seen, whether it holds now, when it fired.

:meth:`AlertKeys.record` decides which of a cycle's events are new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rules.model import Event
from sync.store.db import Database, parse_timestamp, timestamp


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


class AlertKeys:
    """The alert keys' table."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
        sql = self._db.connection
        with self._db.transaction():
            for k, event in current.items():
                row = sql.execute("SELECT active FROM alert_keys WHERE key = ?", (k,)).fetchone()
                if row is None:
                    sql.execute(
                        "INSERT INTO alert_keys (key, kind, rearm, active, fired, first_seen, "
                        "last_seen, last_fired) VALUES (?, ?, ?, 1, 1, ?, ?, ?)",
                        (k, event.kind, int(event.rearm), stamp, stamp, stamp),
                    )
                    new.append(event)
                elif event.rearm and not row[0]:
                    sql.execute(
                        "UPDATE alert_keys SET kind = ?, rearm = 1, active = 1, "
                        "fired = fired + 1, last_seen = ?, last_fired = ? WHERE key = ?",
                        (event.kind, stamp, stamp, k),
                    )
                    new.append(event)
                else:
                    sql.execute(
                        "UPDATE alert_keys SET kind = ?, rearm = ?, active = 1, last_seen = ? "
                        "WHERE key = ?",
                        (event.kind, int(event.rearm), stamp, k),
                    )
            if retire:
                holding = [r[0] for r in sql.execute("SELECT key FROM alert_keys WHERE active = 1")]
                gone = [(k,) for k in holding if k not in current]
                sql.executemany("UPDATE alert_keys SET active = 0 WHERE key = ?", gone)
        return new

    def get(self, key: str) -> AlertKey | None:
        row = self._db.connection.execute(
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
            parse_timestamp(row[5]),
            parse_timestamp(row[6]),
            parse_timestamp(row[7]),
        )
