"""``creditsheet run``: a cycle every ``[sync] interval_seconds``, the report on its schedule.

Both run from our own ``schedule.Scheduler()`` in one thread, so a cycle never
starts while another is running. A cycle that fails logs one line and the loop
goes on, backing off while the workbook stays unreachable. SIGTERM and Ctrl-C
let the cycle in progress finish (or abandon its write) and exit 0; a second
signal exits at once. SIGHUP re-reads the config; a bad new config keeps the
old one and says why. One daemon per workbook: a second one is refused.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType

import schedule

from rules.words import plural
from sync import bootstrap
from sync.backends.base import WorkbookUnavailable
from sync.config import Config, ConfigError, load
from sync.cycle import CleanMemo, Cycle
from sync.lock import InstanceLock
from sync.service import Resources, sync_once
from sync.views import cycle_json, log_line

log = logging.getLogger("creditsheet.daemon")

#: The longest wait between tries while the workbook is unreachable.
MAX_BACKOFF = 900.0
#: How often the loop looks at its flags while idle (seconds).
TICK = 0.2


class Daemon:
    def __init__(
        self,
        config_path: Path,
        *,
        now: Callable[[], datetime] = bootstrap.now,
        make_resources: Callable[[Config], Resources] = bootstrap.resources,
    ) -> None:
        self.config_path = config_path
        self.config = load(config_path)
        self.now = now
        self.make_resources = make_resources
        self.stopping = False
        self.reload_wanted = False
        self.failures = 0
        self.resume_at = 0.0
        self.cycles = 0
        #: What the next cycle may reuse: the last cycle's ``Cycle.memo``.
        self.memo: CleanMemo | None = None

    # --- signals -----------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            log.warning("second %s: stopping at once", signal.Signals(signum).name)
            os._exit(1)
        log.info("%s: finishing the cycle in progress, then stopping", signal.Signals(signum).name)
        self.stopping = True

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload_wanted = True

    # --- the loop ----------------------------------------------------------

    def run(self) -> int:
        lock = InstanceLock(bootstrap.workbook_id(self.config))
        lock.acquire()  # AlreadyRunning names the holder's pid
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        resources = self.make_resources(self.config)
        log.info(
            "running: %s every %d s, report %s; pid %d",
            resources.backend.location,
            self.config.sync.interval_seconds,
            _report_words(self.config),
            os.getpid(),
        )
        try:
            self._cycle(resources)  # the first cycle right away
            scheduler = self._schedule(resources)
            while not self.stopping:
                if self.reload_wanted:
                    resources, scheduler = self._reload(resources, scheduler)
                scheduler.run_pending()
                idle = scheduler.idle_seconds
                time.sleep(TICK if idle is None else min(max(idle, 0.0), TICK))
        finally:
            resources.close()
            lock.release()
        log.info("stopped after %s", plural(self.cycles, "cycle"))
        return 0

    def _schedule(self, resources: Resources) -> schedule.Scheduler:
        """Cycles every interval; one more at report time (the store decides if it is due)."""
        scheduler = schedule.Scheduler()
        config = self.config
        scheduler.every(config.sync.interval_seconds).seconds.do(self._cycle, resources)
        if config.report.every != "off":
            job = (
                scheduler.every().day if config.report.every == "day" else scheduler.every().monday
            )
            job.at(config.report.at, config.sync.timezone).do(self._cycle, resources)
        return scheduler

    def _cycle(self, resources: Resources) -> Cycle | None:
        """One cycle, logged in one line; failures back off instead of stopping."""
        if self.stopping or time.monotonic() < self.resume_at:
            return None
        self.cycles += 1
        try:
            cycle = sync_once(
                resources,
                now=self.now,
                with_report=True,
                proceed=lambda: not self.stopping,
                memo=self.memo,
            )
        except WorkbookUnavailable as err:
            self._back_off(str(err))
            return None
        except Exception as err:  # a bug must not kill a daemon left running for months
            log.exception("cycle failed unexpectedly: %s", err)
            self._back_off(f"{type(err).__name__}: {err}", quiet=True)
            return None
        if self.failures:
            log.info(
                "the workbook is reachable again after %s",
                plural(self.failures, "failed try", "failed tries"),
            )
        self.failures, self.resume_at, self.memo = 0, 0.0, cycle.memo
        log.info(log_line(cycle), extra={"cycle": cycle_json(cycle)})
        return cycle

    def _back_off(self, reason: str, *, quiet: bool = False) -> None:
        self.failures += 1
        wait = min(self.config.sync.interval_seconds * 2 ** (self.failures - 1), MAX_BACKOFF)
        self.resume_at = time.monotonic() + wait
        if not quiet:
            log.error("cycle failed: %s; next try in %.0f s", reason, wait)

    def _reload(
        self, resources: Resources, scheduler: schedule.Scheduler
    ) -> tuple[Resources, schedule.Scheduler]:
        self.reload_wanted = False
        try:
            config = load(self.config_path)
            if bootstrap.workbook_id(config) != bootstrap.workbook_id(self.config):
                raise ConfigError(
                    f"{self.config_path}: [workbook]: a running daemon cannot switch workbooks; "
                    "restart it instead"
                )
            new_resources = self.make_resources(config)
        except (ConfigError, WorkbookUnavailable) as err:
            log.error("SIGHUP: kept the old config: %s", err)
            return resources, scheduler
        resources.close()
        self.config, self.memo = config, None
        log.info("SIGHUP: config re-read from %s", self.config_path)
        return new_resources, self._schedule(new_resources)


def _report_words(config: Config) -> str:
    if config.report.every == "off":
        return "off"
    when = "daily" if config.report.every == "day" else "on Mondays"
    return f"{when} at {config.report.at}"
