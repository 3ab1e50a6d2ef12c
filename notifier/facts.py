"""What a cycle's result knows beyond an event's own details.

Events carry the facts that make their key; an email wants a little more (the
package's price, what was left right after a session). :class:`Facts` looks
those up in the cycle's :class:`rules.model.Result`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rules.dashboard import unused_value
from rules.events import session_fingerprints
from rules.model import Event, PackageResult, Result, SessionResult
from rules.parse import id_key

_LEFT = re.compile(r"(\d+) of (\d+) left\s*$")


@dataclass(frozen=True, slots=True)
class Facts:
    packages: Mapping[str, PackageResult] = field(default_factory=dict)
    #: Client-notice event key -> the session it is about.
    sessions: Mapping[str, SessionResult] = field(default_factory=dict)
    #: The workbook's structure is broken: nothing was written this cycle.
    blocked: bool = False
    #: The cycle's "today".
    today: date | None = None
    #: Packages (id keys) whose balance is told in credits rather than sessions.
    credit_packages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, result: Result | None) -> Facts:
        if result is None:
            return cls()
        prints = session_fingerprints(result.sessions)
        return cls(
            packages={r.package.id_key: r for r in result.packages},
            sessions={
                f"client-session:{prints[s.row]}": s for s in result.sessions if s.row in prints
            },
            blocked=bool(result.blocked),
            today=result.dashboard.today,
            credit_packages=result.credit_packages,
        )

    def package(self, package_id: object) -> PackageResult | None:
        if not isinstance(package_id, str) or not package_id:
            return None
        return self.packages.get(id_key(package_id))

    def value_of_remaining(self, package_id: object) -> Decimal | None:
        """Price per credit x credits left (a pass: price x share of its term ahead),
        when the package has a price."""
        r = self.package(package_id)
        if r is None or r.package.price is None:
            return None
        if not r.package.unlimited and r.package.total <= 0:
            return None
        return unused_value(r, self.today) if self.today is not None else None

    def unit(self, package_id: object) -> str:
        """What the package holds, in the client's words: ``session``, or ``credit`` where
        it pays for a session type that uses more than one."""
        if isinstance(package_id, str) and id_key(package_id) in self.credit_packages:
            return "credit"
        return "session"

    def left_after(self, event: Event) -> tuple[int, int] | None:
        """(credits left, total) right after the session a notice is about."""
        s = self.sessions.get(event.key)
        match = _LEFT.search(s.note) if s else None
        return (int(match.group(1)), int(match.group(2))) if match else None
