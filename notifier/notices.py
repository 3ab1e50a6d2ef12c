"""Client notices (opt-in): a session deducted, a package about to expire, one used up,
and a session not covered for want of credits.

Each goes to one client, about their own package only, with their balance
link when the balance page is on, and the practice's renewal link
(``[notify] renew_url``) when the package is running low or used up.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.facts import Facts
from notifier.format import nice_date, plural, short_date
from notifier.render import Rendered, render
from rules.model import Event

KINDS = frozenset({"client_session", "client_expiring", "client_exhausted", "client_rejected"})


@dataclass(frozen=True, slots=True)
class Notice:
    greeting: str
    title: str
    facts: tuple[str, ...]
    advice: str
    #: The package is running low or used up: the renewal link belongs in it.
    renew: bool = False


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
    unit = facts.unit(pid)
    units = unit[0].upper() + unit[1:] + "s"

    if event.kind == "client_session":
        when = nice_date(str(d.get("date") or ""))
        if found is not None and found.package.unlimited:
            return Notice(
                greeting,
                f"Session on your {package}: unlimited until {nice_date(str(expires))}",
                (f"Session: {when}", *expiry),
                "Thank you for coming.",
            )
        left = facts.left_after(event)
        if left is None and found is not None:
            left = (found.remaining, found.package.total)
        if left is None:
            return Notice(greeting, event.subject, (f"Session: {when}",), "")
        remaining, total = left
        return Notice(
            greeting,
            f"{remaining} of {plural(total, unit)} left on your {package}",
            (f"Session: {when}", f"{units} left: {remaining} of {total}", *expiry),
            "Thank you for coming."
            if remaining
            else "That was the last session on it: get in touch to book more.",
            renew=bool(d.get("renew")) or not remaining,
        )
    if event.kind == "client_rejected":
        when = short_date(str(d.get("date") or ""))
        lead = (
            f"Your {d['package']} is used up" if d.get("package") else "You have no sessions left"
        )
        return Notice(
            greeting,
            f"{lead}: your session on {when} is not covered",
            (f"Session: {nice_date(str(d.get('date') or ''))}",),
            "Get in touch to book more sessions, so that this one is covered too.",
            renew=True,
        )
    remaining = int(d.get("remaining") or 0)
    total = int(d.get("total") or 0)
    if event.kind == "client_expiring":
        if d.get("unlimited"):
            return Notice(
                greeting,
                f"Your {package} expires on {nice_date(str(expires))}",
                (*expiry,),
                "Renew it before then to keep coming without a break.",
            )
        return Notice(
            greeting,
            f"Your {package} expires on {nice_date(str(expires))}",
            (f"{units} left: {remaining} of {total}", *expiry),
            f"Book your {plural(remaining, 'session')} before then so none go unused."
            if unit == "session"
            else f"Use your {plural(remaining, unit)} before then so none go unused.",
        )
    if event.kind == "client_exhausted":
        return Notice(
            greeting,
            f"Your {package} is used up",
            (f"{units} used: {total} of {total}", f"{units} left: 0"),
            "Get in touch to book more sessions.",
            renew=True,
        )
    return Notice(greeting, event.subject, (), "")


def render_notice(
    event: Event, facts: Facts, *, link: str | None = None, renew_url: str | None = None
) -> Rendered:
    made = notice(event, facts)
    return render(
        "notice",
        made.title,
        notice=made,
        link=link,
        renew=renew_url if made.renew else None,
        footer="This is an automatic message about your prepaid sessions.",
    )
