"""The practitioner's alert email: every new event of one cycle in one email.

Each item names the client, the package, the numbers and the date, and says
what to do about it. The wording lives here, once, and both the text and the
HTML template show the same :class:`Item` fields, so the two parts always
state the same facts. A status is called by the sheet's own word (``Rejected``,
``Exhausted``, ``Low``, ``Expired``), so an email never says of a session
what the Status column would call something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from notifier.facts import Facts
from notifier.format import money, nice_date, plural
from notifier.render import Rendered, render
from rules.model import Event

#: Groups in the order they appear, with their heading and accent color.
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("sheet_problem", "Problems in the workbook", "#d93025"),
    ("rejected_session", "Sessions rejected", "#d93025"),
    ("exhausted", "Packages exhausted", "#d93025"),
    ("expired_unused", "Expired with credits unused", "#777777"),
    ("expiring_soon", "Expiring soon", "#e8a100"),
    ("low", "Running low", "#e8a100"),
)
#: Groups of the events the sync itself raises (the calendar import), after the rules'.
SYNC_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("calendar_feed", "Calendar feeds that cannot be read", "#d93025"),
    ("calendar_unmatched", "Bookings not logged", "#e8a100"),
)
OTHER = "other"
#: Problems listed one by one in an email; the rest are counted.
MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class Item:
    """One alert: a one-line title, the facts, and what to do."""

    kind: str
    title: str
    facts: tuple[str, ...]
    action: str


@dataclass(frozen=True, slots=True)
class Group:
    kind: str
    title: str
    color: str
    items: tuple[Item, ...]


def items(events: Sequence[Event], facts: Facts, currency: str) -> list[Item]:
    """One :class:`Item` per practitioner event, in the order of :data:`GROUPS`.

    A kind this module does not know yet is listed last, under its own subject.
    """
    order = {kind: i for i, (kind, _, _) in enumerate(GROUPS + SYNC_GROUPS)}
    chosen = sorted(events, key=lambda e: (order.get(e.kind, len(order)), e.subject))
    return [item(e, facts, currency) for e in chosen]


def groups(events: Sequence[Event], facts: Facts, currency: str) -> list[Group]:
    made = items(events, facts, currency)
    known = {kind for kind, _, _ in GROUPS + SYNC_GROUPS}
    listed = [
        Group(kind, title, color, tuple(i for i in made if i.kind == kind))
        for kind, title, color in GROUPS + SYNC_GROUPS
    ]
    listed.append(
        Group(OTHER, "Other alerts", "#555555", tuple(i for i in made if i.kind not in known))
    )
    return [g for g in listed if g.items]


def item(event: Event, facts: Facts, currency: str) -> Item:
    d = event.details
    client = _text(d.get("client"))
    package = _text(d.get("package"))
    pid = _text(d.get("package_id"))
    remaining, total, used = _int(d.get("remaining")), _int(d.get("total")), _int(d.get("used"))
    expires = _text(d.get("expires"))
    about = f"{client}'s {package} ({pid})"
    value = facts.value_of_remaining(pid)

    if event.kind == "expiring_soon":
        days = _int(d.get("days_left"))
        unlimited = bool(d.get("unlimited"))
        left = (
            f"Unlimited pass: {plural(used, 'credit')} used"
            if unlimited
            else f"Credits left: {remaining} of {total}"
        )
        listed = [f"Expires: {nice_date(expires)}", left]
        if value is not None:
            listed.append(f"Prepaid value left: {money(value, currency)}")
        return Item(
            event.kind,
            f"{about} expires in {plural(days, 'day')}",
            tuple(listed),
            f"Offer {client} a renewal before {nice_date(expires)}."
            if unlimited
            else f"Remind {client} to book the {plural(remaining, 'session')} left before "
            f"{nice_date(expires)}, or move Expires later on the Packages tab to give more time.",
        )
    if event.kind == "expired_unused":
        listed = [f"Expired: {nice_date(expires)}", f"Credits unused: {remaining} of {total}"]
        if value is not None:
            listed.append(f"Prepaid value unused: {money(value, currency)}")
        return Item(
            event.kind,
            f"{about} expired with {plural(remaining, 'credit')} unused",
            tuple(listed),
            f"To honour them, move Expires on {pid} later on the Packages tab; "
            "otherwise there is nothing to do.",
        )
    if event.kind == "low":
        listed = [f"Credits left: {remaining} of {total}"]
        listed.append(f"Expires: {nice_date(expires)}" if expires else "Expires: never")
        return Item(
            event.kind,
            f"{about} is running low",
            tuple(listed),
            f"Offer {client} a new package before the last session.",
        )
    if event.kind == "exhausted":
        return Item(
            event.kind,
            f"{about} is exhausted",
            (f"Used: {used} of {total}", "Credits left: 0"),
            f"Sell {client} a new package, or add an Adjust of 1 on {pid} for a goodwill session.",
        )
    if event.kind == "rejected_session":
        when = _text(d.get("date"))
        reason = _text(d.get("reason"))
        listed = [f"Date: {nice_date(when)}", f"Sessions row {_int(d.get('row'))}"]
        if pid:
            listed.append(f"Package: {pid}")
        return Item(
            event.kind,
            rejected_title(client, when, reason, today=facts.today),
            tuple(listed),
            _rejection_advice(client, reason),
        )
    if event.kind == "sheet_problem":
        problems = _text(d.get("problems")).splitlines()
        listed = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            listed.append(f"... and {len(problems) - MAX_PROBLEMS} more")
        if facts.blocked:
            action = (
                "Nothing was written to the workbook: fix this first; "
                "the next sync then runs as usual."
            )
        else:
            action = (
                "Each row's Sync note says what to fix; "
                "the rest of the workbook was synced as usual."
            )
        return Item(
            event.kind,
            f"{plural(_int(d.get('count')) or len(problems), 'problem')} in the workbook",
            tuple(listed),
            action,
        )
    if event.kind == "calendar_feed":
        return Item(
            event.kind,
            f"The calendar feed {_text(d.get('feed'))} cannot be read",
            (f"Problem: {_text(d.get('error'))}",),
            "Bookings already logged are left as they are. Check the feed's address in "
            "[calendar] feeds (copy the private ICS address again if it was reset); "
            "the next sync reads it again.",
        )
    if event.kind == "calendar_unmatched":
        listed = [f"Booking: {_text(d.get('title')) or '(no title)'}"]
        listed.append(f"Date: {nice_date(_text(d.get('date')))}")
        if d.get("attendees"):
            listed.append(f"Attendees: {_text(d.get('attendees'))}")
        if d.get("candidates"):
            listed.append(f"Could be: {_text(d.get('candidates'))}")
        return Item(
            event.kind,
            event.subject,
            tuple(listed),
            "Put the client's full name in the booking's title, or their Email on the "
            "Clients tab, and the next sync logs it; or type the session on Sessions.",
        )
    return Item(event.kind, event.subject, (), "See the workbook for details.")


def rejected_title(client: str, day: str, reason: str, *, today: date | None = None) -> str:
    """``Ann's session on Tue 8 Dec was rejected: no credits left on P-0001 (5 of 5 used)``
    (the year is written when it is not today's)."""
    when = nice_date(day, this_year=today.year if today else None)
    said = f"{client}'s session on {when} was rejected"
    return f"{said}: {reason}" if reason else said


def _rejection_advice(client: str, reason: str) -> str:
    text = reason.casefold()
    if "cannot take sessions until its row is fixed" in text:
        return "Fix the package's row on the Packages tab (its Sync note says how)."
    if "not shared with" in text:
        return (
            f"Name one of {client}'s own packages in Package ID, "
            f"or add {client} to that package's Shared with."
        )
    if "expired on" in text:
        return (
            "Move the package's Expires date later to honour this session, "
            "or sell a new package and name it in Package ID."
        )
    if "was purchased on" in text:
        return "Check the session's Date and the package's Purchased date."
    if " is for " in text or text.startswith("no package for "):
        return (
            "Check the session's Type, name a package that pays for it in Package ID, "
            "or add the type to a package's For."
        )
    if "sessions in the week of" in text or "session in the week of" in text:
        return (
            "The package's Per week limit is reached for that week: move the session, "
            "or raise Per week on the Packages tab."
        )
    return f"Sell {client} a new package, or add an Adjust of 1 for a goodwill session."


def render_alert_email(
    events: Sequence[Event], facts: Facts, *, currency: str, today: date
) -> Rendered:
    listed = groups(events, facts, currency)
    count = sum(len(g.items) for g in listed)
    if count == 1:
        subject = f"creditsheet: {listed[0].items[0].title}"
    else:
        subject = f"creditsheet: {count} things need your attention"
    return render(
        "alert_email",
        subject,
        heading=f"{plural(count, 'thing')} to look at",
        intro=f"The sync on {nice_date(today)} found {'this' if count == 1 else 'these'}. "
        "Each alert is sent once.",
        groups=listed,
        footer="Sent by creditsheet. Statuses and balances are in your workbook.",
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
