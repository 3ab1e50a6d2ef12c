"""Every table of the state file, and the migrations that make them.

Four version lines, each a key in ``meta``, migrated on open (see
:class:`sync.store.db.Database`): the core tables (``schema_version``), the
balance page's (added later, so they have a line of their own and every store
written before stayed at core version 1), the outbox's additions and the
calendar import's.
"""

from __future__ import annotations

from sync.store.db import VersionLine, run_script

SCHEMA_VERSION = 1
BALANCE_SCHEMA_VERSION = 1
MAIL_SCHEMA_VERSION = 1
CALENDAR_SCHEMA_VERSION = 1

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

#: A message being sent is held by its claim until this time (see ``Outbox.claim``),
#: told apart from one waiting out its backoff, which a hand-run cycle may try early.
_MAIL_V1 = "ALTER TABLE outbox ADD COLUMN claimed_until TEXT"

_CALENDAR_V1 = """
CREATE TABLE calendar_events (
    event_id TEXT PRIMARY KEY,
    feed TEXT NOT NULL,
    start TEXT NOT NULL,
    wrote_date TEXT NOT NULL,
    wrote_outcome TEXT,
    state TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE calendar_feeds (
    feed TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body BLOB,
    last_read TEXT,
    last_ok TEXT,
    error TEXT,
    bookings INTEGER
)
"""

CORE = VersionLine("schema_version", SCHEMA_VERSION, {0: run_script(_SCHEMA_V1)})
BALANCE = VersionLine(
    "balance_schema_version", BALANCE_SCHEMA_VERSION, {0: run_script(_BALANCE_V1)}
)
MAIL = VersionLine("mail_schema_version", MAIL_SCHEMA_VERSION, {0: run_script(_MAIL_V1)})
CALENDAR = VersionLine(
    "calendar_schema_version", CALENDAR_SCHEMA_VERSION, {0: run_script(_CALENDAR_V1)}
)
#: In the order they are migrated: the outbox's additions need the core tables.
LINES = (CORE, BALANCE, MAIL, CALENDAR)
