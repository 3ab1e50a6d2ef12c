"""The client balance page: a private link that answers "how many sessions do I have left?".

Each client gets an unguessable link (:mod:`sync.balance.tokens`); each sync
publishes what every client's page shows to the state store
(:mod:`sync.balance.publish`); ``creditsheet serve`` answers the links from
there (:mod:`sync.balance.server`), never reading the workbook per request.

    keys = client_keys_from_tables(snapshot.tables)              # before compute
    urls = links(ensure_tokens(store, keys, now), config.balance.base_url)
    ...                                                          # compute with urls
    publish(result, store, now, timezone=zone)                   # after compute
"""

from sync.balance.publish import publish
from sync.balance.server import make_server, serve
from sync.balance.tokens import (
    BalanceError,
    UnknownClient,
    client_keys_from_tables,
    ensure_tokens,
    links,
    rotate,
    rotate_by_name,
)

__all__ = [
    "BalanceError",
    "UnknownClient",
    "client_keys_from_tables",
    "ensure_tokens",
    "links",
    "make_server",
    "publish",
    "rotate",
    "rotate_by_name",
    "serve",
]
