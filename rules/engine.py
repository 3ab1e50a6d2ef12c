"""One pure function from the workbook's rows and today to everything a cycle decides.

>>> from datetime import date
>>> from rules.model import Table
>>> result = compute(
...     {
...         "Clients": Table("Clients", ["Client"], [["Ann"]]),
...         "Packages": Table("Packages", ["Client", "Sessions"], [["Ann", 5]]),
...         "Sessions": Table("Sessions", ["Date", "Client"], [["2026-11-22", "Ann"]]),
...     },
...     today=date(2026, 11, 22),
... )
>>> result.sessions[0].note
'P-0001: 4 of 5 left'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rules.dashboard import dashboard
from rules.deduct import Ledger, SessionBook, deduct, drawable_by_client, parse_sessions
from rules.events import events
from rules.model import (
    ColumnOut,
    InputFill,
    Package,
    PackageResult,
    Result,
    RowProblem,
    SessionResult,
    Settings,
    Table,
    TabOut,
    Value,
)
from rules.parse import (
    ClientBook,
    PackageBook,
    ParsedTab,
    TemplateBook,
    TypeBook,
    highest_id,
    id_key,
    parse_clients,
    parse_packages,
    parse_session_types,
    parse_templates,
)
from rules.schema import (
    CLIENTS,
    GREEN,
    PACKAGE_COLORS,
    PACKAGES,
    RED,
    SESSION_COLORS,
    SESSION_TYPES,
    SESSIONS,
    SYNC_NOTE,
    TEMPLATES,
    UNLIMITED,
    Billing,
    PackageStatus,
    SessionStatus,
)
from rules.status import credits_color, package_progress, package_status
from rules.tabs import TabView, view
from rules.values import key

CORE_TABS = frozenset({CLIENTS.name, PACKAGES.name, SESSIONS.name})
#: The longest Sync note written, far past any real reason: a note quoting huge typed
#: values must still fit a cell (xlsx 32,767 characters, Google 50,000) and read back
#: as written, or every cycle would rewrite it (xlsx) or fail the write (Google).
MAX_NOTE = 2_000


@dataclass(frozen=True)
class ParsedWorkbook:
    """The workbook's rows read and validated against the contract (step 1 of 2)."""

    settings: Settings
    structural: tuple[RowProblem, ...]
    #: The Templates and Session types tabs' own structural problems, if any.
    templates_problem: tuple[RowProblem, ...] = ()
    views: tuple[TabView, TabView, TabView] | None = None
    clients: ClientBook | None = None
    templates: TemplateBook | None = None
    packages: PackageBook | None = None
    sessions: SessionBook | None = None
    templates_view: TabView | None = None
    types: TypeBook | None = None
    types_view: TabView | None = None


def compute(
    tables: Mapping[str, Table],
    *,
    today: date,
    settings: Settings | None = None,
    balance_links: Mapping[str, str] | None = None,
    client_notices: bool = False,
) -> Result:
    """Everything one cycle decides, from the tabs as read and today's date.

    ``tables`` is keyed by tab title as it is in the workbook. ``balance_links``
    maps a client key (see :func:`rules.values.key`) to its balance page link.
    """
    return decide(
        parse(tables, today=today, settings=settings),
        today=today,
        balance_links=balance_links,
        client_notices=client_notices,
    )


def parse(
    tables: Mapping[str, Table], *, today: date, settings: Settings | None = None
) -> ParsedWorkbook:
    """Find the tabs and columns, and read and validate every row."""
    settings = settings or Settings()
    skip = frozenset() if settings.balance_links else frozenset({"Balance link"})
    clients_v, p1 = view(CLIENTS, tables, skip=skip)
    packages_v, p2 = view(PACKAGES, tables)
    sessions_v, p3 = view(SESSIONS, tables)
    templates_v, p4 = view(TEMPLATES, tables)
    types_v, p5 = view(SESSION_TYPES, tables)
    structural = tuple(p1 + p2 + p3 + p4 + p5)
    if clients_v is None or packages_v is None or sessions_v is None:
        return ParsedWorkbook(settings, structural)

    templates_problem = "; ".join(p.message for p in p4) or None
    clients = parse_clients(clients_v)
    types = parse_session_types(types_v, "; ".join(p.message for p in p5) or None)
    templates = parse_templates(templates_v, types)
    next_id = 1 + highest_id(packages_v.typed("Package ID") + sessions_v.typed("Package ID"))
    packages = parse_packages(
        packages_v,
        clients,
        templates,
        today=today,
        settings=settings,
        next_id=next_id,
        templates_problem=templates_problem,
        types=types,
    )
    sessions = parse_sessions(sessions_v, clients, packages, settings, types)
    return ParsedWorkbook(
        settings,
        structural,
        tuple(p4 + p5),
        (clients_v, packages_v, sessions_v),
        clients,
        templates,
        packages,
        sessions,
        templates_v,
        types,
        types_v,
    )


def decide(
    parsed: ParsedWorkbook,
    *,
    today: date,
    balance_links: Mapping[str, str] | None = None,
    client_notices: bool = False,
) -> Result:
    """Deduct, work out statuses and totals, and say what the sheet should show (step 2)."""
    settings, structural = parsed.settings, parsed.structural
    if parsed.views is None:
        return _blocked(structural, today, settings)
    assert parsed.clients and parsed.templates is not None and parsed.packages is not None
    assert parsed.sessions is not None
    clients_v, packages_v, sessions_v = parsed.views
    clients, templates, packages = parsed.clients, parsed.templates, parsed.packages
    session_book, templates_v, p4 = parsed.sessions, parsed.templates_view, parsed.templates_problem
    # A pick is written only where it stays put: with no Package ID column on Packages
    # the IDs are worked out afresh each cycle, and a written one would count as taken.
    can_fill = sessions_v.has("Package ID") and packages_v.has("Package ID")
    ledger = deduct(session_book, packages, settings, can_fill=can_fill)

    package_results = tuple(_package_result(p, ledger, today, settings) for p in packages.valid)
    credits, unlimited = _client_credits(clients, packages, package_results)
    session_results = tuple(
        ledger.results[row]
        if row in ledger.results
        else SessionResult(row, SessionStatus.INVALID, _note(session_book, row) or "", None)
        for row in session_book.rows
    )
    types = parsed.types or TypeBook()
    problems = tuple(
        p
        for book in (clients, templates, types, packages, session_book)
        for row in book.rows
        for p in book.problems.get(row, ())
    ) + tuple(p4)

    tabs = (
        _clients_out(clients_v, clients, credits, unlimited, settings, balance_links or {}),
        _packages_out(packages_v, packages, package_results),
        _sessions_out(sessions_v, session_book, ledger),
    )
    credits_by_name = {clients.by_key[k].name: n for k, n in credits.items()}
    unlimited_names = frozenset(clients.by_key[k].name for k in unlimited)
    return Result(
        tabs=tabs,
        structural=structural,
        problems=problems,
        packages=package_results,
        sessions=session_results,
        client_credits=credits_by_name,
        events=tuple(
            events(
                package_results,
                session_results,
                problems,
                today=today,
                settings=settings,
                client_notices=client_notices,
            )
        ),
        dashboard=dashboard(
            package_results,
            session_results,
            {n: c for n, c in credits_by_name.items() if n not in unlimited_names},
            today=today,
            settings=settings,
        ),
        unlimited_clients=unlimited_names,
        credit_packages=_credit_packages(types, packages, ledger),
        rows_read={
            clients_v.title: len(clients.rows),
            packages_v.title: len(packages.rows),
            sessions_v.title: len(session_book.rows),
            **({templates_v.title: len(templates.rows)} if templates_v else {}),
            **({parsed.types_view.title: len(types.rows)} if parsed.types_view else {}),
        },
    )


def _blocked(structural: tuple[RowProblem, ...], today: date, settings: Settings) -> Result:
    return Result(
        tabs=(),
        structural=structural,
        problems=(),
        packages=(),
        sessions=(),
        client_credits={},
        events=tuple(
            events((), (), structural, today=today, settings=settings, client_notices=False)
        ),
        dashboard=dashboard((), (), {}, today=today, settings=settings),
        rows_read={},
        blocked=CORE_TABS,
    )


def _package_result(
    package: Package, ledger: Ledger, today: date, settings: Settings
) -> PackageResult:
    used = ledger.used[package.id_key]
    remaining = max(0, package.total - used)
    return PackageResult(
        package,
        used,
        remaining,
        package_status(package, remaining, today, settings.low_credit_threshold),
        tuple(ledger.dates[package.id_key]),
    )


def _client_credits(
    clients: ClientBook, packages: PackageBook, results: Sequence[PackageResult]
) -> tuple[dict[str, int], frozenset[str]]:
    """Client key -> credits left over the live packages they may draw on; and the keys
    of the package clients who may draw on a live unlimited pass."""
    live = [r for r in results if r.status is not PackageStatus.EXPIRED]
    remaining = {r.package.id_key: r.remaining for r in live}
    passes = {r.package.id_key for r in live if r.package.unlimited}
    drawable = drawable_by_client(packages)
    package_clients = [c for c in clients.by_key.values() if c.billing is Billing.PACKAGE]
    credits = {
        c.key: sum(remaining.get(p.id_key, 0) for p in drawable.get(c.key, []))
        for c in package_clients
    }
    unlimited = frozenset(
        c.key
        for c in package_clients
        if passes and any(p.id_key in passes for p in drawable.get(c.key, []))
    )
    return credits, unlimited


def _credit_packages(types: TypeBook, packages: PackageBook, ledger: Ledger) -> frozenset[str]:
    """The packages whose balance reads in credits: they pay for a type costing more than one
    (named in their ``For``, or one of their sessions was of such a type)."""
    costly = {k for k, (_, credits) in types.by_key.items() if credits > 1}
    if not costly:
        return frozenset()
    listed = {p.id_key for p in packages.valid if p.for_keys is not None and p.for_keys & costly}
    used = {
        id_key(r.package_id)
        for r in ledger.results.values()
        if r.status is SessionStatus.DEDUCTED
        and r.package_id is not None
        and r.session is not None
        and r.session.credits > 1
    }
    return frozenset(listed | used)


def _note(book: ParsedTab, row: int) -> str | None:
    parts = [p.message for p in book.problems.get(row, [])] + book.warnings.get(row, [])
    return "; ".join(parts) or None


def _clip(value: Value) -> Value:
    """A Sync note cut to MAX_NOTE characters."""
    if isinstance(value, str) and len(value) > MAX_NOTE:
        return value[: MAX_NOTE - 1] + "…"
    return value


class _Columns:
    """Builds the computed columns of one tab, row by row."""

    def __init__(self, v: TabView) -> None:
        self.v = v
        self.n = len(v.rows())
        self.values: dict[str, list[Value]] = {}
        self.colors: dict[str, list[str | None]] = {}

    def set(self, row: int, column: str, value: Value, color: str | None = None) -> None:
        if column not in self.v.index:
            return
        if column == SYNC_NOTE:
            value = _clip(value)
        if column not in self.values:
            self.values[column] = [None] * self.n
        self.values[column][row - 2] = value
        if color is not None:
            if column not in self.colors:
                self.colors[column] = [None] * self.n
            self.colors[column][row - 2] = color

    def put(self, column: str, values: list[Value], colors: list[str | None] | None = None) -> None:
        """A whole column at once, as ``set`` would leave it after a call for every row."""
        if column not in self.v.index:
            return
        self.values[column] = values
        if colors is not None:
            self.colors[column] = colors

    def out(self, colored: Sequence[str], fills: Sequence[InputFill] = ()) -> TabOut:
        columns = []
        for spec in self.v.spec.computed:
            if spec.name not in self.v.index:
                continue
            values = self.values.get(spec.name) or [None] * self.n
            color: Sequence[str | None] | None = None
            if spec.name in colored:
                color = self.colors.get(spec.name) or [None] * self.n
            columns.append(ColumnOut(spec.name, spec.kind, values, color))
        return TabOut(
            self.v.title, tuple(columns), tuple(fills), dict(self.v.index), dict(self.v.added)
        )


def _clients_out(
    v: TabView,
    clients: ClientBook,
    credits: Mapping[str, int],
    unlimited: frozenset[str],
    settings: Settings,
    links: Mapping[str, str],
) -> TabOut:
    cols = _Columns(v)
    by_row = {c.row: c for c in clients.by_key.values()}
    for row in clients.rows:
        cols.set(row, SYNC_NOTE, _note(clients, row))
        client = by_row.get(row)
        if client is None:
            cols.set(row, "Credits left", None, RED)
            continue
        if client.key in unlimited:
            cols.set(row, "Credits left", UNLIMITED, GREEN)
        elif client.key in credits:
            n = credits[client.key]
            cols.set(row, "Credits left", n, credits_color(n, settings.low_credit_threshold))
        if settings.balance_links:
            cols.set(row, "Balance link", links.get(key(client.name)))
    return cols.out(["Credits left"])


def _packages_out(v: TabView, packages: PackageBook, results: Sequence[PackageResult]) -> TabOut:
    cols = _Columns(v)
    by_row = {r.package.row: r for r in results}
    for row in packages.rows:
        cols.set(row, SYNC_NOTE, _note(packages, row))
        r = by_row.get(row)
        if r is None:
            cols.set(row, "Status", PackageStatus.INVALID.value, RED)
            cols.set(row, "Progress", None, RED)
            continue
        color = PACKAGE_COLORS[r.status]
        cols.set(row, "Used", r.used)
        cols.set(row, "Remaining", r.remaining_shown)
        cols.set(row, "Status", r.status.value, color)
        cols.set(row, "Progress", package_progress(r), color)
    return cols.out(["Status", "Progress"], packages.fills)


def _sessions_out(v: TabView, book: ParsedTab, ledger: Ledger) -> TabOut:
    # What _Columns.set does per cell, a column at a time: one row per session.
    cols = _Columns(v)
    statuses: list[Value] = [None] * cols.n
    colors: list[str | None] = [None] * cols.n
    notes: list[Value] = [None] * cols.n
    results = ledger.results
    for row in book.rows:
        result = results.get(row)
        if result is None:
            statuses[row - 2] = SessionStatus.INVALID.value
            colors[row - 2] = RED
            notes[row - 2] = _clip(_note(book, row))
            continue
        statuses[row - 2], colors[row - 2] = _STATUS_SHOWN[result.status]
        notes[row - 2] = result.note if len(result.note) <= MAX_NOTE else _clip(result.note)
    if book.rows:
        cols.put("Status", statuses, colors)
        cols.put(SYNC_NOTE, notes)
    return cols.out(["Status"], ledger.fills)


#: A session status as the Status cell shows it: its text and color.
_STATUS_SHOWN = {s: (s.value, SESSION_COLORS[s]) for s in SessionStatus}
