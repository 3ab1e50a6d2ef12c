"""What each client's balance page shows, worked out from one cycle's result.

A pure function of the :class:`rules.model.Result` (and the time it is stamped
with): per client key, the client's name and every package they may draw on
(their own and those shared with them, expired ones included and marked so),
with only *their own* session dates. A shared package says ``shared`` and
shows its totals, never who else draws on it nor when.

>>> from datetime import UTC, date, datetime
>>> from rules.engine import compute
>>> from rules.model import Table
>>> result = compute(
...     {
...         "Clients": Table("Clients", ["Client"], [["Ann"]]),
...         "Packages": Table("Packages", ["Client", "Sessions"], [["Ann", 5]]),
...         "Sessions": Table("Sessions", ["Date", "Client"], [["2026-11-22", "Ann"]]),
...     },
...     today=date(2026, 11, 22),
... )
>>> page = pages_of(result, datetime(2026, 11, 22, 9, 30, tzinfo=UTC))["ann"]
>>> page.packages[0].remaining, page.packages[0].total, page.packages[0].dates
(4, 5, ('2026-11-22',))
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from rules.model import PackageResult, Result
from rules.parse import id_key
from rules.schema import PACKAGE_COLORS, PackageStatus, SessionStatus
from rules.values import key

#: How a package's status reads to a client (the sheet's words are for the practitioner).
STATUS_LABELS: dict[str, str] = {
    PackageStatus.ACTIVE.value: "Active",
    PackageStatus.LOW.value: "Running low",
    PackageStatus.EXHAUSTED.value: "Used up",
    PackageStatus.EXPIRED.value: "Expired",
    PackageStatus.INVALID.value: "Being checked",
}


@dataclass(frozen=True, slots=True)
class PackageLine:
    """One package as a client sees it."""

    name: str
    remaining: int
    total: int
    #: The sheet's status (``Active``, ``Low``, ``Exhausted``, ``Expired``).
    status: str
    #: The sheet's color for that status, e.g. ``#B7E1CD``.
    color: str
    #: ISO date: the first day it can no longer be used; None = never expires.
    expires: str | None
    #: Days from the sync's "today" to ``expires`` (0 or less once expired).
    days_left: int | None
    #: Shared between clients: the totals include everyone's sessions.
    shared: bool
    #: ISO dates of the sessions deducted from it by *this* client, oldest first.
    dates: tuple[str, ...]
    #: A time-based pass: any number of sessions until it expires.
    unlimited: bool = False
    #: Credits used on it (by everyone who shares it).
    used: int = 0
    #: What it holds, in the client's words: ``session``, or ``credit`` where it pays for
    #: a session type that uses more than one.
    unit: str = "session"

    @property
    def expired(self) -> bool:
        return self.status == PackageStatus.EXPIRED.value

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True, slots=True)
class ClientPage:
    """Everything one client's page shows."""

    name: str
    #: When the sync that computed this ran (ISO, with its UTC offset).
    updated: str
    #: The sync's "today" (ISO), which ``days_left`` counts from.
    today: str
    packages: tuple[PackageLine, ...]
    #: Where the client buys more sessions (``[notify] renew_url``), if set.
    renew_url: str | None = None

    @property
    def credits_left(self) -> int:
        """Credits left over the packages that are not expired."""
        return sum(p.remaining for p in self.packages if not p.expired and not p.unlimited)

    @property
    def unlimited(self) -> bool:
        """The client may draw on an unlimited pass that has not expired."""
        return any(p.unlimited and not p.expired for p in self.packages)

    @property
    def unit(self) -> str:
        """``credit`` when a package not expired counts credits, else ``session``."""
        live = [p for p in self.packages if not p.expired and not p.unlimited]
        return "credit" if any(p.unit == "credit" for p in live) else "session"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClientPage:
        data: dict[str, Any] = json.loads(text)
        return cls(
            name=str(data["name"]),
            updated=str(data["updated"]),
            today=str(data["today"]),
            packages=tuple(
                PackageLine(**{**p, "dates": tuple(p["dates"])}) for p in data["packages"]
            ),
            renew_url=data.get("renew_url"),
        )


def pages_of(
    result: Result, now: datetime, *, renew_url: str | None = None
) -> dict[str, ClientPage]:
    """Client key -> that client's page, for every client the result knows of.

    Those are the package-billed clients, and any client who owns, shares or
    drew on a package or has a session: a client with no package gets a page
    saying so.
    """
    today = result.dashboard.today
    names: dict[str, str] = {key(name): name for name in result.client_credits}
    drawable: dict[str, list[PackageResult]] = defaultdict(list)
    for r in result.packages:
        owner = r.package.client
        names.setdefault(owner.key, owner.name)
        drawable[owner.key].append(r)
        for other in r.package.shared_with:
            names.setdefault(other.key, other.name)
            if other.key != owner.key and r not in drawable[other.key]:
                drawable[other.key].append(r)

    mine: dict[tuple[str, str], list[date]] = defaultdict(list)
    for s in result.sessions:
        if s.session is None:
            continue
        names.setdefault(s.session.client.key, s.session.client.name)
        if s.status is SessionStatus.DEDUCTED and s.package_id is not None:
            mine[(s.session.client.key, id_key(s.package_id))].append(s.session.date)

    stamp = now.isoformat(timespec="seconds")
    return {
        k: ClientPage(
            name=name,
            updated=stamp,
            today=today.isoformat(),
            packages=tuple(
                _line(r, sorted(mine.get((k, r.package.id_key), [])), today, result.credit_packages)
                for r in sorted(drawable.get(k, []), key=_order)
            ),
            renew_url=renew_url,
        )
        for k, name in names.items()
    }


def _line(
    r: PackageResult, dates: list[date], today: date, credit_packages: frozenset[str]
) -> PackageLine:
    p = r.package
    return PackageLine(
        name=p.display(),
        remaining=r.remaining,
        total=p.total,
        status=r.status.value,
        color=PACKAGE_COLORS[r.status],
        expires=p.expires.isoformat() if p.expires else None,
        days_left=(p.expires - today).days if p.expires else None,
        shared=bool(p.shared_with),
        dates=tuple(d.isoformat() for d in dates),
        unlimited=p.unlimited,
        used=r.used,
        unit="credit" if p.id_key in credit_packages else "session",
    )


def _order(r: PackageResult) -> tuple[int, int, int, int]:
    """Usable packages first, soonest to expire first; then the expired, latest first."""
    p = r.package
    expires = (p.expires or date.max).toordinal()
    if r.status is PackageStatus.EXPIRED:
        return (1, -expires, 0, p.row)
    return (0, expires, p.purchased.toordinal(), p.row)
