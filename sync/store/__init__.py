"""The state store: what creditsheet remembers between cycles, in one SQLite file.

One :class:`Store` owns the connection and hands out one storage object per
concern, each in its own module:

    store.alerts     AlertKeys      alert_keys: which events are new (sync.store.alerts)
    store.outbox     Outbox         every email until it is sent (sync.store.outbox)
    store.cycles     Cycles         the last cycles' outcomes (sync.store.cycles)
    store.reports    ReportLog      which periodic reports went out (sync.store.cycles)
    store.balance    BalanceTables  balance links and pages (sync.store.balance)
    store.calendar   CalendarTables what the calendar import logged (sync.store.calendar)

The tables and their migrations are in :mod:`sync.store.schema`; the file, its
transactions and ``meta`` in :mod:`sync.store.db`. Recording a cycle's events and
queueing their emails happen in one transaction (:meth:`Store.transaction`), so a
crash between the two can neither lose an alert nor queue it twice. Every time
is a parameter (``now``); nothing in here reads the clock, the config or the
email policy.

    with Store(path) as store:
        with store.transaction():
            new = store.alerts.record(result.events, now)
            store.outbox.queue("digest:...", message, now)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from sync.store.alerts import AlertKeys
from sync.store.balance import BalanceTables
from sync.store.calendar import CalendarTables
from sync.store.cycles import Cycles, ReportLog
from sync.store.db import Database, StateError
from sync.store.outbox import Outbox
from sync.store.schema import LINES

__all__ = ["StateError", "Store"]


class Store:
    """The state file; open it, use it, close it (or use ``with``)."""

    def __init__(self, path: Path | str) -> None:
        self.db = Database(path, LINES)
        self.path = self.db.path
        self.alerts = AlertKeys(self.db)
        self.outbox = Outbox(self.db)
        self.cycles = Cycles(self.db)
        self.reports = ReportLog(self.db)
        self.balance = BalanceTables(self.db)
        self.calendar = CalendarTables(self.db)

    @property
    def schema_version(self) -> int:
        return int(self.db.meta("schema_version") or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing, across concerns; nested calls join the outer transaction."""
        with self.db.transaction():
            yield

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
