"""What the calendar import changes in the Sessions tab: a pure function.

    made = plan(sessions, clients, types, feeds, imported, now=..., ...)

In: the Sessions tab as read, the clients (name, email), the session type names
(when that tab exists), each feed's bookings (None for a feed that failed),
the events already imported (from the state store) and the clock.
Out: the rows to append, the cells to change (a moved booking's ``Date``, a
cancelled one's ``Outcome``), the records to keep once the write has landed,
and the events worth an email (bookings matching no client, feeds that fail).

The sync changes a cell of an imported row only while it still holds what the
sync wrote: once the practitioner has edited it, it is theirs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TypeVar

from notifier.format import nice_date
from rules.events import PRACTITIONER
from rules.model import Event, Table, Value
from rules.schema import CellKind, Outcome
from rules.values import is_blank, key, serial_to_date, text
from sync.backends.base import CellChange
from sync.calendar.match import ClientRef, longest_name_in, match
from sync.calendar.parse import Booking
from sync.store.calendar import Imported

EVENT = "Event"
V = TypeVar("V", date, str | None)


@dataclass(frozen=True, slots=True)
class FeedBookings:
    """One feed as this cycle read it: its bookings, or the error (``bookings`` None)."""

    id: str
    label: str
    bookings: Sequence[Booking] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NewRow:
    """A booking to append to Sessions: cells by 0-based column."""

    booking: Booking
    feed: str
    client: str
    cells: Mapping[int, tuple[Value, CellKind]]


@dataclass(frozen=True)
class CalendarPlan:
    """Everything one cycle's import changes (and keeps, and tells)."""

    #: 0-based column to add the ``Event`` header at, when the tab has none.
    event_header: int | None = None
    rows: tuple[NewRow, ...] = ()
    updates: tuple[CellChange, ...] = ()
    #: Records to keep once the write has landed (new rows, cells changed).
    after_write: tuple[Imported, ...] = ()
    #: Records to keep now: rows found in the sheet, cells found as wanted.
    now: tuple[Imported, ...] = ()
    events: tuple[Event, ...] = ()
    #: Bookings matched / not matched to a client, in the window, per feed label.
    matched: Mapping[str, int] = field(default_factory=dict)
    unmatched: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rows or self.updates or self.event_header is not None)

    def tables(self, sessions: Table) -> Table:
        """The Sessions tab as it will be after the write: header, updates, new rows."""
        header = list(sessions.header)
        if self.event_header is not None:
            header += [None] * (self.event_header + 1 - len(header))
            header[self.event_header] = EVENT
        rows = [list(r) for r in sessions.rows]
        for u in self.updates:
            row = rows[u.row - 2]
            row += [None] * (u.col + 1 - len(row))
            row[u.col] = u.new
        for new in self.rows:
            width = max(max(new.cells, default=0) + 1, len(header))
            cells: list[object] = [None] * width
            for col, (value, _) in new.cells.items():
                cells[col] = value
            rows.append(cells)
        return Table(sessions.title, header, rows)


def columns(header: Sequence[object]) -> dict[str, int]:
    """Column name key -> 0-based index (the first of a repeated name)."""
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        if isinstance(name, str) and name.strip():
            found.setdefault(key(name), i)
    return found


def plan(
    sessions: Table,
    clients: Sequence[ClientRef],
    types: Sequence[str] | None,
    feeds: Sequence[FeedBookings],
    imported: Mapping[str, Imported],
    *,
    now: datetime,
    since: date,
    until: datetime,
    late_cancel_hours: float,
    numbers_are_dates: bool = False,
) -> CalendarPlan:
    """The import's changes for one cycle.

    ``until``: no booking starting after it is logged (now + ``horizon_days``).
    Bookings of every feed are looked at in a wider window than the one logged,
    so that a booking moved later is followed, and is not taken for gone.
    """
    at = columns(sessions.header)
    event_col = at.get(key(EVENT))
    header_add = None
    if event_col is None:
        # Right after the last header: the computed columns the rules add go after it.
        named = [i for i, name in enumerate(sessions.header) if not is_blank(name)]
        event_col = header_add = (named[-1] + 1) if named else 0
    rows_of: dict[str, int] = {}
    for i, values in enumerate(sessions.rows):
        value = values[event_col] if event_col < len(values) else None
        if not is_blank(value):
            rows_of.setdefault(text(value).strip(), i + 2)
    late = timedelta(hours=late_cancel_hours)
    date_col, outcome_col = at[key("Date")], at.get(key("Outcome"))
    keep_now: list[Imported] = []
    keep_after: list[Imported] = []
    updates: list[CellChange] = []
    new_rows: list[NewRow] = []
    events: list[Event] = []
    matched: dict[str, int] = {}
    unmatched: list[str] = []
    seen: set[str] = set()
    read: set[str] = set()  # the feeds read this cycle

    def cell(row: int, col: int | None) -> object:
        if col is None:
            return None
        values = sessions.rows[row - 2]
        return values[col] if col < len(values) else None

    def settle(
        row: int, col: int, column: str, kind: CellKind, wrote: V, want: V, have: object
    ) -> tuple[V, bool]:
        """One cell of an imported row: (what the sync holds it wrote there now, whether
        the write changes it). A cell that no longer holds what the sync wrote is left."""
        if want == wrote:
            return wrote, False
        if have == wrote:
            old = cell(row, col)
            updates.append(
                CellChange(sessions.title, row, col, column, old, want, kind, None, True, False)
            )
            return want, True
        return (want, False) if have == want else (wrote, False)

    def follow(rec: Imported, row: int, booking: Booking | None, feed: str) -> None:
        """Bring an imported row's Date and Outcome in line with its booking (None: gone)."""
        if booking is None:
            want_date, want_outcome = (
                rec.wrote_date,
                rec.wrote_outcome or _cancelled(now, rec.start, late),
            )
        elif booking.cancelled:
            when = booking.modified if booking.modified and booking.modified <= now else now
            want_date = booking.day
            want_outcome = rec.wrote_outcome or _cancelled(when, booking.start, late)
        else:
            want_date, want_outcome = booking.day, None
        record = replace(rec, feed=feed, start=booking.start if booking else rec.start)
        date_now, written_date = settle(
            row,
            date_col,
            "Date",
            "date",
            record.wrote_date,
            want_date,
            _as_date(cell(row, date_col), numbers_are_dates),
        )
        outcome_now, written_outcome = record.wrote_outcome, False
        if outcome_col is not None:
            outcome_now, written_outcome = settle(
                row,
                outcome_col,
                "Outcome",
                "text",
                record.wrote_outcome,
                want_outcome,
                _outcome(cell(row, outcome_col)),
            )
        record = replace(record, wrote_date=date_now, wrote_outcome=outcome_now)
        written = written_date or written_outcome
        if record != rec:
            (keep_after if written else keep_now).append(record)

    for feed in feeds:
        if feed.bookings is None:
            events.append(_feed_event(feed))
            continue
        for booking in feed.bookings:
            if booking.id in seen:
                continue  # the same event in two feeds: the first feed has it
            seen.add(booking.id)
            row = rows_of.get(booking.id)
            rec = imported.get(booking.id)
            if row is not None:
                if rec is None:
                    # In the sheet but not recorded: written by a cycle cut off before it
                    # could record it. What the row holds is what that cycle wrote.
                    rec = Imported(
                        booking.id,
                        feed.id,
                        booking.start,
                        _as_date(cell(row, date_col), numbers_are_dates) or booking.day,
                        _outcome(cell(row, outcome_col)),
                    )
                    keep_now.append(rec)
                follow(rec, row, booking, feed.id)
                continue
            if rec is not None:
                continue  # imported once, and its row deleted: it stays deleted
            if booking.cancelled or booking.day < since or booking.start > until:
                continue
            found = match(booking.attendees, booking.title, clients)
            if found.client is None:
                unmatched.append(_describe(booking))
                events.append(_unmatched_event(booking, found.candidates))
                continue
            matched[feed.label] = matched.get(feed.label, 0) + 1
            new_rows.append(_new_row(booking, feed.id, found.client, at, event_col, types))
        read.add(feed.id)
    # Gone from its feed (read this cycle), and from every other feed: cancelled, when it
    # was still to come.
    for rec in imported.values():
        if rec.feed not in read or rec.event_id in seen:
            continue
        row = rows_of.get(rec.event_id)
        if row is not None and now < rec.start:
            follow(rec, row, None, rec.feed)
    new_rows.sort(key=lambda r: (r.booking.start, r.booking.id))
    keep_after += [
        Imported(n.booking.id, n.feed, n.booking.start, n.booking.day, None) for n in new_rows
    ]
    return CalendarPlan(
        event_header=header_add,
        rows=tuple(new_rows),
        updates=tuple(updates),
        after_write=tuple(_last_of_each(keep_after)),
        now=tuple(_last_of_each(keep_now)),
        events=tuple(events),
        matched=matched,
        unmatched=tuple(unmatched),
    )


def _last_of_each(records: Sequence[Imported]) -> list[Imported]:
    return list({r.event_id: r for r in records}.values())


def _cancelled(when: datetime, start: datetime, late: timedelta) -> str:
    return Outcome.LATE_CANCEL.value if start - when < late else Outcome.CANCELLED.value


def _new_row(
    booking: Booking,
    feed: str,
    client: ClientRef,
    at: Mapping[str, int],
    event_col: int,
    types: Sequence[str] | None,
) -> NewRow:
    cells: dict[int, tuple[Value, CellKind]] = {
        at[key("Date")]: (booking.day, "date"),
        at[key("Client")]: (client.name, "text"),
        event_col: (booking.id, "text"),
    }
    if key("Notes") in at and booking.title:
        cells[at[key("Notes")]] = (booking.title, "text")
    if types and key("Type") in at:
        found = longest_name_in(booking.title, types)
        if found:
            cells[at[key("Type")]] = (found.strip(), "text")
    return NewRow(booking, feed, client.name, cells)


def _as_date(value: object, numbers_are_dates: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if numbers_are_dates and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return serial_to_date(value)
        except (ValueError, OverflowError):
            return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _outcome(value: object) -> str | None:
    """An Outcome cell as the sync compares it: None for blank, else the text."""
    return None if is_blank(value) else text(value).strip()


def _describe(booking: Booking) -> str:
    return f"'{booking.title or '(no title)'}' on {_short(booking.day)}"


def _short(day: date) -> str:
    """``Sat 12 Dec``: the year goes without saying for a booking weeks ahead."""
    return nice_date(day).rsplit(" ", 1)[0]


def _unmatched_event(booking: Booking, candidates: Sequence[ClientRef]) -> Event:
    if candidates:
        names = ", ".join(c.name for c in candidates)
        subject = f"a booking matches several clients ({names}): {_describe(booking)}"
    else:
        subject = f"a booking matches no client: {_describe(booking)}"
    return Event(
        "calendar_unmatched",
        f"calendar_unmatched:{booking.id}",
        False,
        PRACTITIONER,
        subject,
        {
            "title": booking.title,
            "date": booking.day.isoformat(),
            "candidates": ", ".join(c.name for c in candidates) or None,
            "attendees": ", ".join(booking.attendees) or None,
        },
    )


def _feed_event(feed: FeedBookings) -> Event:
    error = feed.error or "it cannot be read"
    digest = hashlib.sha256(error.encode()).hexdigest()[:12]
    return Event(
        "calendar_feed",
        f"calendar_feed:{feed.id}:{digest}",
        True,
        PRACTITIONER,
        f"the calendar feed {feed.label} cannot be read ({error})",
        {"feed": feed.label, "error": error},
    )
