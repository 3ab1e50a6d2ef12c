"""Alerts: a cycle's new events become emails in the outbox, then each is sent once.

    counts = deliver(result, store, sender, config, now)

1. Record the cycle's events in the state store and queue their emails, in
   one transaction: one alert email for the practitioner with every new event, and
   (when ``[notify] clients = true``) one notice per new client event.
2. Send every pending message that is due, marking each sent right after it
   went. A failed send stays pending and is retried on a later cycle, after a
   truncated exponential backoff with jitter. A cycle run by hand
   (``at_once``) tries every pending message, backoff or not: the person who
   ran it is there to see the result.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from notifier.alert_email import render_alert_email
from notifier.facts import Facts
from notifier.messages import AddressError, build, from_bytes
from notifier.notices import KINDS as CLIENT_KINDS
from notifier.notices import render_notice
from notifier.send import Sender, SendError
from rules.events import PRACTITIONER
from rules.model import Event, Result
from rules.values import key
from rules.words import plural
from sync.config import Config
from sync.store import Store
from sync.store.db import timestamp

log = logging.getLogger(__name__)

#: First retry after about a minute, doubling up to an hour.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
#: How long a message being sent is held from other processes; after a crash
#: mid-send it is due again once this has passed.
LEASE = timedelta(minutes=10)
#: Sent messages are kept this long for ``status``; the alert keys stop resends for good.
KEEP_SENT = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """What one delivery did: messages queued and sent now, still pending, failed now."""

    queued: int = 0
    sent: int = 0
    pending: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "sent": self.sent,
            "pending": self.pending,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message on its way into the outbox, under its dedupe key."""

    dedupe_key: str
    message: EmailMessage


def deliver(
    result: Result,
    store: Store,
    sender: Sender,
    config: Config,
    now: datetime,
    links: Mapping[str, str] | None = None,
    *,
    rng: random.Random | None = None,
    at_once: bool = False,
) -> AlertCounts:
    """Queue this cycle's new alerts, then send everything pending that is due
    (with ``at_once``, everything pending).

    ``links`` maps a client key (:func:`rules.values.key` of the name) to the
    client's balance page link.
    """
    queued = queue_alerts(result, store, config, now, links)
    counts = send_pending(store, sender, now, rng=rng, at_once=at_once)
    store.outbox.prune_sent(now - KEEP_SENT)
    return replace(counts, queued=queued)


def queue_alerts(
    result: Result,
    store: Store,
    config: Config,
    now: datetime,
    links: Mapping[str, str] | None = None,
) -> int:
    """Record the events and queue their messages in one transaction; how many were queued.

    If building a message fails, nothing is recorded, so the next cycle tries
    again: an alert is never marked seen without its email being queued.
    """
    with store.transaction():
        new = store.alerts.record(result.events, now, retire=not result.blocked)
        made = messages_for(new, result, config, now, links)
        return sum(store.outbox.queue(o.dedupe_key, o.message, now) for o in made)


def messages_for(
    new: Sequence[Event],
    result: Result,
    config: Config,
    now: datetime,
    links: Mapping[str, str] | None = None,
) -> list[Outgoing]:
    """The alert email for the practitioner and the client notices for these new events."""
    facts = Facts.of(result)
    out: list[Outgoing] = []
    mine = [e for e in new if e.audience == PRACTITIONER]
    if mine and config.email.to:
        dedupe = alert_email_id(mine, now)
        rendered = render_alert_email(
            mine, facts, currency=config.rules.currency, today=result.dashboard.today
        )
        out.append(
            Outgoing(
                dedupe,
                build(
                    rendered,
                    dedupe_key=dedupe,
                    sender=config.email.sender,
                    to=config.email.to,
                    now=now,
                ),
            )
        )
    elif mine:
        log.info(
            "%s, but [email] to is empty, so no email goes out", plural(len(mine), "new alert")
        )
    if not config.notify.clients:
        return out
    for event in new:
        if event.audience == PRACTITIONER or event.kind not in CLIENT_KINDS:
            continue
        client = str(event.details.get("client") or "")
        link = (links or {}).get(key(client)) if client else None
        dedupe = f"notice:{event.key}" + (f":{timestamp(now)}" if event.rearm else "")
        try:
            message = build(
                render_notice(event, facts, link=link, renew_url=config.notify.renew_url),
                dedupe_key=dedupe,
                sender=config.email.sender,
                to=[event.audience],
                now=now,
            )
        except AddressError as err:
            log.warning("Clients: %s's Email %s; their notice is not sent", client, err)
            continue
        out.append(Outgoing(dedupe, message))
    return out


def alert_email_id(events: Sequence[Event], now: datetime) -> str:
    """The outbox's dedupe key of a cycle's alert email: the cycle's time and the
    events it reports. (Its ``digest:`` prefix is kept as state files hold it.)"""
    keys = "\n".join(sorted(e.key for e in events))
    return f"digest:{timestamp(now)}:{hashlib.sha256(keys.encode()).hexdigest()[:16]}"


def send_pending(
    store: Store,
    sender: Sender,
    now: datetime,
    *,
    rng: random.Random | None = None,
    lease: timedelta = LEASE,
    at_once: bool = False,
) -> AlertCounts:
    """Send every pending message that is due, oldest first; each is marked sent at once.

    ``at_once`` tries those still waiting out their backoff too. When the
    server cannot be reached, the rest of the queue waits with the failed
    message instead of each trying (and timing out) in turn.
    """
    rng = rng or random.Random()
    sent = failed = 0
    due = store.outbox.pending() if at_once else store.outbox.due(now)
    for i, item in enumerate(due):
        if not store.outbox.claim(item.id, now, lease, early=at_once):
            continue  # another process has it
        try:
            sender.send(from_bytes(item.raw))
        except Exception as err:
            failed += 1
            error = _error_text(err)
            permanent = isinstance(err, SendError) and err.permanent
            retry = now + backoff(item.attempts + 1, rng, permanent=permanent)
            store.outbox.mark_failed(item.id, error, retry)
            log.warning(
                "could not send '%s' to %s: %s", item.subject, ", ".join(item.recipients), error
            )
            if isinstance(err, SendError) and err.unreachable:
                for rest in due[i + 1 :]:
                    store.outbox.defer(rest.id, error, retry, now)
                break
            continue
        store.outbox.mark_sent(item.id, now)
        sent += 1
        log.info("sent '%s' to %s", item.subject, ", ".join(item.recipients))
    return AlertCounts(sent=sent, pending=len(store.outbox.pending()), failed=failed)


def backoff(attempt: int, rng: random.Random, *, permanent: bool = False) -> timedelta:
    """Wait before try ``attempt + 1``: 1, 2, 4 ... minutes, at most an hour, jittered.

    The jitter keeps at least half the wait, so a retry is never hurried.
    """
    if permanent:
        wait = BACKOFF_CAP
    else:
        wait = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, min(attempt - 1, 16)))
    return wait * rng.uniform(0.5, 1.0)


def _error_text(err: Exception) -> str:
    if isinstance(err, SendError):
        return str(err)
    return f"unexpected {type(err).__name__}: {err}; the message stays queued and is retried"
