"""``balance_tokens`` and ``balance_pages``: each client's private balance page
link (kept with the token's hash, which is what a request is looked up by) and
what that page shows, as of the last sync (see :mod:`sync.balance`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sync.store.db import Database, timestamp


class BalanceTables:
    """The balance page's tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def tokens(self) -> dict[str, str]:
        """Client key -> the token of their balance page link."""
        rows = self._db.connection.execute("SELECT client_key, token FROM balance_tokens")
        return {str(r[0]): str(r[1]) for r in rows.fetchall()}

    def set_token(self, client_key: str, token: str, token_hash: str, now: datetime) -> None:
        """Give a client this token, replacing any they had (the old one stops working)."""
        with self._db.transaction():
            self._db.connection.execute(
                "INSERT INTO balance_tokens (client_key, token, token_hash, created) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(client_key) DO UPDATE SET "
                "token = excluded.token, token_hash = excluded.token_hash, "
                "created = excluded.created",
                (client_key, token, token_hash, timestamp(now)),
            )

    def lookup(self, token_hash: str) -> tuple[str, str | None] | None:
        """The client key and page (JSON, None when none is published) for a token's hash."""
        row = self._db.connection.execute(
            "SELECT t.client_key, p.page FROM balance_tokens AS t "
            "LEFT JOIN balance_pages AS p ON p.client_key = t.client_key "
            "WHERE t.token_hash = ?",
            (token_hash,),
        ).fetchone()
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def pages(self) -> dict[str, str]:
        """Client key -> their published page (JSON)."""
        rows = self._db.connection.execute("SELECT client_key, page FROM balance_pages")
        return {str(r[0]): str(r[1]) for r in rows.fetchall()}

    def replace_pages(self, pages: Mapping[str, str], now: datetime) -> None:
        """Publish a cycle's pages: all of them replace all the previous ones, at once."""
        stamp = timestamp(now)
        with self._db.transaction():
            self._db.connection.execute("DELETE FROM balance_pages")
            self._db.connection.executemany(
                "INSERT INTO balance_pages (client_key, page, published) VALUES (?, ?, ?)",
                [(k, page, stamp) for k, page in pages.items()],
            )
