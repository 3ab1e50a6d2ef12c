"""Client notices (opt-in): a session deducted, a package about to expire, one used up.

Each goes to one client, about their own package only, with their balance
link when the balance page is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.facts import Facts
from notifier.format import nice_date, plural
from notifier.render import Rendered, render
from rules.model import Event

KINDS = frozenset({"client_session", "client_expiring", "client_exhausted"})


@dataclass(frozen=True, slots=True)
class Notice:
    greeting: str
    title: str
    facts: tuple[str, ...]
    advice: str


def notice(event: Event, facts: Facts) -> Notice:
    d = event.details
    client = str(d.get("client") or "")
    pid = d.get("package_id")
    found = facts.package(pid)
    package = str(d.get("package") or (found.package.display() if found else pid) or "package")
    expires = d.get("expires")
    if expires is None and found and found.package.expires:
        expires = found.package.expires.isoformat()
    expiry = [f"Expires: {nice_date(str(expires))}"] if expires else []
    greeting = f"Hello {client}," if client else "Hello,"

    if event.kind == "client_session":
        when = nice_date(str(d.get("date") or ""))
        left = facts.left_after(event)
        if left is None and found is not None:
            left = (found.remaining, found.package.total)
        if left is None:
            return Notice(greeting, event.subject, (f"Session: {when}",), "")
        remaining, total = left
        return Notice(
            greeting,
            f"{remaining} of {plural(total, 'session')} left on your {package}",
            (f"Session: {when}", f"Sessions left: {remaining} of {total}", *expiry),
            "Thank you for coming."
            if remaining
            else "That was the last session on it: get in touch to book more.",
        )
    remaining = int(d.get("remaining") or 0)
    total = int(d.get("total") or 0)
    if event.kind == "client_expiring":
        return Notice(
            greeting,
            f"Your {package} expires on {nice_date(str(expires))}",
            (f"Sessions left: {remaining} of {total}", *expiry),
            f"Book your {plural(remaining, 'session')} before then so none go unused.",
        )
    if event.kind == "client_exhausted":
        return Notice(
            greeting,
            f"Your {package} is used up",
            (f"Sessions used: {total} of {total}", "Sessions left: 0"),
            "Get in touch to book more sessions.",
        )
    return Notice(greeting, event.subject, (), "")


def render_notice(event: Event, facts: Facts, *, link: str | None = None) -> Rendered:
    made = notice(event, facts)
    return render(
        "notice",
        made.title,
        notice=made,
        link=link,
        footer="This is an automatic message about your prepaid sessions.",
    )
