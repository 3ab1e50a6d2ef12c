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
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from rules.model import Event, PackageResult, RowProblem, SessionResult, Settings
from rules.schema import PackageStatus, SessionStatus
from rules.values import key

PRACTITIONER = "practitioner"
#: Client notices go out only for sessions this recent, so switching notices on
#: for a sheet with years of history does not email every past session.
CLIENT_NOTICE_DAYS = 14


def expiring_soon(result: PackageResult, today: date, settings: Settings) -> bool:
    expires = result.package.expires
    if expires is None or result.remaining <= 0:
        return False
    return 1 <= (expires - today).days <= settings.expiry_warning_days


def session_fingerprints(
    results: Iterable[SessionResult], wanted: Callable[[SessionResult], bool] = lambda r: True
) -> dict[int, str]:
    """A stable identity for each session row: date, client, package, occurrence.

    There is no session ID column, so two identical rows are told apart by
    their order; inserting unrelated rows does not change anyone's identity.
    Only the rows ``wanted`` get their text key built (the count runs over all).
    """
    seen: Counter[tuple[date, str, str]] = Counter()
    prints: dict[int, str] = {}
    for r in sorted(results, key=lambda r: r.row):
        if r.session is None:
            continue
        base = (r.session.date, r.session.client.key, key(r.package_id or ""))
        seen[base] += 1
        if wanted(r):
            prints[r.row] = f"{base[0].isoformat()}|{base[1]}|{base[2]}|{seen[base]}"
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
        if expiring_soon(r, today, settings):
            assert p.expires is not None
            days = (p.expires - today).days
            out.append(
                Event(
                    "expiring_soon",
                    f"expiring:{p.id_key}:{p.expires.isoformat()}",
                    False,
                    PRACTITIONER,
                    f"{about} expires on {p.expires.isoformat()} ({days} days) "
                    f"with {r.remaining} credits left",
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
                    f"with {r.remaining} credits unused",
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
                    f"{about} is used up: {r.used} of {p.total} used",
                    details,
                )
            )
        if client_notices:
            out.extend(_client_package_notices(r, today, settings))

    notice_from = today - timedelta(days=CLIENT_NOTICE_DAYS)

    def needs_key(s: SessionResult) -> bool:
        if s.status is SessionStatus.REJECTED:
            return True
        return (
            client_notices
            and s.status is SessionStatus.DEDUCTED
            and s.session is not None
            and notice_from <= s.session.date <= today
        )

    prints = session_fingerprints(sessions, needs_key)
    for s in sessions:
        if s.session is None:
            continue
        when = s.session.date.isoformat()
        if s.status is SessionStatus.REJECTED:
            out.append(
                Event(
                    "rejected_session",
                    f"rejected:{prints[s.row]}",
                    False,
                    PRACTITIONER,
                    f"{s.session.client.name}'s session on {when} was not deducted: {s.note}",
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
            and s.status is SessionStatus.DEDUCTED
            and today - timedelta(days=CLIENT_NOTICE_DAYS) <= s.session.date <= today
        ):
            out.append(
                Event(
                    "client_session",
                    f"client-session:{prints[s.row]}",
                    False,
                    email,
                    f"Session on {when}: {s.note}",
                    {"client": s.session.client.name, "date": when, "package_id": s.package_id},
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
                f"{len(listed)} problem{'s' if len(listed) != 1 else ''} in the workbook",
                {"count": len(listed), "problems": "\n".join(listed)},
            )
        )
    return out


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
        if expiring_soon(r, today, settings):
            assert p.expires is not None
            out.append(
                Event(
                    "client_expiring",
                    f"client-expiring:{p.id_key}:{p.expires.isoformat()}:{client.key}",
                    False,
                    client.email,
                    f"Your {p.display()} expires on {p.expires.isoformat()} "
                    f"with {r.remaining} sessions left",
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
