"""Google: the calendar import's rows go in the cycle's one batchUpdate, after the
tab's last row as it is when the batch is applied."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from rules.values import serial_to_date
from sync.backends.base import WorkbookUnavailable
from sync.backends.google import GoogleBackend
from sync.backends.google.client import RetryPolicy
from sync.calendar.importer import CalendarImport
from sync.config import Config
from sync.cycle import Cycle, run_cycle
from sync.store import Store
from tests.calendar_support import calendar, sessions_for
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
CLIENTS = [["Client", "Email", "Billing"], ["Ann Lee", "ann@example.com", "Package"]]
PACKAGES = [
    ["Package ID", "Client", "Package", "Sessions", "Purchased"],
    [None, "Ann Lee", "5-Session Pack", 5, date(2026, 11, 1)],
]
SESSIONS = [
    ["Date", "Client", "Package ID", "Outcome", "Notes"],
    [date(2026, 12, 2), "Ann Lee", None, None, "typed by hand"],
]


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    made = FakeSheets(seed=5)
    with made.mocked():
        yield made


class Setup:
    def __init__(self, fake: FakeSheets, folder: Path, days: list[int]) -> None:
        self.fake = fake
        rows: dict[str, Any] = {"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS}
        self.sid = fake.create_spreadsheet(
            "Practice", {k: [list(r) for r in v] for k, v in rows.items()}, row_count=5
        )
        self.backend = GoogleBackend(
            self.sid,
            endpoint=GOOGLE_BASE_URL,
            sleep=lambda s: None,
            policy=RetryPolicy(attempts=2, total_seconds=1),
        )
        feed = folder / "bookings.ics"
        feed.write_bytes(calendar(*sessions_for("Ann Lee", days)))
        self.config = Config.model_validate(
            {
                "sync": {"timezone": "Europe/London"},
                "calendar": {"feeds": [str(feed)], "since": "2026-12-01"},
            }
        )
        self.store = Store(folder / "state.sqlite")

    def cycle(self) -> Cycle:
        calendar_import = CalendarImport.for_config(self.config, self.store.calendar)
        return run_cycle(self.config, self.backend, now=NOW, calendar=calendar_import)

    def sessions(self) -> list[list[Any]]:
        rows = self.fake.values(self.sid, "Sessions")
        return [
            [serial_to_date(r[0]) if isinstance(r[0], int | float) else r[0], *r[1:]] for r in rows
        ]


def test_appended_rows_and_the_cycle_s_cells_go_in_one_batch_update(
    fake: FakeSheets, tmp_path: Path
) -> None:
    s = Setup(fake, tmp_path, [8, 9, 10, 11, 12, 13])  # 6 rows: past the grid's 5
    fake.reset_log()
    report = s.cycle()
    assert report.outcome.written and not report.outcome.retry_next_cycle
    assert len(fake.requests_of("batchUpdate")) == 1
    rows = s.sessions()
    status = rows[0].index("Status")
    assert rows[1][status] == "Deducted"  # the hand-typed row: a cell of the same write
    assert [r[status] for r in rows[2:]] == ["Deducted"] * 4 + ["Rejected"] * 2
    assert rows[7][0] == date(2026, 12, 13)
    packages = fake.values(s.sid, "Packages")
    assert packages[1][0] == "P-0001"
    assert not s.cycle().plan


def test_a_refused_write_leaves_neither_the_rows_nor_the_cells(
    fake: FakeSheets, tmp_path: Path
) -> None:
    s = Setup(fake, tmp_path, [8, 9])
    before = {tab: fake.values(s.sid, tab) for tab in ("Clients", "Packages", "Sessions")}
    fake.faults.fail(400, kind="batchUpdate")
    report = s.cycle()
    assert not report.outcome.written
    assert {tab: fake.values(s.sid, tab) for tab in before} == before
    assert s.store.calendar.events() == {}
    # The next cycle writes it all, once.
    s.cycle()
    assert [r[-3] for r in s.sessions()[2:]] == [
        "booking-ann-8@cal.example",
        "booking-ann-9@cal.example",
    ]
    assert not s.cycle().plan


def test_a_row_added_between_read_and_write_is_not_written_over(
    fake: FakeSheets, tmp_path: Path
) -> None:
    s = Setup(fake, tmp_path, [8])

    def person(f: FakeSheets) -> None:
        f.set_values(s.sid, "Sessions", "A3", [["2026-12-03", "Ann Lee", None, None, "typed"]])

    fake.between_requests(person, kind="values.batchGet")  # right after the cycle's read
    report = s.cycle()
    assert report.outcome.written
    rows = s.sessions()
    assert rows[2][:5] == ["2026-12-03", "Ann Lee", "", "", "typed"]
    event = rows[0].index("Event")
    assert rows[3][0] == date(2026, 12, 8) and rows[3][event] == "booking-ann-8@cal.example"
    assert rows[3][rows[0].index("Status")] == "Deducted"
    # The next cycle decides the person's row too, and logs nothing twice.
    again = s.cycle()
    assert not again.plan.appends
    assert len(s.sessions()) == 4


def test_a_header_changed_between_read_and_write_holds_the_rows_for_the_next_cycle(
    fake: FakeSheets, tmp_path: Path
) -> None:
    s = Setup(fake, tmp_path, [8])
    fake.between_requests(
        lambda f: f.edit_cell(s.sid, "Sessions", "E1", "Memo"), kind="values.batchGet"
    )
    report = s.cycle()
    assert report.outcome.retry_next_cycle
    assert len(s.sessions()) == 2
    assert s.store.calendar.events() == {}
    again = s.cycle()
    assert len(again.plan.appends) == 1
    rows = s.sessions()
    assert len(rows) == 3 and rows[2][rows[0].index("Event")] == "booking-ann-8@cal.example"
    assert set(s.store.calendar.events()) == {"booking-ann-8@cal.example"}


def test_a_write_that_landed_but_got_no_answer_is_not_sent_again(
    fake: FakeSheets, tmp_path: Path
) -> None:
    s = Setup(fake, tmp_path, [8, 9])
    fake.faults.drop(kind="batchUpdate", applied=True)
    with pytest.raises(WorkbookUnavailable):
        s.cycle()
    assert len(fake.requests_of("batchUpdate")) == 1  # appendCells is not safe to repeat
    assert len(s.sessions()) == 4  # the rows landed, once
    assert s.store.calendar.events() == {}
    report = s.cycle()  # finds them by their Event cells: nothing is appended again
    assert not report.plan.appends
    assert len(s.sessions()) == 4
    assert set(s.store.calendar.events()) == {
        "booking-ann-8@cal.example",
        "booking-ann-9@cal.example",
    }


@pytest.mark.parametrize(("status", "sends"), [(503, 1), (429, 2)])
def test_an_appending_write_is_sent_again_only_after_a_quota_refusal(
    fake: FakeSheets, tmp_path: Path, status: int, sends: int
) -> None:
    s = Setup(fake, tmp_path, [8])
    fake.faults.fail(status, kind="batchUpdate", applied=status != 429)
    if status == 429:
        s.cycle()
    else:
        with pytest.raises(WorkbookUnavailable):
            s.cycle()
    assert len(fake.requests_of("batchUpdate")) == sends
    s.cycle()
    assert len(s.sessions()) == 3  # the hand-typed row and the booking, once
