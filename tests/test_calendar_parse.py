"""Feeds as the booking programs export them -> the bookings the import sees."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from sync.calendar.parse import ParseError, bookings
from tests.calendar_support import FIXTURES

LONDON = ZoneInfo("Europe/London")


def read(name: str, start: str, end: str, zone: ZoneInfo = LONDON) -> list:
    data = (FIXTURES / name).read_bytes()
    return bookings(
        data,
        datetime.fromisoformat(start).replace(tzinfo=zone),
        datetime.fromisoformat(end).replace(tzinfo=zone),
        zone,
    )


def test_google_free_events_are_not_bookings_even_moved_ones() -> None:
    assert read("issue_62_moved_event.ics", "2021-11-01", "2022-03-01") == []


def test_google_x_wr_timezone_times_are_read_in_the_practice_zone() -> None:
    found = read("x_wr_timezone_simple_events_issue_59.ics", "2021-12-01", "2022-01-01")
    assert [(b.id, b.start.isoformat()) for b in found] == [
        ("3bc4jff97631or97ntnk75n4se@google.com", "2021-12-22T17:00:00+00:00"),
        ("14n7h56i35m32ukcq76s46d45p@google.com", "2021-12-23T02:00:00+00:00"),
    ]
    # 9 PM in New York on the 22nd is the 23rd in London: the row's Date is the 23rd.
    assert found[1].day == date(2021, 12, 23)
    assert found[1].title == "Google says this is 9PM to 10PM on 12/22/2021"


def test_a_cancelled_occurrence_of_a_series_is_marked_and_each_has_its_own_id() -> None:
    found = read("issue_18_cancel_status.ics", "2020-01-01", "2020-02-01")
    assert [(b.id, b.cancelled) for b in found] == [
        ("b65c2b5b-b785-4edc-9560-e0379036d1f2/20200128T210000Z", False),
        ("b65c2b5b-b785-4edc-9560-e0379036d1f2/20200129T210000Z", True),
        ("b65c2b5b-b785-4edc-9560-e0379036d1f2/20200130T210000Z", False),
    ]


def test_outlook_all_day_events_are_skipped() -> None:
    assert read("issue_28_rrule_with_UTC_endinginZ.ics", "2020-01-01", "2021-01-01") == []


def test_an_exdate_removes_an_occurrence_across_a_dst_change() -> None:
    found = read("each_week_but_one_deleted.ics", "2019-03-01", "2019-05-01")
    assert [b.start.isoformat() for b in found] == [
        "2019-03-03T23:30:00+00:00",
        "2019-03-17T23:30:00+00:00",  # the 10th is removed by EXDATE
        "2019-03-24T23:30:00+00:00",
        "2019-03-31T23:30:00+01:00",  # 00:30 in Berlin is still 23:30 in London after DST
        "2019-04-07T23:30:00+01:00",
        "2019-04-14T23:30:00+01:00",
        "2019-04-21T23:30:00+01:00",
    ]
    assert [b.day for b in found][:2] == [date(2019, 3, 3), date(2019, 3, 17)]


def test_exchange_series_with_exdate() -> None:
    found = read("issue_27_t1.ics", "2020-04-01", "2020-05-01")
    assert [b.start.date().isoformat() for b in found] == ["2020-04-26", "2020-04-28"]


def test_attendee_emails_are_read_from_mailto() -> None:
    (found,) = read("issue_132_swapped_start_and_end.ics", "2023-12-01", "2024-01-01")
    assert found.attendees == ("xxx@yyy.zzz",)


def test_google_booking_calendar_series_in_zurich() -> None:
    found = read("x_location.ics", "2016-10-27", "2016-11-05")
    assert [b.start.isoformat() for b in found] == [
        "2016-10-28T13:00:00+01:00",
        "2016-10-31T13:00:00+00:00",
        "2016-11-01T13:00:00+00:00",
        "2016-11-02T13:00:00+00:00",
        "2016-11-03T13:00:00+00:00",
        "2016-11-04T13:00:00+00:00",
    ]


def test_calcom_bookings_cancelled_and_attendees() -> None:
    found = read("calcom_bookings.ics", "2026-12-01", "2027-01-01")
    assert [(b.title, b.cancelled) for b in found] == [
        ("Massage 90 between Jo Bloggs and Ann Lee", False),
        ("Massage 60 between Jo Bloggs and Bob Stone", True),
        ("Intro call between Jo Bloggs and J. Smith", False),
    ]
    assert found[0].attendees == ("Ann.Lee@Example.com",)
    assert found[1].modified is not None


def test_calendly_in_google_series_exdate_moved_and_free_and_all_day() -> None:
    found = read("calendly_in_google.ics", "2026-12-01", "2027-01-01")
    assert [(b.id, b.start.isoformat()) for b in found] == [
        ("5s6t7u8v9w0x1y2z3a4b5c6d7e@google.com/20261207T180000Z", "2026-12-07T18:00:00+00:00"),
        ("0a1b2c3d4e5f6g7h8i9j0k1l2m@google.com", "2026-12-09T14:00:00+00:00"),
        # Moved an hour later, it keeps the id of the occurrence it replaces.
        ("5s6t7u8v9w0x1y2z3a4b5c6d7e@google.com/20261214T180000Z", "2026-12-14T19:00:00+00:00"),
        ("5s6t7u8v9w0x1y2z3a4b5c6d7e@google.com/20261228T180000Z", "2026-12-28T18:00:00+00:00"),
    ]
    assert found[1].attendees == ("ann@example.com", "jo@practice.example")


def test_apple_evening_in_new_york_is_the_next_day_in_london() -> None:
    (found,) = read("apple_icloud.ics", "2026-12-01", "2027-01-01")
    assert found.day == date(2026, 12, 9)
    assert found.title == "Physio – Ann Lee"
    assert found.id == "3F2504E0-4F89-41D3-9A0C-0305E82C3301"


@pytest.mark.parametrize(
    "data", [b"", b"<html>Sign in</html>", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"]
)
def test_what_is_not_a_calendar_is_a_plain_error(data: bytes) -> None:
    with pytest.raises(ParseError) as err:
        bookings(
            data, datetime(2026, 1, 1, tzinfo=LONDON), datetime(2027, 1, 1, tzinfo=LONDON), LONDON
        )
    assert "iCalendar" in str(err.value)


def test_a_series_repeating_every_minute_is_not_expanded() -> None:
    from tests.calendar_support import calendar, vevent

    data = calendar(
        vevent("spam@x", "20261201T000000", "Ping", extra=["RRULE:FREQ=SECONDLY"]),
        vevent("ok@x", "20261208T100000", "Massage - Ann Lee"),
    )
    found = bookings(
        data, datetime(2026, 12, 1, tzinfo=LONDON), datetime(2027, 12, 1, tzinfo=LONDON), LONDON
    )
    assert [b.id for b in found] == ["ok@x"]
