"""Each client's unguessable balance link, kept in the state store.

A token is 192 random bits from :mod:`secrets`, URL-safe. The link is
``{base_url}/b/{token}``: no client id or name in it. Requests are looked up by
the token's SHA-256 (see :func:`digest`), never by the token itself.

    keys = client_keys_from_tables(snapshot.tables)     # before compute
    tokens = ensure_tokens(store, keys, now)
    result = run_cycle(..., balance_links=links(tokens, config.balance.base_url))
"""

from __future__ import annotations

import difflib
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime

from rules.model import Table
from rules.schema import CLIENTS
from rules.tabs import view
from rules.values import is_blank, key, text
from sync.balance.pages import ClientPage
from sync.store import Store

#: Random bytes per token: 24 bytes = 192 bits, 32 URL-safe characters.
TOKEN_BYTES = 24
#: The path in front of the token.
PREFIX = "/b/"


class BalanceError(Exception):
    """Something the balance page cannot do; the message says what and why."""


class UnknownClient(BalanceError):
    """No client of that name has a balance link."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """What a token is stored and looked up by: its SHA-256, hex.

    Every request path goes through this, whatever it holds, so an unknown
    token, a malformed one and an unknown page take the same route.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def client_keys_from_tables(tables: Mapping[str, Table]) -> list[str]:
    """The keys (:func:`rules.values.key`) of the names in the Clients tab's ``Client`` column.

    The tab and the column are found as the rules find them (case-insensitive,
    trimmed); a missing or broken Clients tab gives an empty list. Blank names
    are left out and each key comes once, in sheet order.
    """
    clients, _ = view(CLIENTS, tables)
    if clients is None:
        return []
    found: dict[str, None] = {}
    for row in clients.rows():
        raw = clients.cell(row, "Client")
        if raw is not None:
            found.setdefault(key(text(raw)), None)
    return list(found)


def ensure_tokens(store: Store, client_keys: Iterable[str], now: datetime) -> dict[str, str]:
    """Client key -> token for these clients, creating the missing ones (in one transaction)."""
    with store.transaction():
        tokens = store.balance.tokens()
        out: dict[str, str] = {}
        for k in client_keys:
            if k not in tokens:
                tokens[k] = new_token()
                store.balance.set_token(k, tokens[k], digest(tokens[k]), now)
            out[k] = tokens[k]
    return out


def rotate(store: Store, client_key: str, now: datetime) -> str:
    """Give a client a new token; the old link stops working at once. Returns the new token.

    Raises :class:`UnknownClient` when the client has no token yet.
    """
    with store.transaction():
        if client_key not in store.balance.tokens():
            raise UnknownClient(f"no client with the key '{client_key}' has a balance link")
        token = new_token()
        store.balance.set_token(client_key, token, digest(token), now)
    return token


def rotate_by_name(store: Store, name: str, now: datetime, *, base_url: str) -> str:
    """``creditsheet balance rotate CLIENT``: a new link for the client of that name.

    Names compare as on the Clients tab (case and spaces do not matter). The
    sheet's ``Balance link`` shows the new link after the next sync. Raises
    :class:`UnknownClient` with a suggestion when no client has that name.
    """
    tokens = store.balance.tokens()
    wanted = key(name)
    if is_blank(name) or wanted not in tokens:
        raise UnknownClient(_unknown(name, tokens, store.balance.pages()))
    return link(rotate(store, wanted, now), base_url)


def _unknown(name: str, tokens: Mapping[str, str], pages: Mapping[str, str]) -> str:
    shown = {k: ClientPage.from_json(pages[k]).name if k in pages else k for k in tokens}
    message = (
        f"no client named '{name.strip()}' has a balance link; clients get one at the "
        "first sync that sees them on the Clients tab with [balance] enabled = true"
    )
    close = difflib.get_close_matches(key(name), list(shown), n=1, cutoff=0.7)
    if close:
        message += f" (did you mean '{shown[close[0]]}'?)"
    return message


def link(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{PREFIX}{token}"


def links(tokens: Mapping[str, str], base_url: str) -> dict[str, str]:
    """Client key -> the address of their page (``{base_url}/b/{token}``)."""
    return {k: link(token, base_url) for k, token in tokens.items()}
