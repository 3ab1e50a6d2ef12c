"""The calendar import over real files and a real HTTP server on loopback: once only,
moves, cancellations, the practitioner's edits, feeds that fail and come back."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from sync.alerts import deliver
from sync.backends.google.client import RetryPolicy
from sync.calendar.importer import CalendarImport
from sync.config import Config
from sync.cycle import Cycle, run_cycle
from sync.store import Store
from tests.calendar_support import FIXTURES, FeedServer, calendar, feed_server, vevent
from tests.contract.harness import XlsxHarness
from tests.fakesender import RecordingSender

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
CLIENTS = [
    ["Client", "Email", "Billing"],
    ["Ann Lee", "ann@example.com", "Package"],
    ["Bob Stone", "bob@example.com", "Package"],
    ["Ann", None, "Package"],
]
PACKAGES = [
    ["Package ID", "Client", "Package", "Sessions", "Purchased"],
    ["P-0001", "Ann Lee", "5-Session Pack", 5, date(2026, 11, 1)],
    ["P-0002", "Bob Stone", "10-Session Pack", 10, date(2026, 11, 1)],
]
SESSIONS = [["Date", "Client", "Package ID", "Outcome", "Notes"]]


class Practice:
    """An xlsx workbook, its state store and one feed, synced with the real parts."""

    def __init__(self, folder: Path, feed: str, **calendar: object) -> None:
        self.harness = XlsxHarness(folder)
        self.backend = self.harness.create(
            {"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS}
        )
        self.config = Config.model_validate(
            {
                "sync": {"timezone": "Europe/London"},
                "email": {"to": ["me@example.com"]},
                "calendar": {"feeds": [feed], "since": "2026-12-01", **calendar},
            }
        )
        self.store = Store(folder / "state.sqlite")
        self.sender = RecordingSender()
        self.now = NOW

    def cycle(self, now: datetime | None = None) -> Cycle:
        if now is not None:
            self.now = now
        calendar_import = CalendarImport.for_config(
            self.config,
            self.store.calendar,
            policy=RetryPolicy(attempts=2, total_seconds=1.0, timeout=(2.0, 2.0)),
            sleep=lambda s: None,
        )
        report = run_cycle(self.config, self.backend, now=self.now, calendar=calendar_import)
        deliver(report.result, self.store, self.sender, self.config, self.now)
        return report

    def sessions(self) -> list[dict[str, object]]:
        rows = self.harness.values("Sessions")
        return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]

    def edit(self, row: int, column: str, value: object) -> None:
        wb = openpyxl.load_workbook(self.harness.path)
        ws = wb["Sessions"]
        header = [c.value for c in ws[1]]
        ws.cell(row, header.index(column) + 1).value = value
        wb.save(self.harness.path)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.sender.sent]

    def bodies(self) -> str:
        out = []
        for m in self.sender.sent:
            body = m.get_body(("plain",))
            assert body is not None
            out.append(body.get_content())
        return "\n".join(out)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def booking(uid: str, start: str, title: str = "Massage - Ann Lee", **kw: object) -> str:
    return vevent(uid, start, title, **kw)  # type: ignore[arg-type]


def practice_on(server: FeedServer, tmp_path: Path, *events: str, **calendar: object) -> Practice:
    url = server.serve("/calendar/ical/private-s3cr3tt0ken/basic.ics", calendar_of(events))
    return Practice(tmp_path, url, **calendar)


def calendar_of(events: Sequence[str]) -> bytes:
    return calendar(*events)


def serve(server: FeedServer, *events: str, etag: str = '"v2"') -> None:
    server.serve("/calendar/ical/private-s3cr3tt0ken/basic.ics", calendar_of(events), etag=etag)


# --- reading over HTTP -----------------------------------------------------------------


def test_a_feed_over_http_is_read_conditionally_and_imported_once(
    server: FeedServer, tmp_path: Path
) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    first = p.cycle()
    assert [s["Event"] for s in p.sessions()] == ["a@x"]
    assert first.calendar is not None and len(first.calendar.rows) == 1
    second = p.cycle()
    assert not second.plan
    _path, headers, status = server.log[-1]
    assert status == 304 and headers.get("If-None-Match") == '"v1"'
    assert headers.get("If-Modified-Since") == "Tue, 01 Dec 2026 09:00:00 GMT"
    assert len(p.sessions()) == 1
    # A new version of the feed: only the new booking is added.
    serve(server, booking("a@x", "20261208T100000"), booking("b@x", "20261209T100000"))
    p.cycle()
    assert [s["Event"] for s in p.sessions()] == ["a@x", "b@x"]


def test_redirects_are_followed(server: FeedServer, tmp_path: Path) -> None:
    url = server.serve("/new.ics", calendar(booking("a@x", "20261208T100000")))
    server.redirects["/old.ics"] = "/new.ics"
    p = Practice(tmp_path, url.replace("/new.ics", "/old.ics"))
    p.cycle()
    assert [s["Event"] for s in p.sessions()] == ["a@x"]
    assert [status for _, _, status in server.log] == [302, 200]


def test_webcal_addresses_are_read_over_https_names(tmp_path: Path) -> None:
    from sync.calendar.feeds import FeedSource

    source = FeedSource.of("webcal://p01-caldav.icloud.com/published/2/SECRET", Path)
    assert source.address == "https://p01-caldav.icloud.com/published/2/SECRET"
    assert source.label == "p01-caldav.icloud.com"


# --- the rows --------------------------------------------------------------------------


def test_rows_match_by_attendee_email_then_full_name(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(
        server,
        tmp_path,
        booking("a@x", "20261208T100000", "Massage", attendees=["BOB@example.com"]),
        booking("b@x", "20261209T100000", "Follow-up: ann lee"),
        booking("c@x", "20261210T100000", "Ann - first visit"),
        booking("d@x", "20261211T100000", "Intro call - J. Smith"),
        booking("e@x", "20261212T100000", "Ann Lee and Bob Stone"),
        booking("f@x", "20261213T100000", "Annabel"),
    )
    report = p.cycle()
    got = [(s["Client"], s["Date"], s["Notes"]) for s in p.sessions()]
    assert got == [
        ("Bob Stone", date(2026, 12, 8), "Massage"),
        ("Ann Lee", date(2026, 12, 9), "Follow-up: ann lee"),
        ("Ann", date(2026, 12, 10), "Ann - first visit"),
    ]
    assert report.calendar is not None
    assert report.calendar.unmatched == (
        "'Intro call - J. Smith' on Fri 11 Dec",
        "'Ann Lee and Bob Stone' on Sat 12 Dec",
        "'Annabel' on Sun 13 Dec",
    )
    text = p.bodies()
    assert "a booking matches no client: 'Intro call - J. Smith' on Fri 11 Dec" in text
    assert "a booking matches several clients (Ann Lee, Bob Stone)" in text
    # Reported once: the next cycles say nothing more about them.
    sent = len(p.sender.sent)
    p.cycle(NOW + timedelta(hours=1))
    assert len(p.sender.sent) == sent


def test_events_before_since_after_the_horizon_all_day_and_free_are_not_logged(
    server: FeedServer, tmp_path: Path
) -> None:
    p = practice_on(
        server,
        tmp_path,
        booking("old@x", "20261130T100000"),
        booking("in@x", "20261201T090000"),
        booking("far@x", "20270210T100000"),
        booking("free@x", "20261208T100000", transp="TRANSPARENT"),
        vevent("allday@x", "20261209", "Massage - Ann Lee", tzid=None, end="20261210", extra=())
        .replace("DTSTART:20261209", "DTSTART;VALUE=DATE:20261209")
        .replace("DTEND:20261210", "DTEND;VALUE=DATE:20261210"),
        horizon_days=30,
    )
    p.cycle()
    assert [s["Event"] for s in p.sessions()] == ["in@x"]


def test_a_recurring_series_logs_each_occurrence_with_its_own_event_id(
    server: FeedServer, tmp_path: Path
) -> None:
    series = booking(
        "weekly@x",
        "20261207T180000",
        "Group class - Bob Stone",
        extra=["RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE;TZID=Europe/London:20261214T180000"],
    )
    p = practice_on(server, tmp_path, series)
    p.cycle()
    assert [(s["Date"], s["Event"]) for s in p.sessions()] == [
        (date(2026, 12, 7), "weekly@x/20261207T180000Z"),
        (date(2026, 12, 21), "weekly@x/20261221T180000Z"),
    ]


def test_session_type_is_the_longest_type_name_in_the_title(tmp_path: Path) -> None:
    feed = tmp_path / "bookings.ics"
    feed.write_bytes(calendar(booking("a@x", "20261208T100000", "Massage 90 - Ann Lee")))
    p = Practice(tmp_path, str(feed))
    wb = openpyxl.load_workbook(p.harness.path)
    ws = wb.create_sheet("Session types")
    for row in (["Type", "Credits"], ["Massage", None], ["Massage 90", 2], ["Group", None]):
        ws.append(row)
    wb["Sessions"].cell(1, 6).value = "Type"
    wb.save(p.harness.path)
    p.cycle()
    assert [s["Type"] for s in p.sessions()] == ["Massage 90"]


# --- once only -------------------------------------------------------------------------


def test_a_deleted_row_is_not_imported_again(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    wb = openpyxl.load_workbook(p.harness.path)
    wb["Sessions"].delete_rows(2)
    wb.save(p.harness.path)
    report = p.cycle(NOW + timedelta(minutes=5))
    assert p.sessions() == []
    assert not report.plan.appends


def test_the_same_event_in_two_feeds_is_logged_once(tmp_path: Path) -> None:
    one, two = tmp_path / "one.ics", tmp_path / "two.ics"
    one.write_bytes(calendar(booking("a@x", "20261208T100000")))
    two.write_bytes(calendar(booking("a@x", "20261208T100000"), booking("b@x", "20261209T100000")))
    p = Practice(tmp_path, str(one))
    p.config = p.config.model_copy(
        update={"calendar": p.config.calendar.model_copy(update={"feeds": [str(one), str(two)]})}
    )
    p.cycle()
    assert [s["Event"] for s in p.sessions()] == ["a@x", "b@x"]
    # Gone from the first feed but still in the second: not cancelled.
    one.write_bytes(calendar())
    p.cycle(NOW + timedelta(hours=1))
    assert [s["Outcome"] for s in p.sessions()] == [None, None]
    # Gone from both: cancelled.
    two.write_bytes(calendar(booking("b@x", "20261209T100000")))
    p.cycle(NOW + timedelta(hours=2))
    assert [s["Outcome"] for s in p.sessions()] == ["Cancelled", None]


# --- changes after import --------------------------------------------------------------


def test_a_moved_booking_moves_its_row(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    serve(server, booking("a@x", "20261215T100000"))
    report = p.cycle(NOW + timedelta(hours=1))
    assert [s["Date"] for s in p.sessions()] == [date(2026, 12, 15)]
    assert report.calendar is not None and len(report.calendar.updates) == 1
    # Idle afterwards.
    assert not p.cycle(NOW + timedelta(hours=2)).plan


def test_a_date_the_practitioner_edited_is_theirs(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    p.edit(2, "Date", date(2026, 12, 10))
    serve(server, booking("a@x", "20261215T100000"))
    p.cycle(NOW + timedelta(hours=1))
    assert [s["Date"] for s in p.sessions()] == [date(2026, 12, 10)]


@pytest.mark.parametrize(
    ("read_at", "outcome", "status"),
    [
        (NOW + timedelta(hours=1), "Cancelled", "Not deducted"),  # days ahead: credit back
        (datetime(2026, 12, 7, 15, tzinfo=UTC), "Late cancel", "Deducted"),  # 19 hours before
    ],
)
def test_a_cancelled_booking_is_cancelled_or_late_cancelled(
    server: FeedServer, tmp_path: Path, read_at: datetime, outcome: str, status: str
) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    assert p.sessions()[0]["Status"] == "Deducted"
    serve(server, booking("a@x", "20261208T100000", status="CANCELLED"))
    p.cycle(read_at)
    row = p.sessions()[0]
    assert (row["Outcome"], row["Status"]) == (outcome, status)


def test_the_feed_s_own_cancellation_time_is_used_when_it_gives_one(
    server: FeedServer, tmp_path: Path
) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    cancelled = booking(
        "a@x", "20261208T100000", status="CANCELLED", extra=["LAST-MODIFIED:20261205T090000Z"]
    )
    serve(server, cancelled)
    p.cycle(datetime(2026, 12, 8, 9, tzinfo=UTC))  # read late, cancelled days before
    assert p.sessions()[0]["Outcome"] == "Cancelled"


def test_a_booking_gone_from_the_feed_before_it_starts_is_cancelled(
    server: FeedServer, tmp_path: Path
) -> None:
    p = practice_on(
        server, tmp_path, booking("a@x", "20261208T100000"), booking("b@x", "20261206T100000")
    )
    p.cycle()
    serve(server, booking("zzz@x", "20261220T100000", "Lunch", transp="TRANSPARENT"))
    p.cycle(datetime(2026, 12, 7, 12, tzinfo=UTC))  # b has happened; a is in 22 hours
    got = {s["Event"]: s["Outcome"] for s in p.sessions()}
    assert got == {"b@x": None, "a@x": "Late cancel"}


def test_an_outcome_the_practitioner_typed_wins(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    p.edit(2, "Outcome", "No-show")
    serve(server, booking("a@x", "20261208T100000", status="CANCELLED"))
    p.cycle(NOW + timedelta(hours=1))
    assert p.sessions()[0]["Outcome"] == "No-show"


def test_a_booking_put_back_is_no_longer_cancelled(server: FeedServer, tmp_path: Path) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    serve(server, booking("a@x", "20261208T100000", status="CANCELLED"))
    p.cycle(NOW + timedelta(hours=1))
    serve(server, booking("a@x", "20261208T100000", status="CONFIRMED"), etag='"v3"')
    p.cycle(NOW + timedelta(hours=2))
    row = p.sessions()[0]
    assert (row["Outcome"], row["Status"]) == (None, "Deducted")


# --- feeds that fail -------------------------------------------------------------------


def test_a_feed_going_away_and_coming_back(
    server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    before = p.sessions()
    feed = server.paths["/calendar/ical/private-s3cr3tt0ken/basic.ics"]
    feed.status = 503
    p.cycle(NOW + timedelta(hours=1))
    p.cycle(NOW + timedelta(hours=2))
    assert p.sessions() == before  # nothing imported is touched (not taken for cancelled)
    failures = [s for s in p.subjects() if "calendar feed" in s]
    assert failures == ["creditsheet: The calendar feed 127.0.0.1 cannot be read"]
    feed.status = 404  # the failure changes: one more alert
    p.cycle(NOW + timedelta(hours=3))
    assert len([s for s in p.subjects() if "calendar feed" in s]) == 2
    assert "copy the private address again" in p.bodies()
    feed.status = 200
    serve(server, booking("a@x", "20261208T100000"), booking("b@x", "20261209T100000"))
    p.cycle(NOW + timedelta(hours=4))
    assert [s["Event"] for s in p.sessions()] == ["a@x", "b@x"]
    assert len([s for s in p.subjects() if "calendar feed" in s]) == 2
    # The address is a secret: no log line and no email holds it, only its host.
    assert "s3cr3tt0ken" not in caplog.text
    assert "s3cr3tt0ken" not in p.bodies()
    assert "s3cr3tt0ken" not in str([m.as_string() for m in p.sender.sent])


def test_a_feed_that_is_not_a_calendar_is_reported_and_changes_nothing(
    server: FeedServer, tmp_path: Path
) -> None:
    p = practice_on(server, tmp_path, booking("a@x", "20261208T100000"))
    p.cycle()
    server.serve("/calendar/ical/private-s3cr3tt0ken/basic.ics", b"<html>Sign in</html>", etag=None)
    report = p.cycle(NOW + timedelta(hours=1))
    assert not report.plan
    assert report.feeds[0].error is not None and "iCalendar" in report.feeds[0].error
    assert len(p.sessions()) == 1


def test_a_missing_file_feed_is_reported(tmp_path: Path) -> None:
    p = Practice(tmp_path, str(tmp_path / "nowhere.ics"))
    report = p.cycle()
    assert report.feeds[0].error == "the file is not there"
    assert "The calendar feed nowhere.ics cannot be read" in p.subjects()[0]


# --- feeds as booking programs export them ---------------------------------------------


def test_a_calendly_booking_in_google_calendar_and_a_weekly_class(tmp_path: Path) -> None:
    p = Practice(tmp_path, str(FIXTURES / "calendly_in_google.ics"))
    report = p.cycle()
    got = [(s["Date"], s["Client"], s["Status"]) for s in p.sessions()]
    assert got == [
        (date(2026, 12, 7), "Bob Stone", "Deducted"),
        (date(2026, 12, 9), "Ann Lee", "Deducted"),  # by attendee email
        (date(2026, 12, 14), "Bob Stone", "Deducted"),  # the occurrence moved to 19:00
        (date(2026, 12, 28), "Bob Stone", "Deducted"),  # the 21st is removed (EXDATE)
    ]
    assert report.calendar is not None and report.calendar.unmatched == ()


def test_cal_com_bookings_cancelled_and_unmatched(tmp_path: Path) -> None:
    p = Practice(tmp_path, str(FIXTURES / "calcom_bookings.ics"))
    report = p.cycle()
    assert [(s["Date"], s["Client"], s["Notes"]) for s in p.sessions()] == [
        (date(2026, 12, 8), "Ann Lee", "Massage 90 between Jo Bloggs and Ann Lee")
    ]
    assert report.calendar is not None
    assert report.calendar.unmatched == (
        "'Intro call between Jo Bloggs and J. Smith' on Sat 12 Dec",
    )


def test_an_apple_calendar_evening_in_new_york_is_dated_in_the_practice_zone(
    tmp_path: Path,
) -> None:
    p = Practice(tmp_path, str(FIXTURES / "apple_icloud.ics"))
    p.cycle()
    assert [(s["Date"], s["Client"]) for s in p.sessions()] == [(date(2026, 12, 9), "Ann Lee")]
