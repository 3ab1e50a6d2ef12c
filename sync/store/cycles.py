"""``cycles``: the last cycles' outcomes, for ``creditsheet status``; and
``reports``: when each periodic report went out (its schedule is worked out on
the reporting side, :mod:`sync.schedule`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.store.db import Database, parse_timestamp, timestamp

#: Cycles kept for ``status``; older ones are dropped as new ones come in.
KEEP_CYCLES = 500
#: ``meta`` key: when the report schedule started (a store's first look at it).
_SCHEDULE_START = "report_schedule_start"


@dataclass(frozen=True, slots=True)
class CycleRecord:
    started: datetime
    duration: float
    #: ``ok``, ``not written`` or ``failed``.
    outcome: str
    reason: str | None
    figures: Mapping[str, Any] = field(default_factory=dict)


class Cycles:
    """The cycles' table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        started: datetime,
        duration: float,
        outcome: str,
        reason: str | None = None,
        figures: Mapping[str, Any] | None = None,
    ) -> None:
        """Remember one cycle: ``outcome`` is ``ok``, ``not written`` or ``failed``."""
        with self._db.transaction():
            self._db.connection.execute(
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
            self._db.connection.execute(
                "DELETE FROM cycles WHERE id <= (SELECT MAX(id) FROM cycles) - ?", (KEEP_CYCLES,)
            )

    def last(self, n: int = 10) -> list[CycleRecord]:
        """The last ``n`` cycles, newest first."""
        rows = self._db.connection.execute(
            "SELECT started, duration, outcome, reason, figures FROM cycles "
            "ORDER BY id DESC LIMIT ?",
            (n,),
        ).fetchall()
        return [
            CycleRecord(parse_timestamp(r[0]), r[1], r[2], r[3], json.loads(r[4])) for r in rows
        ]


class ReportLog:
    """The reports' table: which schedule slots have had their periodic report."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def last(self) -> datetime | None:
        """The schedule slot of the last periodic report queued."""
        row = self._db.connection.execute("SELECT MAX(slot) FROM reports").fetchone()
        return parse_timestamp(row[0]) if row and row[0] else None

    def mark(self, slot: datetime, now: datetime) -> None:
        """Remember that the report for ``slot`` went into the outbox at ``now``."""
        with self._db.transaction():
            self._db.connection.execute(
                "INSERT INTO reports (slot, queued) VALUES (?, ?) ON CONFLICT(slot) DO NOTHING",
                (timestamp(slot), timestamp(now)),
            )

    def baseline(self, now: datetime) -> datetime:
        """What a report is due after: the last one's slot or, before any, the
        schedule's start (the first call on a store starts it, at ``now``)."""
        last = self.last()
        if last is not None:
            return last
        started = self._db.meta(_SCHEDULE_START)
        if started is None:
            started = timestamp(now)
            self._db.set_meta(_SCHEDULE_START, started)
        return parse_timestamp(started)
