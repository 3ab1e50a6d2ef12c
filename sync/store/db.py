"""The state file itself: the SQLite connection, its transactions, ``meta``, and
the migrations of every table kept in it.

Each concern keeps its tables on a version line of its own (a key in ``meta``):
the core tables under ``schema_version``, the balance page's, the outbox's
additions and the calendar import's each under theirs. Every line is brought up
to date when the file is opened, in one transaction. The file is created with
mode 0600. Every time is a parameter; nothing in here reads the clock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: Migration ``n`` of a line takes its tables from version ``n`` to ``n + 1``, inside
#: the transaction that records the new version.
Migrations = Mapping[int, Callable[[sqlite3.Connection], None]]


class StateError(Exception):
    """The state file cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class VersionLine:
    """One concern's tables: the ``meta`` key holding their version, the version
    this creditsheet knows, and the migrations up to it."""

    meta_key: str
    known: int
    migrations: Migrations


def run_script(script: str) -> Callable[[sqlite3.Connection], None]:
    """Statements one by one (``executescript`` would commit the open transaction)."""

    def run(db: sqlite3.Connection) -> None:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)

    return run


class Database:
    """The open state file: its connection, transactions and ``meta``."""

    def __init__(self, path: Path | str, lines: Sequence[VersionLine]) -> None:
        self.path = Path(path)
        self._depth = 0
        try:
            _create_private(self.path)
            self.connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except OSError as err:
            raise StateError(
                f"cannot create the state file {self.path}: {err.strerror or err}"
            ) from None
        except sqlite3.Error as err:
            raise StateError(f"cannot open the state file {self.path}: {err}") from None
        try:
            self.connection.execute("PRAGMA journal_mode = WAL")
            self.connection.execute("PRAGMA synchronous = FULL")
            self._migrate(lines)
        except BaseException as err:
            self.connection.close()
            if isinstance(err, sqlite3.OperationalError):
                raise StateError(f"cannot use the state file {self.path}: {err}") from None
            if not isinstance(err, sqlite3.DatabaseError):
                raise
            raise StateError(
                f"{self.path} is not a creditsheet state file ({err}); "
                "move it away and creditsheet starts a new one"
            ) from None

    def close(self) -> None:
        self.connection.close()

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
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StateError(
                f"the state file {self.path} is busy ({err}); is another creditsheet using it?"
            ) from None
        self._depth = 1
        try:
            yield
            self.connection.execute("COMMIT")
        except BaseException:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    # --- meta -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.connection.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def delete_meta(self, key: str) -> None:
        with self.transaction():
            self.connection.execute("DELETE FROM meta WHERE key = ?", (key,))

    # --- migrations -----------------------------------------------------------------

    def _migrate(self, lines: Sequence[VersionLine]) -> None:
        with self.transaction():
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            for line in lines:
                self._migrate_line(line)

    def _migrate_line(self, line: VersionLine) -> None:
        version = int(self.meta(line.meta_key) or 0)
        if version > line.known:
            what = "schema" if line.meta_key == "schema_version" else line.meta_key
            raise StateError(
                f"{self.path} was written by a newer creditsheet ({what} {version}, this "
                f"one knows {line.known}); upgrade creditsheet"
            )
        while version < line.known:
            line.migrations[version](self.connection)
            version += 1
            self.set_meta(line.meta_key, str(version))


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


def aware(now: datetime) -> datetime:
    """``now`` itself, once it is known to carry its time zone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times given to the state store must be timezone-aware")
    return now


def timestamp(moment: datetime) -> str:
    """A sortable UTC text form: ``2026-11-22T08:00:00.000000Z``."""
    return aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """The moment a :func:`timestamp` text stands for."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
