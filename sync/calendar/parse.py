"""An iCalendar feed's bytes -> the bookings in a time window, in the practice's zone.

Parsed with ``icalendar``; Google's ``X-WR-TIMEZONE`` made standard with
``x-wr-timezone``; recurring series (RRULE, RDATE, EXDATE, moved and cancelled
occurrences) expanded with ``recurring-ical-events``. All-day events and events
marked free (``TRANSP:TRANSPARENT``) are not bookings and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from sync.errors import CreditsheetError


class ParseError(CreditsheetError):
    """The feed is not an iCalendar file the import can read."""


@dataclass(frozen=True, slots=True)
class Booking:
    """One event occurrence that may be a client's session.

    ``id`` is what the ``Event`` column holds: the event's UID, with the
    occurrence's recurrence date (UTC) for one occurrence of a series.
    """

    id: str
    start: datetime  # aware, in the practice's zone
    title: str
    attendees: tuple[str, ...]  # email addresses, as written
    cancelled: bool
    #: When the event was last changed (LAST-MODIFIED), where the feed says.
    modified: datetime | None = None

    @property
    def day(self) -> date:
        return self.start.date()


def bookings(data: bytes, start: datetime, end: datetime, zone: tzinfo) -> list[Booking]:
    """Every booking that starts in ``[start, end)``, sorted by start then id."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as err:  # the library raises ValueError, KeyError, IndexError ...
        raise ParseError(_plain(err)) from None
    if isinstance(calendar, list):  # several VCALENDARs in one file
        calendar = calendar[0] if calendar else icalendar.Calendar()
    if calendar.name != "VCALENDAR":
        raise ParseError("it is not an iCalendar (.ics) file")
    try:
        calendar = x_wr_timezone.to_standard(calendar)
        # A series repeating every second or minute is no booking, and expanding it over
        # a year would not end in time: it is left out.
        calendar.subcomponents = [c for c in calendar.subcomponents if not _every_minute(c)]
        series = _series_uids(calendar.walk("VEVENT"))
        found = recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)
        out = [b for e in found if (b := _booking(e, series, zone)) is not None]
    except ParseError:
        raise
    except Exception as err:
        raise ParseError(_plain(err)) from None
    out = [b for b in out if start <= b.start < end]
    return sorted(out, key=lambda b: (b.start, b.id))


def _every_minute(component: icalendar.cal.Component) -> bool:
    rule = component.get("RRULE") if component.name == "VEVENT" else None
    rules = rule if isinstance(rule, list) else [rule] if rule is not None else []
    return any(str(f).upper() in {"SECONDLY", "MINUTELY"} for r in rules for f in r.get("FREQ", []))


def _series_uids(events: Iterable[icalendar.cal.Component]) -> set[str]:
    return {
        str(e.get("UID", ""))
        for e in events
        if e.get("RRULE") is not None
        or e.get("RDATE") is not None
        or e.get("RECURRENCE-ID") is not None
    }


def _booking(event: icalendar.cal.Component, series: set[str], zone: tzinfo) -> Booking | None:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    dtstart = event.get("DTSTART")
    if dtstart is None:
        return None
    when = dtstart.dt
    if not isinstance(when, datetime):
        return None  # an all-day event
    when = _aware(when, zone).astimezone(zone)
    uid = str(event.get("UID", "")).strip()
    if not uid:
        uid = f"no-uid/{when.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    ident = uid
    if uid in series:
        recurrence = event.get("RECURRENCE-ID")
        original = recurrence.dt if recurrence is not None else dtstart.dt
        if isinstance(original, datetime):
            ident = f"{uid}/{_aware(original, zone).astimezone(UTC):%Y%m%dT%H%M%SZ}"
        else:
            ident = f"{uid}/{original:%Y%m%d}"
    modified = event.get("LAST-MODIFIED")
    changed = modified.dt if modified is not None else None
    return Booking(
        id=ident,
        start=when,
        title=" ".join(str(event.get("SUMMARY", "")).split()),
        attendees=tuple(_emails(event)),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        modified=_aware(changed, UTC) if isinstance(changed, datetime) else None,
    )


def _aware(when: datetime, zone: tzinfo) -> datetime:
    """A floating time (no zone) is the practice's local time."""
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def _emails(event: icalendar.cal.Component) -> list[str]:
    found = event.get("ATTENDEE")
    if found is None:
        return []
    listed = found if isinstance(found, list) else [found]
    out = []
    for attendee in listed:
        text = str(attendee).strip()
        if text.casefold().startswith("mailto:"):
            text = text[len("mailto:") :]
        if "@" in text:
            out.append(text.strip())
    return out


def _plain(err: Exception) -> str:
    text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
    return (
        f"it is not a readable iCalendar file ({text})"
        if text
        else ("it is not a readable iCalendar file")
    )
