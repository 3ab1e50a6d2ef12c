"""What ``check``, ``status`` and the sync summary say about the calendar import.

Feeds are named by their host (or file name) only: their addresses are secrets.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from notifier.format import plural
from sync.calendar.importer import CalendarImport
from sync.calendar.match import match
from sync.calendar.plan import CalendarPlan
from sync.store.calendar import CalendarTables

#: Bookings listed one by one by ``check`` before the rest are counted.
MAX_LISTED = 10


def check_lines(calendar: CalendarImport, now: datetime) -> tuple[list[str], int]:
    """(Lines for ``check``, how many feeds could not be read), after a cycle read them."""
    lines: list[str] = []
    trouble = 0
    until = now + timedelta(days=calendar.horizon_days)
    for read in calendar.last_reads:
        label = read.source.label
        if read.bookings is None:
            lines.append(f"problem: calendar feed {label} cannot be read: {read.error}")
            trouble += 1
            continue
        upcoming = [b for b in read.bookings if now <= b.start <= until and not b.cancelled]
        found = [(b, match(b.attendees, b.title, calendar.last_clients)) for b in upcoming]
        missing = [(b, m) for b, m in found if m.client is None]
        lines.append(
            f"ok: calendar feed {label} can be read: {plural(len(upcoming), 'upcoming booking')} "
            f"in the next {plural(calendar.horizon_days, 'day')}, "
            f"{len(upcoming) - len(missing)} matching a client"
        )
        for booking, m in missing[:MAX_LISTED]:
            why = (
                "matches several clients (" + ", ".join(c.name for c in m.candidates) + ")"
                if m.candidates
                else "matches no client"
            )
            when = booking.start.strftime("%a %d %b %H:%M")
            lines.append(f"note: '{booking.title or '(no title)'}' on {when} {why}")
        if len(missing) > MAX_LISTED:
            lines.append(f"note: ... and {len(missing) - MAX_LISTED} more not matching")
    return lines, trouble


def status_lines(state: CalendarTables, calendar: CalendarImport, zone: tzinfo) -> list[str]:
    """Each configured feed's last read, for ``status``."""
    lines = ["calendar feeds:"]
    for feed in state.feeds(calendar.labels()):
        if feed.last_read is None:
            lines.append(f"  {feed.label}: not read yet")
            continue
        at = f"{feed.last_read.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}".strip()
        if feed.error is None:
            count = plural(feed.bookings or 0, "booking")
            lines.append(f"  {feed.label}: read {at}, {count}")
        else:
            ok = (
                f"; last read fine {feed.last_ok.astimezone(zone):%Y-%m-%d %H:%M}"
                if feed.last_ok
                else ""
            )
            lines.append(f"  {feed.label}: FAILED {at}: {feed.error}{ok}")
    return lines


def summary_line(made: CalendarPlan | None, feeds: int, failed: int) -> str:
    """``calendar:    2 bookings logged, 1 updated, 1 not matched; 1 feed read``."""
    logged = len(made.rows) if made is not None else 0
    updated = len(made.updates) if made is not None else 0
    unmatched = len(made.unmatched) if made is not None else 0
    read = plural(feeds - failed, "feed") + " read"
    if failed:
        read += f", {failed} failed"
    return (
        f"  calendar:    {plural(logged, 'booking')} logged, {updated} updated, "
        f"{unmatched} not matched; {read}"
    )
