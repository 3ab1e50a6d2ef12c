"""The Sessions tab: which session takes a credit from which package.

Deduction rules 1-6 of the workbook contract. Balances are derived from the
whole tab on every run (never decremented), so the outcome is a pure function
of the rows and today.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter

from rules.model import (
    BrokenPackage,
    Client,
    InputFill,
    Package,
    RejectedSession,
    RowProblem,
    Session,
    SessionResult,
    SessionType,
    Settings,
    TypedSession,
)
from rules.parse import ClientBook, PackageBook, ParsedTab, TypeBook, id_key
from rules.schema import OUTCOME_WORDS, Billing, Outcome, SessionStatus
from rules.suggest import did_you_mean
from rules.tabs import TabView
from rules.values import BadValue, is_blank, key, parse_date, quote, text


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
    #: Some session has a type.
    typed: bool = False


_Ref = tuple[Package | BrokenPackage | None, str | None]
#: What a cache holds for a value not read yet.
_UNREAD = object()
#: The position of a column the tab lacks: past the end of every row.
_NOWHERE = sys.maxsize
#: Cell types whose values are cache keys as they are: no value of one equals a value of
#: another. Other values are keyed with their type: True, 1 and 1.0 are equal in Python
#: but not as cells.
_AS_IS: frozenset[type] = frozenset({str, date, datetime, type(None)})


def parse_sessions(
    v: TabView,
    clients: ClientBook,
    packages: PackageBook,
    settings: Settings,
    types: TypeBook | None = None,
) -> SessionBook:
    """Validate the Sessions rows; each distinct typed value is read only once.

    A sheet repeats the same dates, names, outcomes and Package IDs thousands of
    times, so every reading (or its problem) is remembered by the raw value: a
    blank cell's reading included, so the loop below asks a dict, never a parser.
    """
    book = SessionBook()
    names: dict[str, list[Package | BrokenPackage]] = defaultdict(list)
    every: list[Package | BrokenPackage] = [*packages.valid, *packages.broken]
    for p in every:
        if p.name:
            names[key(p.name)].append(p)

    def read_date(raw: object) -> date | str:
        if is_blank(raw):
            return "blank (type the date of the session, e.g. 2026-11-20)"
        try:
            return parse_date(
                raw, numbers_are_dates=settings.numbers_are_dates, date_order=settings.date_order
            )
        except BadValue as bad:
            return str(bad)

    def read_client(raw: object) -> Client | str:
        if is_blank(raw):
            return "blank (type a name from the Clients tab)"
        return clients.by_key.get(key(text(raw))) or clients.unknown(text(raw))

    def read_outcome(raw: object) -> Outcome | str:
        if is_blank(raw):
            return Outcome.ATTENDED
        try:
            return parse_outcome(raw)
        except BadValue as bad:
            return str(bad)

    def read_type(raw: object) -> SessionType | str | None:
        if is_blank(raw):
            return None
        assert types is not None
        found = types.find(text(raw))
        return found if isinstance(found, str) else SessionType(*found)

    def read_ref(raw: object, client: Client) -> _Ref:
        if is_blank(raw):
            return None, None
        return _resolve(text(raw), client, packages, names)

    # A column the tab lacks reads as blank on every row: its position is past any row's end.
    at_date, at_client, at_package, at_outcome = (
        v.index.get(name, _NOWHERE) for name in ("Date", "Client", "Package ID", "Outcome")
    )
    # Without a Session types tab, Type cells are read past.
    at_type = v.index.get("Type", _NOWHERE) if types is not None and types.in_use else _NOWHERE
    kinds: dict[object, SessionType | str | None] = {}
    # Keyed by the raw value (see _AS_IS); a reading is never None: None means not read yet.
    dates: dict[object, date | str] = {}
    whos: dict[object, Client | str] = {}
    outcomes: dict[object, Outcome | str] = {}
    refs: dict[tuple[str, object], _Ref] = {}
    rows, valid, is_blank_row = book.rows, book.valid, v.is_blank

    for i, row in enumerate(v.rows()):
        width = len(row)
        raw = row[at_date] if at_date < width else None
        k = raw if type(raw) in _AS_IS else (type(raw), raw)
        when = dates.get(k)
        if when is None:
            when = dates[k] = read_date(raw)
        # A readable date means the row is not blank; only otherwise look at the rest.
        if isinstance(when, str) and is_blank_row(row):
            continue
        raw = row[at_client] if at_client < width else None
        k = raw if type(raw) in _AS_IS else (type(raw), raw)
        client = whos.get(k)
        if client is None:
            client = whos[k] = read_client(raw)
        raw = row[at_outcome] if at_outcome < width else None
        k = raw if type(raw) in _AS_IS else (type(raw), raw)
        outcome = outcomes.get(k)
        if outcome is None:
            outcome = outcomes[k] = read_outcome(raw)
        kind: SessionType | str | None = None
        if at_type < width:
            raw = row[at_type]
            k = raw if type(raw) in _AS_IS else (type(raw), raw)
            found = kinds.get(k, _UNREAD)
            if found is _UNREAD:
                found = kinds[k] = read_type(raw)
            kind = found  # type: ignore[assignment]
        named: Package | BrokenPackage | None = None
        problem: str | None = None
        if not isinstance(client, str):
            raw = row[at_package] if at_package < width else None
            ref_key = (client.key, raw if type(raw) in _AS_IS else (type(raw), raw))
            ref = refs.get(ref_key)
            if ref is None:
                ref = refs[ref_key] = read_ref(raw, client)
            named, problem = ref
        row_no = i + 2
        rows.append(row_no)
        if (
            isinstance(when, date)
            and isinstance(client, Client)
            and isinstance(outcome, Outcome)
            and not problem
            and (kind is None or type(kind) is SessionType)
        ):
            if kind is None:
                valid.append(Session(row_no, when, client, named, outcome))
            else:
                valid.append(TypedSession(row_no, when, client, named, outcome, kind))
                book.typed = True
            continue
        book.problems[row_no] = [
            RowProblem(v.title, row_no, column, f"{column}: {message}")
            for column, message in _problems(
                when, client, outcome, problem, kind if isinstance(kind, str) else None
            )
        ]
    return book


def _problems(
    when: date | str,
    client: Client | str,
    outcome: Outcome | str,
    package: str | None,
    kind: str | None = None,
) -> list[tuple[str, str]]:
    """A Sessions row's problems, column by column, in the order the columns are read."""
    problems = []
    if isinstance(when, str):
        problems.append(("Date", when))
    if isinstance(client, str):
        problems.append(("Client", client))
    if not isinstance(outcome, Outcome):
        problems.append(("Outcome", outcome))
    if package:
        problems.append(("Package ID", package))
    if kind:
        problems.append(("Type", kind))
    return problems


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
    #: Credits used, per package (id key).
    used: dict[str, int] = field(default_factory=dict)
    dates: dict[str, list[date]] = field(default_factory=dict)
    fills: list[InputFill] = field(default_factory=list)


#: Sessions deducted per week, for the packages with a weekly limit: id key -> week -> count.
#: A week is numbered from Monday 0001-01-01 (see :func:`week_of`).
_Weeks = dict[str, dict[int, int]]


def week_of(day: date) -> int:
    """The Monday-to-Sunday week ``day`` falls in, as a number (0001-01-01 was a Monday)."""
    return (day.toordinal() - 1) // 7


def monday(week: int) -> date:
    return date.fromordinal(week * 7 + 1)


def deduct(
    sessions: SessionBook, packages: PackageBook, settings: Settings, *, can_fill: bool
) -> Ledger:
    """Apply rules 1-5 to the valid sessions, in order of date then row."""
    ledger = Ledger()
    used, dates, results, fills = ledger.used, ledger.dates, ledger.results, ledger.fills
    weeks: _Weeks = {}
    for p in packages.valid:
        used[p.id_key] = 0
        dates[p.id_key] = []
        if p.per_week is not None:
            weeks[p.id_key] = {}
    preferred = {
        client: _by_preference(client, drawable)
        for client, drawable in drawable_by_client(packages).items()
    }
    outcomes = settings.deduct_outcomes
    typed = sessions.typed

    by_package = Billing.PACKAGE
    # Sessions are in row order already; a stable sort on the date keeps it for ties.
    for session in sorted(sessions.valid, key=attrgetter("date")):
        need = session.credits if typed else 1
        named, client, when = session.named, session.client, session.date
        # The common case the short way: a session that names a plain package of its own
        # client's, which every check of _decide would let take its credits.
        if (
            type(named) is Package
            and named.plain
            and named.client is client
            and session.outcome in outcomes
            and client.billing is by_package
            and named.purchased <= when
            and (named.expires is None or when < named.expires)
            and used[named.id_key] + need <= named.sessions + named.adjust
        ):
            total = named.sessions + named.adjust
            taken = used[named.id_key] = used[named.id_key] + need
            dates[named.id_key].append(when)
            results[session.row] = SessionResult(
                session.row,
                SessionStatus.DEDUCTED,
                f"{named.id}: {total - taken} of {total} left",
                session,
                named.id,
            )
            continue
        result = _decide(session, need, outcomes, preferred, used, weeks)
        if isinstance(result, Package):
            package, total = result, result.total
            taken = used[package.id_key] = used[package.id_key] + need
            dates[package.id_key].append(session.date)
            if package.plain:
                note = f"{package.id}: {max(0, total - taken)} of {total} left"
            else:
                note = _taken_on_special(package, session, taken, weeks)
            result = SessionResult(session.row, SessionStatus.DEDUCTED, note, session, package.id)
            if session.named is None and can_fill:
                fills.append(InputFill(session.row, "Package ID", package.id, "text"))
        results[session.row] = result
    return ledger


def _taken_on_special(package: Package, session: Session, taken: int, weeks: _Weeks) -> str:
    """Count a session on a package with a weekly limit or an unlimited pass; its note."""
    if package.per_week is not None:
        counts = weeks[package.id_key]
        week = week_of(session.date)
        counts[week] = counts.get(week, 0) + 1
    if package.unlimited:
        assert package.expires is not None
        return f"{package.id}: unlimited until {package.expires.isoformat()}"
    return f"{package.id}: {max(0, package.total - taken)} of {package.total} left"


def _by_preference(client_key: str, drawable: list[Package]) -> list[Package]:
    """The client's packages in the order rule 5 picks among them.

    Soonest expiry first (none is last), then the client's own before shared
    ones, then the oldest purchase, then the Packages row.
    """
    return sorted(
        drawable,
        key=lambda p: (
            p.expires or date.max,
            0 if p.client.key == client_key else 1,
            p.purchased,
            p.row,
        ),
    )


#: The note of a session whose outcome takes no credit, by outcome.
_NO_CREDIT = {o: f"{o.value}: no credit used" for o in Outcome}


def types_text(names: tuple[str, ...]) -> str:
    """``1-on-1``, ``Group or Open gym``, ``A, B or C``."""
    if len(names) <= 1:
        return "".join(names) or "no type"
    return ", ".join(names[:-1]) + " or " + names[-1]


def _kind_text(session: Session) -> str:
    return session.type_name or "sessions with no type"


def _credits(n: int) -> str:
    return f"{n} credit{'' if n == 1 else 's'}"


def _decide(
    session: Session,
    need: int,
    outcomes: frozenset[Outcome],
    preferred: dict[str, list[Package]],
    used: dict[str, int],
    weeks: _Weeks,
) -> SessionResult | Package:
    """The package to take the session's credits from, or the verdict when none is taken.

    A named package's reasons are checked in the contract's order of reasons. ``need``
    is the session's credits. A package that is ``plain`` (no For, no weekly limit, not
    a pass) needs only the checks packages had before those existed.
    """
    row, client, when = session.row, session.client, session.date
    if session.outcome not in outcomes:
        return SessionResult(row, SessionStatus.NOT_DEDUCTED, _NO_CREDIT[session.outcome], session)
    if client.billing is not Billing.PACKAGE:
        billing = "no billing" if client.billing is Billing.NONE else client.billing.value
        return SessionResult(
            row,
            SessionStatus.NOT_DEDUCTED,
            f"{client.name} is billed {billing}: no package credit used",
            session,
        )

    named = session.named
    if isinstance(named, BrokenPackage):
        label = named.id or f"the package on Packages row {named.row}"
        return _rejected(
            session,
            f"{label} cannot take sessions until its row is fixed "
            f"(Packages row {named.row}: {named.problem})",
            "invalid_package",
            named.id,
        )
    if named is not None:
        pid = named.id
        if named.client.key != client.key and not may_draw(named, client):
            return _rejected(
                session,
                f"{pid} is {named.client.name}'s package and is not shared with {client.name}",
                "not_shared",
                pid,
            )
        plain = named.plain
        if not plain and not named.pays_for(session.type_key):
            return _rejected(
                session,
                f"{pid} is for {types_text(named.for_names)}, not {_kind_text(session)}",
                "wrong_type",
                pid,
            )
        if named.expires is not None and when >= named.expires:
            return _rejected(
                session, f"{pid} expired on {named.expires.isoformat()}", "expired", pid
            )
        if when < named.purchased:
            return _rejected(
                session,
                f"{pid} was purchased on {named.purchased.isoformat()}, after this session",
                "before_purchase",
                pid,
            )
        if not plain:
            if named.per_week is not None:
                week = week_of(when)
                if weeks[named.id_key].get(week, 0) >= named.per_week:
                    return _rejected(
                        session,
                        f"{pid}: {named.per_week} of {named.per_week} "
                        f"session{'' if named.per_week == 1 else 's'} in the week of "
                        f"{monday(week).isoformat()} already used",
                        "weekly_limit",
                        pid,
                    )
            if named.unlimited:
                return named
        taken = used[named.id_key]
        if taken + need > named.total:
            left = named.total - taken
            if left <= 0:
                note = f"no credits left on {pid} ({taken} of {named.total} used)"
            else:
                note = f"{pid} has {_credits(left)} left, {session.type_name} needs {need}"
            return _rejected(session, note, "no_credits", pid, named.display())
        return named
    # The first usable package in order of preference (rule 5).
    drawable = preferred.get(client.key, ())
    for p in drawable:
        if (
            p.purchased <= when
            and (p.expires is None or when < p.expires)
            and (
                used[p.id_key] + need <= p.total
                if p.plain
                else _special_usable(p, session, need, used, weeks)
            )
        ):
            return p
    return _none_usable(session, drawable, used)


def _special_usable(
    p: Package, session: Session, need: int, used: dict[str, int], weeks: _Weeks
) -> bool:
    """Rule 5 for a package with a For, a weekly limit, or a pass, on the session's date."""
    return (
        (p.unlimited or used[p.id_key] + need <= p.total)
        and p.pays_for(session.type_key)
        and (p.per_week is None or weeks[p.id_key].get(week_of(session.date), 0) < p.per_week)
    )


def _none_usable(
    session: Session, drawable: Sequence[Package], used: dict[str, int]
) -> SessionResult:
    """Rule 5's rejection: the note says when packages with credits do not pay for the type;
    the package used up is kept for the client's notice."""
    when, kind = session.date, session.kind
    need = 1 if kind is None else kind.credits
    other_type = False
    used_up: str | None = None
    for p in drawable:
        if p.purchased > when or (p.expires is not None and when >= p.expires):
            continue
        if p.for_keys is not None and (kind is None or kind.key not in p.for_keys):
            other_type = other_type or p.unlimited or used[p.id_key] < p.total
        elif used_up is None and not p.unlimited and used[p.id_key] + need > p.total:
            used_up = p.display()
    if other_type:
        note = f"no package for {_kind_text(session)} with credits left on {when.isoformat()}"
    else:
        note = f"no package with credits left on {when.isoformat()}"
    return _rejected(session, note, "none_usable", None, used_up)


def _rejected(
    session: Session,
    note: str,
    reason: str,
    package_id: str | None = None,
    used_up: str | None = None,
) -> SessionResult:
    return RejectedSession(
        session.row, SessionStatus.REJECTED, note, session, package_id, reason, used_up
    )
