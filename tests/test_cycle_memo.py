"""A running daemon's idle cycles: nothing re-read, re-worked or written while nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from sync.backends.xlsx import XlsxBackend
from sync.cli import cli
from sync.config import Config, load
from sync.cycle import CleanMemo, run_cycle

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def demo(tmp_path: Path) -> Config:
    config = tmp_path / "config.toml"
    config.write_text('[workbook]\npath = "practice.xlsx"\n[sync]\ntimezone = "Europe/London"\n')
    assert CliRunner().invoke(cli, ["init", "--demo", "--config", str(config)]).exit_code == 0
    return load(config)


def test_an_unchanged_workbook_reuses_the_last_clean_result(tmp_path: Path) -> None:
    config = demo(tmp_path)
    backend, memo = XlsxBackend(config.workbook_path), CleanMemo()
    first = run_cycle(config, backend, now=lambda: NOW, memo=memo)
    assert first.outcome.written and memo.result is None  # it wrote: not clean yet
    clean = run_cycle(config, backend, now=lambda: NOW, memo=memo)
    assert not clean.plan and memo.result is clean.result
    idle = run_cycle(config, backend, now=lambda: NOW, memo=memo)
    assert idle.result is clean.result and not idle.plan
    assert backend.read().tables is backend.read().tables  # the same bytes: no re-parse


def test_a_change_a_new_day_or_new_settings_work_it_out_again(tmp_path: Path) -> None:
    config = demo(tmp_path)
    backend, memo = XlsxBackend(config.workbook_path), CleanMemo()
    run_cycle(config, backend, now=lambda: NOW, memo=memo)
    clean = run_cycle(config, backend, now=lambda: NOW, memo=memo)

    tomorrow = run_cycle(config, backend, now=lambda: NOW + timedelta(days=1), memo=memo)
    assert tomorrow.result is not clean.result
    assert tomorrow.result.dashboard.today == (NOW + timedelta(days=1)).date()

    stricter = config.model_copy(
        update={"rules": config.rules.model_copy(update={"low_credit_threshold": 4})}
    )
    again = run_cycle(stricter, backend, now=lambda: NOW + timedelta(days=1), memo=memo)
    assert again.result is not tomorrow.result

    wb = openpyxl.load_workbook(config.workbook_path)
    wb["Sessions"].append([NOW.date(), "Anh Nguyen"])
    wb.save(config.workbook_path)
    edited = run_cycle(stricter, backend, now=lambda: NOW + timedelta(days=1), memo=memo)
    assert edited.plan and edited.outcome.written
    assert edited.result.rows_read["Sessions"] == clean.result.rows_read["Sessions"] + 1
