"""The events that may deserve an email, each under its dedupe key.

Keys follow the re-arm rules of the contract's alerts table: an ``expiring``
key carries the ``Expires`` date (a new date fires again); ``low`` and
``exhausted`` re-arm when the package leaves that status; a sheet-problem key
is a digest of the whole set of problems, so it fires whenever the set
changes. The state store decides what is new; this module only says what holds
now.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from operator import attrgetter

from rules.model import SHORT_OF_CREDITS, Event, PackageResult, RowProblem, SessionResult, Settings
from rules.schema import PackageStatus, SessionStatus
from rules.values import key
from rules.words import plural

PRACTITIONER = "practitioner"
#: Client notices go out only for sessions this recent, so switching notices on
#: for a sheet with years of history does not email every past session.
CLIENT_NOTICE_DAYS = 14


def expiring_soon(result: PackageResult, today: date, settings: Settings) -> bool:
    expires = result.package.expires
    if expires is None or (result.remaining <= 0 and not result.package.unlimited):
        return False
    return 1 <= (expires - today).days <= settings.expiry_warning_days


def session_fingerprints(
    results: Iterable[SessionResult], wanted: Callable[[SessionResult], bool] = lambda r: True
) -> dict[int, str]:
    """A stable identity for each session row: date, client, package, occurrence.

    There is no session ID column, so two identical rows are told apart by
    their order; inserting unrelated rows does not change anyone's identity.
    Only the rows ``wanted`` get their text key built (its occurrence still counts
    every earlier row with the same date, client and package).
    """
    results = list(results)
    return _fingerprints(results, [r for r in results if r.session is not None and wanted(r)])


def _fingerprints(
    results: Iterable[SessionResult], picked: Sequence[SessionResult]
) -> dict[int, str]:
    """``session_fingerprints`` for the ``picked`` results (those with a session).

    Only the rows that may share a picked row's date, client and package are
    counted: those on the same date for the same client.
    """
    rows = [r for r in results if r.session is not None]
    every = len(picked) == len(rows)
    chosen: set[int] = set()
    if not every:
        chosen = {id(r) for r in picked}
        near = {(s.date, s.client.key) for r in picked if (s := r.session) is not None}
        rows = [r for r in rows if (s := r.session) is not None and (s.date, s.client.key) in near]
    rows.sort(key=attrgetter("row"))
    seen: dict[tuple[date, str, str], int] = {}
    prints: dict[int, str] = {}
    for r in rows:
        if r.session is None:
            continue
        base = (r.session.date, r.session.client.key, key(r.package_id or ""))
        count = seen[base] = seen.get(base, 0) + 1
        if every or id(r) in chosen:
            prints[r.row] = f"{base[0].isoformat()}|{base[1]}|{base[2]}|{count}"
    return prints


def events(
    packages: Sequence[PackageResult],
    sessions: Sequence[SessionResult],
    problems: Sequence[RowProblem],
    *,
    today: date,
    settings: Settings,
    client_notices: bool,
) -> list[Event]:
    out: list[Event] = []
    for r in packages:
        p = r.package
        about = f"{p.client.name}'s {p.display()} ({p.id})"
        details: dict[str, str | int | None] = {
            "package_id": p.id,
            "client": p.client.name,
            "package": p.display(),
            "remaining": r.remaining,
            "total": p.total,
            "used": r.used,
            "expires": p.expires.isoformat() if p.expires else None,
        }
        if p.unlimited:
            details["unlimited"] = 1
        if expiring_soon(r, today, settings):
            assert p.expires is not None
            days = (p.expires - today).days
            left = (
                "as an unlimited pass"
                if p.unlimited
                else f"with {plural(r.remaining, 'credit')} left"
            )
            out.append(
                Event(
                    "expiring_soon",
                    f"expiring:{p.id_key}:{p.expires.isoformat()}",
                    False,
                    PRACTITIONER,
                    f"{about} expires on {p.expires.isoformat()} ({plural(days, 'day')}) {left}",
                    {**details, "days_left": days},
                )
            )
        if r.status is PackageStatus.EXPIRED and r.remaining > 0:
            out.append(
                Event(
                    "expired_unused",
                    f"expired-unused:{p.id_key}",
                    False,
                    PRACTITIONER,
                    f"{about} expired on {p.expires.isoformat() if p.expires else ''} "
                    f"with {plural(r.remaining, 'credit')} unused",
                    details,
                )
            )
        if r.status is PackageStatus.LOW:
            out.append(
                Event(
                    "low",
                    f"low:{p.id_key}",
                    True,
                    PRACTITIONER,
                    f"{about} is running low: {r.remaining} of {p.total} left",
                    details,
                )
            )
        if r.status is PackageStatus.EXHAUSTED:
            out.append(
                Event(
                    "exhausted",
                    f"exhausted:{p.id_key}",
                    True,
                    PRACTITIONER,
                    f"{about} is exhausted: {r.used} of {p.total} used",
                    details,
                )
            )
        if client_notices:
            out.extend(_client_package_notices(r, today, settings))

    notice_from = today - timedelta(days=CLIENT_NOTICE_DAYS)
    low = settings.low_credit_threshold

    # Only these rows may have an event, and only they need a fingerprint.
    keyed = [
        s
        for s in sessions
        if s.session is not None
        and (
            s.status is SessionStatus.REJECTED
            or (
                client_notices
                and s.status is SessionStatus.DEDUCTED
                and notice_from <= s.session.date <= today
            )
        )
    ]
    prints = _fingerprints(sessions, keyed)
    for s in keyed:
        if s.session is None:
            continue
        if s.status is SessionStatus.REJECTED:
            when = s.session.date.isoformat()
            out.append(
                Event(
                    "rejected_session",
                    f"rejected:{prints[s.row]}",
                    False,
                    PRACTITIONER,
                    f"{s.session.client.name}'s session on {when} was rejected: {s.note}",
                    {
                        "client": s.session.client.name,
                        "date": when,
                        "row": s.row,
                        "package_id": s.package_id,
                        "reason": s.note,
                    },
                )
            )
        email = s.session.client.email
        if (
            client_notices
            and email
            and s.status is SessionStatus.REJECTED
            and s.reason in SHORT_OF_CREDITS
            and s.used_up is not None
            and notice_from <= s.session.date
        ):
            when = s.session.date.isoformat()
            package = s.used_up
            out.append(
                Event(
                    "client_rejected",
                    f"client-rejected:{prints[s.row]}",
                    False,
                    email,
                    f"Your {package} is used up: your session on {when} is not covered",
                    {
                        "client": s.session.client.name,
                        "date": when,
                        "package_id": s.package_id,
                        "package": package,
                    },
                )
            )
        if (
            client_notices
            and email
            and s.status is SessionStatus.DEDUCTED
            and notice_from <= s.session.date <= today
        ):
            when = s.session.date.isoformat()
            out.append(
                Event(
                    "client_session",
                    f"client-session:{prints[s.row]}",
                    False,
                    email,
                    f"Session on {when}: {s.note}",
                    {
                        "client": s.session.client.name,
                        "date": when,
                        "package_id": s.package_id,
                        # Left low or used up by it: the notice carries the renewal link.
                        "renew": int(_left_after(s.note) <= low),
                    },
                )
            )

    if problems:
        listed = sorted(str(p) for p in problems)
        digest = hashlib.sha256("\n".join(listed).encode()).hexdigest()[:16]
        out.append(
            Event(
                "sheet_problem",
                f"problems:{digest}",
                True,
                PRACTITIONER,
                f"{plural(len(listed), 'problem')} in the workbook",
                {"count": len(listed), "problems": "\n".join(listed)},
            )
        )
    return out


_LEFT = re.compile(r"(\d+) of \d+ left$")


def _left_after(note: str) -> int | float:
    """Credits left right after a deducted session, from its note (a pass: no end)."""
    match = _LEFT.search(note)
    return int(match.group(1)) if match else math.inf


def _client_package_notices(r: PackageResult, today: date, settings: Settings) -> list[Event]:
    p = r.package
    out = []
    for client in (p.client, *p.shared_with):
        if not client.email:
            continue
        details: dict[str, str | int | None] = {
            "client": client.name,
            "package_id": p.id,
            "package": p.display(),
            "remaining": r.remaining,
            "total": p.total,
            "expires": p.expires.isoformat() if p.expires else None,
        }
        if p.unlimited:
            details["unlimited"] = 1
        if expiring_soon(r, today, settings):
            assert p.expires is not None
            left = "" if p.unlimited else f" with {plural(r.remaining, 'session')} left"
            out.append(
                Event(
                    "client_expiring",
                    f"client-expiring:{p.id_key}:{p.expires.isoformat()}:{client.key}",
                    False,
                    client.email,
                    f"Your {p.display()} expires on {p.expires.isoformat()}{left}",
                    details,
                )
            )
        if r.status is PackageStatus.EXHAUSTED:
            out.append(
                Event(
                    "client_exhausted",
                    f"client-exhausted:{p.id_key}:{client.key}",
                    False,
                    client.email,
                    f"Your {p.display()} is used up",
                    details,
                )
            )
    return out
