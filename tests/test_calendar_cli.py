"""The calendar import through the CLI: sync, a dry run, check and status; the feed's
address (a secret) never in their output, only its host."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sync.cli import cli
from tests.calendar_support import calendar, feed_server, vevent
from tests.contract.harness import XlsxHarness
from tests.contract.test_calendar import CLIENTS, PACKAGES, SESSIONS

SECRET = "/calendar/ical/ann%40example.com/private-0123456789abcdef/basic.ics"


def write_config(folder: Path, feed: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        '[workbook]\npath = "practice.xlsx"\n\n[sync]\ntimezone = "Europe/London"\n\n'
        '[email]\nto = ["me@example.com"]\n\n'
        f'[calendar]\nfeeds = ["{feed}"]\nhorizon_days = 3650\n'
    )
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_sync_check_and_status_show_the_feed_by_its_host_only(tmp_path: Path) -> None:
    XlsxHarness(tmp_path).create({"Clients": CLIENTS, "Packages": PACKAGES, "Sessions": SESSIONS})
    with feed_server() as server:
        url = server.serve(
            SECRET,
            calendar(
                vevent("a@x", "20300108T100000", "Massage", attendees=["ann@example.com"]),
                vevent("b@x", "20300109T100000", "Intro call - J. Smith"),
            ),
        )
        config = str(write_config(tmp_path, url))

        code, out = invoke("sync", "--dry-run", "--config", config)
        assert code == 0, out
        assert (
            "Sessions!A2: new row (2030-01-08, Ann Lee, P-0001, Massage, a@x, Deducted, "
            "P-0001: 4 of 5 left)" in out
        )
        assert "calendar:    1 booking logged, 0 updated, 1 not matched; 1 feed read" in out

        code, out = invoke("check", "--config", config)
        assert code == 0, out
        assert (
            "ok: calendar feed 127.0.0.1 can be read: 2 upcoming bookings in the next "
            "3650 days, 1 matching a client" in out
        )
        assert "note: 'Intro call - J. Smith' on Wed 09 Jan 10:00 matches no client" in out
        outputs = [out]

        code, out = invoke("sync", "--json", "--config", config)
        assert code == 0, out
        figures = json.loads(out)["calendar"]
        assert figures["bookings_logged"] == 1
        assert figures["feeds"] == [{"feed": "127.0.0.1", "ok": True, "bookings": 2, "error": None}]
        outputs.append(out)

        code, out = invoke("status", "--config", config)
        assert code == 0, out
        assert "calendar feeds:" in out and "127.0.0.1: read " in out and "2 bookings" in out
        outputs.append(out)

        server.paths[SECRET].status = 500
        code, out = invoke("check", "--config", config)
        assert code == 2, out
        assert "problem: calendar feed 127.0.0.1 cannot be read: it did not answer usefully" in out
        outputs.append(out)
        code, out = invoke("sync", "--config", config)
        assert code == 0, out
        outputs.append(out)
        code, out = invoke("status", "--config", config)
        assert "127.0.0.1: FAILED" in out
        outputs.append(out)
    for text in outputs:
        assert "private-0123456789abcdef" not in text
    for eml in (tmp_path / "outbox").glob("*.eml"):
        assert b"private-0123456789abcdef" not in eml.read_bytes()
    state = (tmp_path / "creditsheet-state.sqlite").read_bytes()
    assert b"private-0123456789abcdef" not in state


def test_a_bad_feed_in_the_config_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "ftp://example.com/x.ics")
    code, out = invoke("check", "--config", str(config))
    assert code == 2
    assert "[calendar] feeds" in out and "ftp://" in out


def test_the_demo_logs_the_bookings_of_the_ics_file_beside_its_workbook(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sync]\ntimezone = "Europe/London"\n\n[email]\nto = ["me@example.com"]\n\n'
        '[calendar]\nfeeds = ["bookings.ics"]\n'
    )
    code, out = invoke("init", "--demo", "--config", str(config))
    assert code == 0, out
    assert "wrote the demo's bookings to bookings.ics ([calendar] feeds)" in out
    assert (tmp_path / "bookings.ics").exists()
    code, out = invoke("sync", "--config", str(config))
    assert code == 0, out
    assert "calendar:    6 bookings logged, 0 updated, 1 not matched; 1 feed read" in out
    import openpyxl

    ws = openpyxl.load_workbook(tmp_path / "practice.xlsx")["Sessions"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:9] == [
        "Date",
        "Client",
        "Package ID",
        "Outcome",
        "Type",
        "Notes",
        "Event",
        "Status",
        "Sync note",
    ]
    maya = [r for r in rows if r[header.index("Event")] and r[1] == "Maya Patel"]
    assert [r[header.index("Status")] for r in maya] == ["Deducted", "Deducted", "Rejected"]
    code, out = invoke("sync", "--config", str(config))
    assert "calendar:    0 bookings logged, 0 updated, 1 not matched; 1 feed read" in out
    assert "cells:       0 changed" in out
