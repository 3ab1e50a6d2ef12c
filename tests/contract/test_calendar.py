"""The calendar import and appended rows, end to end, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sync.alerts import deliver
from sync.backends.base import AppendedCell, Backend, RowAppend, Snapshot, WriteOutcome, WritePlan
from sync.calendar.importer import CalendarImport
from sync.config import Config
from sync.cycle import Cycle, run_cycle
from sync.store import Store
from tests.calendar_support import calendar, sessions_for
from tests.contract.harness import Harness
from tests.fakesender import RecordingSender

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
CLIENTS = [["Client", "Email", "Billing"], ["Ann Lee", "ann@example.com", "Package"]]
PACKAGES = [
    ["Package ID", "Client", "Package", "Sessions", "Purchased"],
    [None, "Ann Lee", "5-Session Pack", 5, date(2026, 11, 1)],
]
SESSIONS = [["Date", "Client", "Package ID", "Outcome", "Notes"]]


def config(feed: Path) -> Config:
    return Config.model_validate(
        {
            "sync": {"timezone": "Europe/London"},
            "email": {"to": ["me@example.com"]},
            "calendar": {"feeds": [str(feed)], "since": "2026-12-01"},
        }
    )


def cycle(cfg: Config, backend: Backend, store: Store) -> Cycle:
    calendar_import = CalendarImport.for_config(cfg, store.calendar)
    return run_cycle(cfg, backend, now=NOW, calendar=calendar_import)


def sessions(harness: Harness) -> list[list[object]]:
    return harness.values("Sessions")


def col(rows: list[list[object]], name: str) -> int:
    return rows[0].index(name)


def test_appended_rows_land_after_the_last_row_with_their_colors(harness: Harness) -> None:
    backend = harness.create(
        {"Sessions": [["Date", "Client", "Status"], [date(2026, 12, 1), "Ann Lee", None]]}
    )
    snapshot: Snapshot = backend.read()
    plan = WritePlan(
        appends=(
            RowAppend(
                "Sessions",
                3,
                (
                    AppendedCell(0, date(2026, 12, 8), "date"),
                    AppendedCell(1, '=HYPERLINK("x")', "text"),
                    AppendedCell(2, "Rejected", "text", "#F4C7C3"),
                ),
            ),
            RowAppend("Sessions", 4, (AppendedCell(0, date(2026, 12, 9), "date"),)),
        )
    )
    outcome = backend.write(snapshot, plan)
    assert outcome.written and not outcome.retry_next_cycle
    rows = harness.values("Sessions")
    assert rows[2] == [date(2026, 12, 8), '=HYPERLINK("x")', "Rejected"]
    assert rows[3] == [date(2026, 12, 9)]
    assert harness.color("Sessions", 3, 3) == "#F4C7C3"
    assert harness.is_text("Sessions", 3, 2)


def test_the_sixth_booking_of_a_five_session_pack_is_rejected_at_import(
    harness: Harness, tmp_path: Path
) -> None:
    feed = tmp_path / "bookings.ics"
    feed.write_bytes(calendar(*sessions_for("Ann Lee", [8, 9, 10, 11, 12, 13])))
    cfg = config(feed)
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
    sender = RecordingSender()
    with Store(tmp_path / "state.sqlite") as store:
        report = cycle(cfg, backend, store)
        assert report.outcome.written
        deliver(report.result, store, sender, cfg, NOW)
        rows = sessions(harness)
        status, event = col(rows, "Status"), col(rows, "Event")
        assert [r[status] for r in rows[1:]] == ["Deducted"] * 5 + ["Rejected"]
        assert rows[6][:2] == [date(2026, 12, 13), "Ann Lee"]
        assert rows[6][col(rows, "Notes")] == "Massage - Ann Lee"
        assert rows[6][event] == "booking-ann-13@cal.example"
        assert rows[6][col(rows, "Sync note")] == "no package with credits left on 2026-12-13"
        assert harness.color("Sessions", 7, status + 1) == "#F4C7C3"
        assert len(sender.sent) == 1
        body = sender.sent[0].get_body(("plain",))
        assert body is not None
        assert "Ann Lee's session on Sun 13 Dec was rejected" in body.get_content()
        # The next cycles log nothing again and send nothing again.
        again = cycle(cfg, backend, store)
        deliver(again.result, store, sender, cfg, NOW)
        assert not again.plan and len(sessions(harness)) == 7
        assert len(sender.sent) == 1


class KilledAfterWrite:
    """The real backend, and the process killed right after its write landed."""

    def __init__(self, real: Backend) -> None:
        self.real = real
        self.location = real.location

    def read(self) -> Snapshot:
        return self.real.read()

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        self.real.write(snapshot, plan)
        raise SystemExit("killed")

    def prepare(self, layout: object) -> list[str]:
        raise AssertionError("not used")


def test_killed_between_the_write_and_the_record_no_row_is_doubled(
    harness: Harness, tmp_path: Path
) -> None:
    feed = tmp_path / "bookings.ics"
    feed.write_bytes(calendar(*sessions_for("Ann Lee", [8, 9])))
    cfg = config(feed)
    backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
    with Store(tmp_path / "state.sqlite") as store:
        with pytest.raises(SystemExit):
            cycle(cfg, KilledAfterWrite(backend), store)  # type: ignore[arg-type]
        assert store.calendar.events() == {}
        assert len(sessions(harness)) == 3
        report = cycle(cfg, backend, store)
        assert not report.plan.appends
        assert len(sessions(harness)) == 3
        assert set(store.calendar.events()) == {
            "booking-ann-8@cal.example",
            "booking-ann-9@cal.example",
        }


def test_a_deleted_imported_row_stays_deleted(harness: Harness, tmp_path: Path) -> None:
    feed = tmp_path / "bookings.ics"
    feed.write_bytes(calendar(*sessions_for("Ann Lee", [8, 9])))
    cfg = config(feed)
    with Store(tmp_path / "state.sqlite") as store:
        backend = harness.create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
        cycle(cfg, backend, store)
        rows = sessions(harness)
        assert len(rows) == 3
        # The practitioner deletes the first imported row (the tab is made again without it).
        backend = harness.create(
            {
                "Clients": harness_rows(harness, "Clients"),
                "Packages": harness_rows(harness, "Packages"),
                "Sessions": [rows[0], rows[2]],
            }
        )
        report = cycle(cfg, backend, store)
        assert not report.plan.appends
        assert [r[col(rows, "Event")] for r in sessions(harness)[1:]] == [
            "booking-ann-9@cal.example"
        ]


def harness_rows(harness: Harness, tab: str) -> list[list[object]]:
    return harness.values(tab)
