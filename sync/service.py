"""A whole sync cycle as the program runs it: the workbook cycle, then the mail.

    cycle = sync_once(resources, now=bootstrap.now, memo=last_cycle.memo)

``sync`` and the daemon both call this, so a cycle run by hand and one run by
the daemon do exactly the same things: write the workbook, queue and send the
alerts, and remember the cycle for ``status``. A dry run does none of the
last three (recording alerts would mark them seen). One difference: a cycle
run ``by_hand`` tries every pending email at once, while the daemon's wait out
their backoff (unless ``creditsheet test-email`` has since got through).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from notifier.send import Sender
from rules.model import Table
from sync.alerts import deliver, send_pending
from sync.backends.base import Backend, WorkbookUnavailable
from sync.balance import client_keys_from_tables, ensure_tokens, links, publish
from sync.calendar.importer import CalendarImport
from sync.config import Config
from sync.cycle import (
    CleanMemo,
    Cycle,
    carry_out,
    decide_cycle,
    finished_cycle,
    gather,
    run_cycle,
)
from sync.reporting import queue_report, record_cycle
from sync.store import Store

log = logging.getLogger(__name__)


@dataclass
class Resources:
    """The real resources one workbook's cycles use, wired from its config."""

    config: Config
    backend: Backend
    store: Store
    sender: Sender
    #: The calendar import, when ``[calendar] feeds`` is set.
    calendar: CalendarImport | None = None

    def close(self) -> None:
        if self.calendar is not None:
            self.calendar.close()
        self.store.close()

    def __enter__(self) -> Resources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sync_once(
    resources: Resources,
    *,
    now: Callable[[], datetime],
    dry_run: bool = False,
    with_report: bool = False,
    proceed: Callable[[], bool] = lambda: True,
    by_hand: bool = False,
    memo: CleanMemo | None = None,
) -> Cycle:
    """One cycle with its alerts; ``with_report`` also queues the periodic report when due.

    ``memo``: the last cycle's ``cycle.memo`` (a daemon keeps it between cycles);
    this cycle's is on the cycle returned.

    The clock is read once: everything this cycle records carries that moment.
    ``proceed`` is asked once, right before the write: False (a daemon told to
    stop) abandons the write and queues nothing on its account.
    """
    config, store = resources.config, resources.store
    at, clock = now(), time.perf_counter()
    calendar = resources.calendar
    if dry_run and calendar is not None:
        calendar = calendar.read_only()
    try:
        gathered = gather(config, resources.backend, now=at, calendar=calendar)
        links = balance_links(config, store, gathered.tables, at, create=not dry_run)
        decided = decide_cycle(config, gathered, links=links, memo=memo)
        stopping = not dry_run and not proceed()
        outcome = carry_out(
            resources.backend,
            gathered,
            decided,
            now=at,
            dry_run=dry_run,
            stopping=stopping,
            calendar=calendar,
        )
    except WorkbookUnavailable as err:
        if not dry_run:
            store.cycles.record(at, time.perf_counter() - clock, "failed", reason=str(err))
            # A sheet outage does not hold the mail.
            send_pending(store, resources.sender, at, at_once=_at_once(store, by_hand))
        raise
    counts = None
    if not dry_run and not stopping:  # a stopped cycle queues nothing on its account
        if with_report and not decided.result.blocked:
            queue_report(decided.result, store, config, at, gathered.zone)
        counts = deliver(
            decided.result,
            store,
            resources.sender,
            config,
            at,
            links,
            at_once=_at_once(store, by_hand),
        )
        if config.balance.enabled:
            renew = config.notify.renew_url
            publish(decided.result, store, at, timezone=gathered.zone, renew_url=renew)
    cycle = finished_cycle(
        resources.backend,
        gathered,
        decided,
        outcome,
        dry_run=dry_run,
        calendar=calendar,
        links=links,
        alerts=counts.as_dict() if counts is not None else None,
        stopped=stopping,
        memo=memo,
    )
    if not dry_run:
        record_cycle(store, cycle, at, counts)
    return cycle


def dry_run(config: Config, backend: Backend, *, now: datetime) -> Cycle:
    """``sync --dry-run``: a cycle that writes nothing, creates no state store, and
    sends nothing; the balance links shown are those that already exist."""
    uses_store = config.balance.enabled or config.calendar.enabled
    if not (uses_store and config.state_path.exists()):
        calendar = CalendarImport.for_config(config, None, record=False)
        return run_cycle(config, backend, now=now, dry_run=True, calendar=calendar)
    with Store(config.state_path) as store:
        calendar = CalendarImport.for_config(config, store.calendar, record=False)
        gathered = gather(config, backend, now=now, calendar=calendar)
        links = balance_links(config, store, gathered.tables, now, create=False)
        decided = decide_cycle(config, gathered, links=links)
        outcome = carry_out(backend, gathered, decided, now=now, dry_run=True, calendar=calendar)
        return finished_cycle(
            backend, gathered, decided, outcome, dry_run=True, calendar=calendar, links=links
        )


def _at_once(store: Store, by_hand: bool) -> bool:
    """Whether to try all pending mail now; a test email's request is used up here."""
    asked = store.outbox.take_retry()
    if asked and not by_hand:
        log.info("a test email went through: trying the pending emails now")
    return asked or by_hand


def balance_links(
    config: Config, store: Store, tables: Mapping[str, Table], now: datetime, *, create: bool
) -> Mapping[str, str] | None:
    """Each client's balance link, by client key (None when the page is off).

    A real cycle gives new clients their token first; a dry run only shows the
    links that already exist.
    """
    if not config.balance.enabled:
        return None
    base = config.balance.base_url
    if create:
        return links(ensure_tokens(store, client_keys_from_tables(tables), now), base)
    return links(store.balance.tokens(), base)
