"""One workbook cycle as three plain steps, plain values in and out:

    gathered = gather(config, backend, now=now, calendar=calendar)    # read
    decided = decide_cycle(config, gathered, links=links, memo=memo)  # pure
    outcome = carry_out(backend, gathered, decided, now=now, ...)     # write
    cycle = finished_cycle(backend, gathered, decided, outcome, ...)  # what it did

``now`` is one moment, read once per cycle by whoever runs it, so tests never
patch globals and everything a cycle records carries the same time. Between
the steps the caller does what needs the outside world: ``sync.service``
issues balance tokens after ``gather`` and asks whether to stop before
``carry_out``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
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
from sync.collector import collector_paused
from sync.config import Config
from sync.diff import plan as make_plan

if TYPE_CHECKING:
    from sync.calendar.importer import CalendarImport, FeedResult
    from sync.calendar.plan import CalendarPlan


@dataclass
class Cycle:
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
    #: A daemon told to stop: the write was abandoned, and nothing is queued for it.
    stopped: bool = False
    #: What the next cycle may reuse (see :class:`CleanMemo`): this cycle's clean
    #: result, else the memo it was given. The caller keeps it; nothing is changed in place.
    memo: CleanMemo | None = None

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


@dataclass(frozen=True)
class CleanMemo:
    """The last result that left nothing to write, and what it was worked out from.

    A plain value: a cycle given one never changes it, and returns the one the
    next cycle should be given (``Cycle.memo``).
    """

    key: tuple[object, ...] | None = None
    result: Result | None = None


def today_in(now: datetime, zone: str | None) -> date:
    """Today's date where the practice is: the configured zone, else the clock's own."""
    return now.astimezone(ZoneInfo(zone)).date() if zone else now.astimezone().date()


@dataclass
class _Laps:
    """Wall and CPU seconds of each phase of one cycle."""

    started: float = field(default_factory=time.perf_counter)
    phases: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    mark: float = field(default_factory=time.perf_counter)
    cpu_mark: float = field(default_factory=time.process_time)

    def lap(self, name: str) -> None:
        at, cpu_at = time.perf_counter(), time.process_time()
        self.phases[name], self.cpu[name] = at - self.mark, cpu_at - self.cpu_mark
        self.mark, self.cpu_mark = at, cpu_at


@dataclass(frozen=True)
class Gathered:
    """What a cycle read: the workbook, and the workbook as the rules see it (with
    the calendar's new bookings added to its Sessions tab)."""

    snapshot: Snapshot
    work: Snapshot
    today: date
    #: The time zone "today" was taken in (None: the machine's own).
    zone: str | None
    #: The calendar import's plan (None when it is off or read nothing).
    bookings: CalendarPlan | None
    sessions_title: str
    laps: _Laps

    @property
    def tables(self) -> Mapping[str, Table]:
        return self.snapshot.tables


@dataclass(frozen=True)
class Decided:
    """What a cycle worked out: the result, and the write that brings the sheet to it."""

    result: Result
    plan: WritePlan
    #: What the result was worked out from, when it leaves nothing to write.
    clean: CleanMemo | None


def gather(
    config: Config, backend: Backend, *, now: datetime, calendar: CalendarImport | None = None
) -> Gathered:
    """Read the booking feeds (when ``calendar`` is set) and the workbook."""
    laps = _Laps()
    if calendar is not None:
        calendar.fetch()
    snapshot: Snapshot = backend.read()
    zone = config.sync.timezone or snapshot.timezone
    made: CalendarPlan | None = None
    sessions_title = ""
    work = snapshot
    if calendar is not None:
        prepared = calendar.prepare(
            snapshot.tables, now=now, zone=zone, numbers_are_dates=snapshot.numbers_are_dates
        )
        if prepared is not None:
            sessions_title, made = prepared
            if made:
                tables = dict(snapshot.tables)
                tables[sessions_title] = made.tables(snapshot.tables[sessions_title])
                work = replace(snapshot, tables=tables, digest=None)
    laps.lap("read")
    return Gathered(
        snapshot=snapshot,
        work=work,
        today=today_in(now, zone),
        zone=zone,
        bookings=made,
        sessions_title=sessions_title,
        laps=laps,
    )


def decide_cycle(
    config: Config,
    gathered: Gathered,
    *,
    links: Mapping[str, str] | None = None,
    memo: CleanMemo | None = None,
) -> Decided:
    """Work out the result and the write plan; nothing is read or written here.

    ``links``: each client's balance link (by client key), for the Clients tab.
    ``memo``: the last clean cycle's; when this cycle sees exactly what it saw, its
    result is reused and there is nothing to write.
    """
    work, today, laps = gathered.work, gathered.today, gathered.laps
    settings = config.settings(numbers_are_dates=gathered.snapshot.numbers_are_dates)
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
    made = gathered.bookings
    if memo is not None and key is not None and memo.key == key and memo.result is not None:
        result, plan = memo.result, WritePlan()
        for name in ("parse", "compute", "diff"):
            laps.lap(name)
    else:
        with collector_paused():
            parsed = parse(work.tables, today=today, settings=settings)
            laps.lap("parse")
            result = decide(
                parsed, today=today, balance_links=links, client_notices=config.notify.clients
            )
            laps.lap("compute")
            dashboard = dashboard_rows(
                result.dashboard,
                currency=config.rules.currency,
                warning_days=config.rules.expiry_warning_days,
            )
            plan = WritePlan() if result.blocked else make_plan(work, result, dashboard=dashboard)
            if made and not result.blocked:
                plan = with_bookings(plan, gathered.snapshot, made, gathered.sessions_title)
            laps.lap("diff")
    clean = CleanMemo(key, result) if key is not None and not plan else None
    if made is not None and made.events:
        result = replace(result, events=result.events + made.events)
    return Decided(result=result, plan=plan, clean=clean)


def carry_out(
    backend: Backend,
    gathered: Gathered,
    decided: Decided,
    *,
    now: datetime,
    dry_run: bool = False,
    stopping: bool = False,
    calendar: CalendarImport | None = None,
) -> WriteOutcome:
    """Write the plan (unless ``dry_run``, or ``stopping``: a daemon told to stop
    abandons the write, leaving the workbook as it was)."""
    snapshot, plan, made = gathered.snapshot, decided.plan, gathered.bookings
    if dry_run or not plan:
        outcome = WriteOutcome(written=False)
    elif stopping:
        outcome = WriteOutcome(written=False, reason=ABANDONED)
    else:
        outcome = backend.write(snapshot, plan)
    if calendar is not None and made is not None and not dry_run:
        calendar.landed(made, outcome, now)
    gathered.laps.lap("write")
    return outcome


def finished_cycle(
    backend: Backend,
    gathered: Gathered,
    decided: Decided,
    outcome: WriteOutcome,
    *,
    dry_run: bool = False,
    calendar: CalendarImport | None = None,
    links: Mapping[str, str] | None = None,
    alerts: Mapping[str, int] | None = None,
    stopped: bool = False,
    memo: CleanMemo | None = None,
) -> Cycle:
    """What the cycle did, built once it is done (its alerts delivered, if any).

    ``memo``: the one this cycle was given; the cycle carries its own clean
    result instead when it has one.
    """
    laps = gathered.laps
    return Cycle(
        workbook=backend.location,
        today=gathered.today,
        dry_run=dry_run,
        rows_read=decided.result.rows_read,
        plan=decided.plan,
        outcome=outcome,
        result=decided.result,
        duration=laps.mark - laps.started,
        phases=laps.phases,
        cpu=laps.cpu,
        write_blockers=gathered.snapshot.write_blockers,
        timezone=gathered.zone,
        links=links or {},
        alerts=dict(alerts or {}),
        calendar=gathered.bookings,
        feeds=tuple(calendar.last_reads) if calendar is not None else (),
        stopped=stopped,
        memo=decided.clean if decided.clean is not None else memo,
    )


#: Why a daemon told to stop wrote nothing.
ABANDONED = "stopping: the write was abandoned"


def run_cycle(
    config: Config,
    backend: Backend,
    *,
    now: datetime,
    dry_run: bool = False,
    links: Mapping[str, str] | None = None,
    memo: CleanMemo | None = None,
    calendar: CalendarImport | None = None,
) -> Cycle:
    """One workbook cycle, its three steps in a row: gather, decide, carry out.

    For a caller with no balance links to issue and no stop to heed (the
    ``check``, ``report`` and ``export`` commands, tests, the benchmarks).
    ``memo``: the last cycle's ``Cycle.memo``; this one's is on the cycle it returns.
    ``calendar`` (when ``[calendar] feeds`` is set) reads the booking feeds: new
    bookings are added to the Sessions tab before the rules run, so they are
    decided in this cycle, and the write appends them.
    """
    gathered = gather(config, backend, now=now, calendar=calendar)
    decided = decide_cycle(config, gathered, links=links, memo=memo)
    outcome = carry_out(backend, gathered, decided, now=now, dry_run=dry_run, calendar=calendar)
    return finished_cycle(
        backend,
        gathered,
        decided,
        outcome,
        dry_run=dry_run,
        calendar=calendar,
        links=links,
        memo=memo,
    )
