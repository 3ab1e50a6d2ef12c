"""The Sessions tab: which session takes a credit from which package.

Deduction rules 1-6 of the workbook contract. Balances are derived from the
whole tab on every run (never decremented), so the outcome is a pure function
of the rows and today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import TypeVar

from rules.model import (
    BrokenPackage,
    Client,
    InputFill,
    Package,
    RowProblem,
    Session,
    SessionResult,
    Settings,
)
from rules.parse import ClientBook, PackageBook, ParsedTab, id_key
from rules.schema import OUTCOME_WORDS, Billing, Outcome, SessionStatus
from rules.suggest import did_you_mean
from rules.tabs import TabView
from rules.values import BadValue, is_blank, key, parse_date, quote, text

T = TypeVar("T")


def parse_outcome(raw: object) -> Outcome:
    found = OUTCOME_WORDS.get(key(text(raw)))
    if found is None:
        choices = ", ".join(o.value for o in Outcome)
        raise BadValue(f"{quote(raw)} is not one of {choices}")
    return found


def drawable_by_client(packages: PackageBook) -> dict[str, list[Package]]:
    """Client key -> the valid packages that client may draw on, own first."""
    own: dict[str, list[Package]] = defaultdict(list)
    shared: dict[str, list[Package]] = defaultdict(list)
    for package in packages.valid:
        own[package.client.key].append(package)
        for other in package.shared_with:
            shared[other.key].append(package)
    return {k: own.get(k, []) + shared.get(k, []) for k in set(own) | set(shared)}


def may_draw(package: Package | BrokenPackage, client: Client) -> bool:
    if isinstance(package, Package):
        return package.client.key == client.key or any(
            c.key == client.key for c in package.shared_with
        )
    return package.owner_key == client.key or client.key in package.shared_keys


@dataclass
class SessionBook(ParsedTab):
    valid: list[Session] = field(default_factory=list)


def parse_sessions(
    v: TabView, clients: ClientBook, packages: PackageBook, settings: Settings
) -> SessionBook:
    """Validate the Sessions rows; each distinct typed value is read only once.

    A sheet repeats the same dates, names, outcomes and Package IDs thousands of
    times, so every reading (or its problem) is remembered by the raw value.
    """
    book = SessionBook()
    names: dict[str, list[Package | BrokenPackage]] = defaultdict(list)
    every: list[Package | BrokenPackage] = [*packages.valid, *packages.broken]
    for p in every:
        if p.name:
            names[key(p.name)].append(p)

    def read_date(raw: object) -> date | str:
        try:
            return parse_date(
                raw, numbers_are_dates=settings.numbers_are_dates, date_order=settings.date_order
            )
        except BadValue as bad:
            return str(bad)

    def read_client(raw: object) -> Client | str:
        return clients.by_key.get(key(text(raw))) or clients.unknown(text(raw))

    def read_outcome(raw: object) -> Outcome | str:
        try:
            return parse_outcome(raw)
        except BadValue as bad:
            return str(bad)

    at_date, at_client, at_package, at_outcome = (
        v.index.get(name) for name in ("Date", "Client", "Package ID", "Outcome")
    )
    dates: dict[tuple[type, object], date | str] = {}
    whos: dict[tuple[type, object], Client | str] = {}
    outcomes: dict[tuple[type, object], Outcome | str] = {}
    refs: dict[tuple[str, str], tuple[Package | BrokenPackage | None, str | None]] = {}

    def cell(row: Sequence[object], at: int | None) -> object:
        if at is None or at >= len(row):
            return None
        value = row[at]
        return None if is_blank(value) else value

    for i, row in enumerate(v.rows()):
        if v.is_blank(row):
            continue
        row_no = i + 2
        problems: list[tuple[str, str]] = []
        raw = cell(row, at_date)
        when = None
        if raw is None:
            problems.append(("Date", "blank (type the date of the session, e.g. 2026-11-20)"))
        else:
            got_date = _memo(dates, raw, read_date)
            if isinstance(got_date, str):
                problems.append(("Date", got_date))
            else:
                when = got_date
        raw = cell(row, at_client)
        client = None
        if raw is None:
            problems.append(("Client", "blank (type a name from the Clients tab)"))
        else:
            got_client = _memo(whos, raw, read_client)
            if isinstance(got_client, str):
                problems.append(("Client", got_client))
            else:
                client = got_client
        raw = cell(row, at_outcome)
        outcome = Outcome.ATTENDED
        if raw is not None:
            got_outcome = _memo(outcomes, raw, read_outcome)
            if isinstance(got_outcome, Outcome):
                outcome = got_outcome
            else:
                problems.append(("Outcome", got_outcome))
        named: Package | BrokenPackage | None = None
        raw = cell(row, at_package)
        if raw is not None and client is not None:
            ref = (client.key, text(raw))
            if ref not in refs:
                refs[ref] = _resolve(ref[1], client, packages, names)
            named, problem = refs[ref]
            if problem:
                problems.append(("Package ID", problem))
        book.rows.append(row_no)
        if problems:
            book.problems[row_no] = [
                RowProblem(v.title, row_no, column, f"{column}: {message}")
                for column, message in problems
            ]
        elif when is not None and client is not None:
            book.valid.append(Session(row_no, when, client, named, outcome))
    return book


def _memo(cache: dict[tuple[type, object], T], raw: object, read: Callable[[object], T]) -> T:
    # Keyed by type as well: True, 1 and 1.0 are equal in Python but not as cells.
    k = (type(raw), raw)
    found = cache.get(k)
    if found is None:
        found = cache[k] = read(raw)
    return found


def _resolve(
    typed: str,
    client: Client,
    packages: PackageBook,
    names: dict[str, list[Package | BrokenPackage]],
) -> tuple[Package | BrokenPackage | None, str | None]:
    """A typed Package ID, or a package name unique among the client's packages."""
    found = packages.by_id.get(id_key(typed))
    if found is not None:
        return found, None
    matches = [p for p in names.get(key(typed), []) if may_draw(p, client)]
    if len(matches) == 1:
        return matches[0], None
    if matches:
        ids = ", ".join(p.id or f"row {p.row}" for p in matches)
        return None, (
            f"'{typed}' matches several of {client.name}'s packages ({ids}): type the Package ID"
        )
    choices = [p.id for p in packages.valid if may_draw(p, client)]
    choices += [p.name for p in packages.valid if may_draw(p, client) and p.name]
    return None, (
        f"'{typed}' is not a Package ID nor one of {client.name}'s packages"
        f"{did_you_mean(typed, choices)}"
    )


@dataclass
class Ledger:
    """What the deduction decided, per session row and per package."""

    results: dict[int, SessionResult] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    dates: dict[str, list[date]] = field(default_factory=dict)
    fills: list[InputFill] = field(default_factory=list)


def deduct(
    sessions: SessionBook, packages: PackageBook, settings: Settings, *, can_fill: bool
) -> Ledger:
    """Apply rules 1-5 to the valid sessions, in order of date then row."""
    ledger = Ledger()
    used = ledger.used
    for p in packages.valid:
        used[p.id_key] = 0
        ledger.dates[p.id_key] = []
    drawable = drawable_by_client(packages)

    def take(session: Session, package: Package) -> SessionResult:
        used[package.id_key] += 1
        ledger.dates[package.id_key].append(session.date)
        left = max(0, package.total - used[package.id_key])
        return SessionResult(
            session.row,
            SessionStatus.DEDUCTED,
            f"{package.id}: {left} of {package.total} left",
            session,
            package.id,
        )

    # Sessions are in row order already; a stable sort on the date keeps it for ties.
    for session in sorted(sessions.valid, key=attrgetter("date")):
        result = _decide(session, settings, drawable, used)
        if isinstance(result, Package):
            picked = session.named is None
            result = take(session, result)
            if picked and can_fill:
                ledger.fills.append(InputFill(session.row, "Package ID", result.package_id, "text"))
        ledger.results[session.row] = result
    return ledger


def _decide(
    session: Session,
    settings: Settings,
    drawable: dict[str, list[Package]],
    used: dict[str, int],
) -> SessionResult | Package:
    """The package to take a credit from, or the verdict when none is taken."""
    row, client, when = session.row, session.client, session.date
    if session.outcome not in settings.deduct_outcomes:
        return SessionResult(
            row, SessionStatus.NOT_DEDUCTED, f"{session.outcome.value}: no credit used", session
        )
    if client.billing is not Billing.PACKAGE:
        billing = "no billing" if client.billing is Billing.NONE else client.billing.value
        return SessionResult(
            row,
            SessionStatus.NOT_DEDUCTED,
            f"{client.name} is billed {billing}: no package credit used",
            session,
        )

    def rejected(note: str, package_id: str | None = None) -> SessionResult:
        return SessionResult(row, SessionStatus.REJECTED, note, session, package_id)

    named = session.named
    if isinstance(named, BrokenPackage):
        label = named.id or f"the package on Packages row {named.row}"
        return rejected(
            f"{label} cannot take sessions until its row is fixed "
            f"(Packages row {named.row}: {named.problem})",
            named.id,
        )
    if named is not None:
        pid = named.id
        if not may_draw(named, client):
            return rejected(
                f"{pid} is {named.client.name}'s package and is not shared with {client.name}", pid
            )
        if named.expires is not None and when >= named.expires:
            return rejected(f"{pid} expired on {named.expires.isoformat()}", pid)
        if when < named.purchased:
            return rejected(
                f"{pid} was purchased on {named.purchased.isoformat()}, after this session", pid
            )
        if used[named.id_key] >= named.total:
            return rejected(
                f"no credits left on {pid} ({used[named.id_key]} of {named.total} used)", pid
            )
        return named
    usable = [
        p
        for p in drawable.get(client.key, [])
        if p.purchased <= when
        and (p.expires is None or when < p.expires)
        and used[p.id_key] < p.total
    ]
    if not usable:
        return rejected(f"no package with credits left on {when.isoformat()}")
    return min(
        usable,
        key=lambda p: (
            p.expires or date.max,
            0 if p.client.key == client.key else 1,
            p.purchased,
            p.row,
        ),
    )
