"""A running daemon's idle cycles: nothing re-read, re-worked or written while nothing changed."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import requests
from click.testing import CliRunner

from rules.model import Result
from sync import bootstrap
from sync.backends.base import Backend
from sync.backends.google import GoogleBackend
from sync.backends.xlsx import XlsxBackend
from sync.cli import cli
from sync.config import Config, load
from sync.cycle import CleanMemo, Cycle, collector_paused, run_cycle
from sync.daemon import Daemon
from tests.contract.test_contract import CLIENTS, PACKAGES, SESSIONS
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@dataclass
class Kept:
    """What a daemon does with the memo: gives each cycle the last one's, keeps the new."""

    memo: CleanMemo | None = field(default_factory=CleanMemo)

    @property
    def result(self) -> Result | None:
        return self.memo.result if self.memo is not None else None

    def cycle(self, config: Config, backend: Backend, *, now: datetime) -> Cycle:
        report = run_cycle(config, backend, now=now, memo=self.memo)
        self.memo = report.memo
        return report


def demo(tmp_path: Path) -> Config:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n')
    assert CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)]).exit_code == 0
    return load(config)


def test_an_unchanged_workbook_reuses_the_last_clean_result(tmp_path: Path) -> None:
    config = demo(tmp_path)
    backend, memo = XlsxBackend(config.workbook_path), Kept()
    first = memo.cycle(config, backend, now=NOW)
    assert first.outcome.written and memo.result is None  # it wrote: not clean yet
    clean = memo.cycle(config, backend, now=NOW)
    assert not clean.plan and memo.result is clean.result
    idle = memo.cycle(config, backend, now=NOW)
    assert idle.result is clean.result and not idle.plan
    assert backend.read().tables is backend.read().tables  # the same bytes: no re-parse


def test_a_cycle_never_changes_the_memo_it_is_given(tmp_path: Path) -> None:
    config = demo(tmp_path)
    backend = XlsxBackend(config.workbook_path)
    run_cycle(config, backend, now=NOW)
    given = CleanMemo()
    clean = run_cycle(config, backend, now=NOW, memo=given)
    assert given == CleanMemo()
    memo = clean.memo  # clean: a new one, on the report
    assert memo is not given and memo is not None and memo.result is clean.result
    key, result = memo.key, memo.result
    tomorrow = run_cycle(config, backend, now=NOW + timedelta(days=1), memo=memo)
    assert memo.key == key and memo.result is result
    assert tomorrow.plan and tomorrow.memo is memo  # it wrote: the one given is kept
    with pytest.raises(FrozenInstanceError):
        memo.result = None  # type: ignore[misc]


def test_the_daemon_keeps_each_cycles_memo_for_the_next(tmp_path: Path) -> None:
    config = demo(tmp_path)
    assert config.source is not None
    daemon = Daemon(config.source, now=lambda: NOW)
    resources = bootstrap.resources(config)
    try:
        daemon._cycle(resources)
        clean = daemon._cycle(resources)
        idle = daemon._cycle(resources)
    finally:
        resources.close()
    assert clean is not None and idle is not None and not clean.plan
    assert idle.result is clean.result and daemon.memo is idle.memo


def test_a_change_a_new_day_or_new_settings_work_it_out_again(tmp_path: Path) -> None:
    config = demo(tmp_path)
    backend, memo = XlsxBackend(config.workbook_path), Kept()
    memo.cycle(config, backend, now=NOW)
    clean = memo.cycle(config, backend, now=NOW)

    tomorrow = memo.cycle(config, backend, now=NOW + timedelta(days=1))
    assert tomorrow.result is not clean.result
    assert tomorrow.result.dashboard.today == (NOW + timedelta(days=1)).date()

    stricter = config.model_copy(
        update={"rules": config.rules.model_copy(update={"low_credit_threshold": 4})}
    )
    again = memo.cycle(stricter, backend, now=NOW + timedelta(days=1))
    assert again.result is not tomorrow.result

    wb = openpyxl.load_workbook(config.workbook_path)
    wb["Sessions"].append([NOW.date(), "Anh Nguyen"])
    wb.save(config.workbook_path)
    edited = memo.cycle(stricter, backend, now=NOW + timedelta(days=1))
    assert edited.plan and edited.outcome.written
    assert edited.result.rows_read["Sessions"] == clean.result.rows_read["Sessions"] + 1


# --- Google Sheets: the read's digest ---------------------------------------------------

GOOGLE_CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})
NOTES = [["Anything"], ["the sync never reads this"]]


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    made = FakeSheets(seed=7)
    with made.mocked():
        yield made


def settled(fake: FakeSheets) -> tuple[str, GoogleBackend, Kept, Cycle]:
    """A practice synced once, then read clean: the memo holds that clean result."""
    tabs = {"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS, "Notes": NOTES}
    rows = {title: [list(r) for r in tab] for title, tab in tabs.items()}
    sid = fake.create_spreadsheet("Practice", rows, row_count=40, column_count=10)
    backend, memo = GoogleBackend(sid, endpoint=GOOGLE_BASE_URL, sleep=lambda s: None), Kept()
    first = google_cycle(backend, memo)
    assert first.outcome.written and memo.result is None
    clean = google_cycle(backend, memo)
    assert not clean.plan and memo.result is clean.result
    return sid, backend, memo, clean


def google_cycle(backend: GoogleBackend, memo: Kept) -> Cycle:
    return memo.cycle(GOOGLE_CONFIG, backend, now=NOW)


def kinds(fake: FakeSheets) -> list[str]:
    return [str(r.kind).rsplit(".", 1)[-1] for r in fake.requests]


def test_an_idle_google_cycle_reuses_the_last_clean_result(fake: FakeSheets) -> None:
    _, backend, memo, clean = settled(fake)
    fake.reset_log()
    idle = google_cycle(backend, memo)
    assert idle.result is clean.result and not idle.plan and not idle.outcome.written
    assert kinds(fake) == ["batchGet"]  # still read every cycle, and nothing more
    again = backend.read()
    assert again.digest is not None and again.digest == backend.read().digest
    assert backend.read().tables is again.tables  # the same answer: not decoded again


def set_time_zone(sid: str, zone: str) -> None:
    """As a person changes File > Settings > Time zone."""
    body = {
        "requests": [
            {
                "updateSpreadsheetProperties": {
                    "properties": {"timeZone": zone},
                    "fields": "timeZone",
                }
            }
        ]
    }
    url = f"{GOOGLE_BASE_URL}/v4/spreadsheets/{sid}:batchUpdate"
    requests.post(url, json=body, timeout=10).raise_for_status()


def grow_grid(sid: str, fake: FakeSheets) -> None:
    """More (blank) rows at the bottom of a tab: no value changes, only its grid."""
    sheet_id = fake.sheet_properties(sid, "Notes")["sheetId"]
    body = {"requests": [{"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS",
                                              "length": 5}}]}  # fmt: skip
    url = f"{GOOGLE_BASE_URL}/v4/spreadsheets/{sid}:batchUpdate"
    requests.post(url, json=body, timeout=10).raise_for_status()


EDITS: dict[str, Callable[[FakeSheets, str], None]] = {
    "a value": lambda f, sid: f.edit_cell(sid, "Sessions", "D3", "Cancelled"),
    "a value the rules never read": lambda f, sid: f.edit_cell(sid, "Notes", "A2", "changed"),
    "a typed value cleared": lambda f, sid: f.set_values(sid, "Clients", "B2", [[None]]),
    "a renamed tab": lambda f, sid: f.rename_sheet(sid, "Notes", "Old notes"),
    "a tab renamed in case only": lambda f, sid: f.rename_sheet(sid, "Notes", "NOTES"),
    "a new tab": lambda f, sid: f.add_sheet(sid, "Templates", [["Template", "Sessions"]]),
    "an inserted row": lambda f, sid: f.insert_rows(sid, "Sessions", 3),
    "a bigger grid": lambda f, sid: grow_grid(sid, f),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_any_edit_to_any_google_tab_works_it_out_again(fake: FakeSheets, edit: str) -> None:
    sid, backend, memo, clean = settled(fake)
    before = backend.read().digest
    EDITS[edit](fake, sid)
    if edit == "a new tab":
        backend.clock = lambda: 1e9  # the optional tab is looked for once the metadata ages
    edited = google_cycle(backend, memo)
    assert edited.result is not clean.result
    assert backend.read().digest != before
    # Whatever it had to write is written; once clean again, idle cycles reuse that result.
    while google_cycle(backend, memo).plan:
        pass
    settled_again = memo.result
    assert settled_again is not None and settled_again is not clean.result
    assert google_cycle(backend, memo).result is settled_again


def test_a_written_edit_is_never_skipped_by_the_memo(fake: FakeSheets) -> None:
    sid, backend, memo, _ = settled(fake)
    assert fake.values(sid, "Sessions")[2][4] == "Deducted"
    fake.edit_cell(sid, "Sessions", "D3", "Cancelled")  # Ann's no-show: no longer charged
    edited = google_cycle(backend, memo)
    assert edited.plan and edited.outcome.written
    assert fake.values(sid, "Sessions")[2][4] == "Not deducted"


def test_a_new_google_time_zone_works_it_out_again(fake: FakeSheets) -> None:
    sid, backend, memo, clean = settled(fake)
    set_time_zone(sid, "America/New_York")
    backend.metadata(refresh=True)  # as a cycle does when the metadata is read again
    again = google_cycle(backend, memo)
    assert again.today == clean.today  # the configured zone fixes "today": only the digest
    assert again.result is not clean.result
    assert backend.read().timezone == "America/New_York"


def test_the_garbage_collector_is_back_on_after_the_rules_even_when_they_fail() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a rule crashed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "left off when it was off before"
    finally:
        gc.enable()
