"""Whose session a booking is: by an attendee's email, else by a full name in the title.

>>> ann = ClientRef("Ann Lee", "ann@example.com")
>>> match(("ann@example.com",), "Massage", [ann]).client
ClientRef(name='Ann Lee', email='ann@example.com')
>>> match((), "Intro call - ann LEE", [ann]).client.name
'Ann Lee'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rules.values import key


@dataclass(frozen=True, slots=True)
class ClientRef:
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """The one client a booking belongs to, or the several it could be (``candidates``)."""

    client: ClientRef | None
    candidates: tuple[ClientRef, ...] = ()


def match(attendees: Sequence[str], title: str, clients: Sequence[ClientRef]) -> Match:
    """An attendee's email equal to a client's ``Email`` wins; else the client whose full
    name is in the title (whole words, any case). A name found only inside a longer
    client name found at the same place ("Ann" in "Ann Lee") does not count."""
    emails = {a.strip().casefold() for a in attendees}
    by_email = [c for c in clients if c.email and c.email.strip().casefold() in emails]
    if by_email:
        return _one(by_email)
    spans: list[tuple[int, int, ClientRef]] = []
    for client in clients:
        for found in _name_pattern(client.name).finditer(title):
            spans.append((found.start(), found.end(), client))
    kept = [
        client
        for start, end, client in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    ]
    return _one(kept)


def _one(found: Sequence[ClientRef]) -> Match:
    unique = list({key(c.name): c for c in found}.values())
    if len(unique) == 1:
        return Match(unique[0])
    return Match(None, tuple(unique))


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in name.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def longest_name_in(title: str, names: Sequence[str]) -> str | None:
    """The longest of ``names`` found in ``title`` as whole words (a session type)."""
    found = [n for n in names if n.strip() and _name_pattern(n).search(title)]
    return max(found, key=lambda n: (len(n.strip()), n)) if found else None
