"""A whole sync cycle as the program runs it: the workbook cycle, then the mail.

    report = sync_once(parts, now=bootstrap.now)

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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from notifier.send import Sender
from rules.model import Table
from sync.alerts import deliver, send_pending
from sync.backends.base import Backend, WorkbookUnavailable
from sync.balance import client_keys_from_tables, ensure_tokens, links, publish
from sync.config import Config
from sync.cycle import CleanMemo, CycleReport, run_cycle
from sync.reporting import queue_report, record_cycle
from sync.store import Store

if TYPE_CHECKING:
    from sync.calendar.importer import CalendarImport

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """The real parts one workbook's cycles use, wired from its config."""

    config: Config
    backend: Backend
    store: Store
    sender: Sender
    #: The last clean cycle's result, reused while nothing changes (see run_cycle).
    memo: CleanMemo = field(default_factory=CleanMemo)
    #: The calendar import, when ``[calendar] feeds`` is set.
    calendar: CalendarImport | None = None

    def close(self) -> None:
        if self.calendar is not None:
            self.calendar.close()
        self.store.close()


def sync_once(
    parts: Parts,
    *,
    now: Callable[[], datetime],
    dry_run: bool = False,
    with_report: bool = False,
    proceed: Callable[[], bool] = lambda: True,
    by_hand: bool = False,
) -> CycleReport:
    """One cycle with its alerts; ``with_report`` also queues the periodic report when due."""
    config, store = parts.config, parts.store

    def at_once() -> bool:
        """Whether to try all pending mail now; a test email's request is used up here."""
        asked = store.outbox.take_retry()
        if asked and not by_hand:
            log.info("a test email went through: trying the pending emails now")
        return asked or by_hand

    started, clock = now(), time.perf_counter()
    try:
        report = run_cycle(
            config,
            parts.backend,
            now=now,
            dry_run=dry_run,
            proceed=proceed,
            links_for=balance_links(config, store, now, create=not dry_run),
            memo=parts.memo,
            calendar=(parts.calendar.read_only() if dry_run and parts.calendar else parts.calendar),
        )
    except WorkbookUnavailable as err:
        if not dry_run:
            store.cycles.record(started, time.perf_counter() - clock, "failed", reason=str(err))
            # A sheet outage does not hold the mail.
            send_pending(store, parts.sender, now(), at_once=at_once())
        raise
    if dry_run:
        return report
    if not proceed():
        # Stopping: the write was abandoned, so queue nothing on its account either.
        record_cycle(store, report, started)
        return report
    if with_report and not report.blocked:
        queue_report(report.result, store, config, now(), report.timezone)
    counts = deliver(
        report.result, store, parts.sender, config, now(), report.links, at_once=at_once()
    )
    report.alerts = counts.as_dict()
    if config.balance.enabled:
        publish(
            report.result,
            store,
            now(),
            timezone=report.timezone,
            renew_url=config.notify.renew_url,
        )
    record_cycle(store, report, started, counts)
    return report


def balance_links(
    config: Config, store: Store, now: Callable[[], datetime], *, create: bool
) -> Callable[[Mapping[str, Table]], Mapping[str, str]] | None:
    """How a cycle gets each client's balance link (None when the page is off).

    A real cycle gives new clients their token first; a dry run only shows the
    links that already exist.
    """
    if not config.balance.enabled:
        return None
    base = config.balance.base_url

    def for_tables(tables: Mapping[str, Table]) -> Mapping[str, str]:
        if create:
            return links(ensure_tokens(store, client_keys_from_tables(tables), now()), base)
        return links(store.balance.tokens(), base)

    return for_tables
