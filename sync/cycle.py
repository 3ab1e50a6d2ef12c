"""One sync cycle: read -> compute -> diff -> write, as plain steps.

    snapshot = backend.read()
    result = rules.engine.compute(snapshot.tables, today=..., settings=...)
    plan = sync.diff.plan(snapshot, result)
    backend.write(snapshot, plan)

The clock is a parameter (``now``), so tests never patch globals.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rules.dashboard import dashboard_rows
from rules.engine import decide, parse
from rules.model import Event, Result, RowProblem, Table
from rules.schema import PackageStatus, SessionStatus
from sync.backends.base import Backend, Snapshot, WriteOutcome, WritePlan
from sync.calendar.rows import with_bookings
from sync.config import Config
from sync.diff import plan as make_plan

if TYPE_CHECKING:
    from sync.calendar.importer import CalendarImport, FeedResult
    from sync.calendar.plan import CalendarPlan


@dataclass
class CycleReport:
    """What a cycle did, for the summary, ``--json`` and the state store."""

    workbook: str
    today: date
    dry_run: bool
    rows_read: Mapping[str, int]
    plan: WritePlan
    outcome: WriteOutcome
    result: Result
    duration: float
    phases: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of each phase (the wall seconds are in ``phases``).
    cpu: dict[str, float] = field(default_factory=dict)
    #: Why this workbook can never be written as it is (from the read).
    write_blockers: tuple[str, ...] = ()
    #: The time zone "today" was taken in (None: the machine's own).
    timezone: str | None = None
    #: Each client's balance link (by client key), when the balance page is on.
    links: Mapping[str, str] = field(default_factory=dict)
    #: Alert delivery figures (queued, sent, pending, failed), once delivered.
    alerts: dict[str, int] = field(default_factory=dict)
    #: What the calendar import did this cycle (None when it is off).
    calendar: CalendarPlan | None = None
    #: Each feed's read this cycle.
    feeds: tuple[FeedResult, ...] = ()

    @property
    def structural(self) -> tuple[RowProblem, ...]:
        return self.result.structural

    @property
    def blocked(self) -> bool:
        """A required tab is missing or broken: nothing was written."""
        return bool(self.result.blocked)

    @property
    def events(self) -> tuple[Event, ...]:
        return self.result.events

    def packages_by_status(self) -> dict[str, int]:
        counts = Counter(r.status.value for r in self.result.packages)
        counts[PackageStatus.INVALID.value] += _invalid_rows(self.result, "Packages")
        return {s.value: counts.get(s.value, 0) for s in PackageStatus}

    def sessions_by_status(self) -> dict[str, int]:
        counts = Counter(r.status.value for r in self.result.sessions)
        return {s.value: counts.get(s.value, 0) for s in SessionStatus}

    def rows_with_problems(self) -> int:
        return len({(p.tab, p.row) for p in self.result.problems if p.row})


def _invalid_rows(result: Result, tab: str) -> int:
    return len({p.row for p in result.problems if p.row and _tab_matches(p, tab)})


def _tab_matches(problem: RowProblem, tab: str) -> bool:
    return problem.tab.strip().casefold() == tab.casefold()


@dataclass
class CleanMemo:
    """The last result that left nothing to write, and what it was worked out from."""

    key: tuple[object, ...] | None = None
    result: Result | None = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the rules work a workbook out.

    Parsing and deciding allocate a few objects per cell and free nothing until the
    cycle ends, so every automatic collection walks the whole heap (the workbook as
    read included) and finds nothing to free: about a third of the rules' CPU at 100k
    sessions. The collector is back on (if it was) as soon as they are done.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def today_in(now: datetime, zone: str | None) -> date:
    """Today's date where the practice is: the configured zone, else the clock's own."""
    return now.astimezone(ZoneInfo(zone)).date() if zone else now.astimezone().date()


def run_cycle(
    config: Config,
    backend: Backend,
    *,
    now: Callable[[], datetime],
    dry_run: bool = False,
    links_for: Callable[[Mapping[str, Table]], Mapping[str, str]] | None = None,
    proceed: Callable[[], bool] = lambda: True,
    memo: CleanMemo | None = None,
    calendar: CalendarImport | None = None,
) -> CycleReport:
    """One cycle.

    ``links_for`` turns the tabs as read into each client's balance link (by
    client key), for the Clients tab. ``proceed`` is asked right before the
    write: False abandons it (a daemon told to stop), leaving the workbook as
    it was. ``memo`` (kept by a running daemon) lets a cycle whose workbook,
    date and settings are those of the last clean cycle reuse its result.
    ``calendar`` (when ``[calendar] feeds`` is set) reads the booking feeds: new
    bookings are added to the Sessions tab before the rules run, so they are
    decided in this cycle, and the write appends them.
    """
    started = time.perf_counter()
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}
    cpu_mark = [time.process_time()]

    def lap(name: str, since: float) -> float:
        at, cpu_at = time.perf_counter(), time.process_time()
        phases[name], cpu[name] = at - since, cpu_at - cpu_mark[0]
        cpu_mark[0] = cpu_at
        return at

    if calendar is not None:
        calendar.fetch()
    snapshot: Snapshot = backend.read()
    zone = config.sync.timezone or snapshot.timezone
    made: CalendarPlan | None = None
    sessions_title = ""
    work = snapshot  # the workbook as the rules see it: with the new bookings
    if calendar is not None:
        prepared = calendar.prepare(
            snapshot.tables, now=now(), zone=zone, numbers_are_dates=snapshot.numbers_are_dates
        )
        if prepared is not None:
            sessions_title, made = prepared
            if made:
                tables = dict(snapshot.tables)
                tables[sessions_title] = made.tables(snapshot.tables[sessions_title])
                work = replace(snapshot, tables=tables, digest=None)
    t = lap("read", started)
    today = today_in(now(), zone)
    settings = config.settings(numbers_are_dates=snapshot.numbers_are_dates)
    links = links_for(snapshot.tables) if links_for else None
    # Results are a pure function of the workbook, today and the settings: a cycle
    # that sees exactly what the last clean one saw has nothing to work out or write.
    key = None
    if work.digest is not None:
        key = (
            work.digest,
            today,
            settings,
            tuple(sorted((links or {}).items())),
            config.notify.clients,
            config.rules.currency,
        )
    if memo is not None and key is not None and memo.key == key and memo.result is not None:
        result, plan = memo.result, WritePlan()
        t = lap("parse", t)
        t = lap("compute", t)
        t = lap("diff", t)
    else:
        with collector_paused():
            parsed = parse(work.tables, today=today, settings=settings)
            t = lap("parse", t)
            result = decide(
                parsed, today=today, balance_links=links, client_notices=config.notify.clients
            )
            t = lap("compute", t)
            dashboard = dashboard_rows(
                result.dashboard,
                currency=config.rules.currency,
                warning_days=config.rules.expiry_warning_days,
            )
            plan = WritePlan() if result.blocked else make_plan(work, result, dashboard=dashboard)
            if made and not result.blocked:
                plan = with_bookings(plan, snapshot, made, sessions_title)
            t = lap("diff", t)
        if memo is not None and key is not None and not plan:
            memo.key, memo.result = key, result
    if made is not None and made.events:
        result = replace(result, events=result.events + made.events)
    if dry_run or not plan:
        outcome = WriteOutcome(written=False)
    elif not proceed():
        outcome = WriteOutcome(written=False, reason="stopping: the write was abandoned")
    else:
        outcome = backend.write(snapshot, plan)
    if calendar is not None and made is not None and not dry_run:
        calendar.landed(made, outcome, now())
    lap("write", t)
    return CycleReport(
        workbook=backend.where,
        today=today,
        dry_run=dry_run,
        rows_read=result.rows_read,
        plan=plan,
        outcome=outcome,
        result=result,
        duration=time.perf_counter() - started,
        phases=phases,
        cpu=cpu,
        write_blockers=snapshot.write_blockers,
        timezone=zone,
        links=links or {},
        calendar=made,
        feeds=tuple(calendar.last_reads) if calendar is not None else (),
    )
