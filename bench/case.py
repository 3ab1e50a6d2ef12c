"""One measurement in a fresh process, printed as one JSON line.

    python -m bench.case make-xlsx 100000 DIR     # write DIR/unsynced.xlsx (not timed)
    python -m bench.case sync-xlsx DIR/work.xlsx [--steady]  # one cycle: phases, peak RSS
    python -m bench.case add-session DIR/work.xlsx
    python -m bench.case floor-xlsx DIR/work.xlsx # one python-calamine read of every cell
    python -m bench.case seed-google 100000 DIR [--synced]  # DIR/seed.json for the Sheets fake
    python -m bench.case sync-google URL [--add-session]
    python -m bench.case calendar 2600             # read a booking feed of 2,600 bookings

A fresh process per measurement keeps each peak memory figure its own.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import requests
from python_calamine import CalamineWorkbook, SheetTypeEnum

from bench.generate import TODAY, cells, one_more_session, practice
from rules.values import date_to_serial
from sync.backends.base import AppendedCell, RowAppend, WritePlan
from sync.backends.google import GoogleBackend
from sync.backends.xlsx import XlsxBackend
from sync.calendar.parse import bookings as read_bookings
from sync.config import Config
from sync.cycle import run_cycle

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
CONFIG = Config.model_validate({"sync": {"timezone": "Europe/London"}})


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_xlsx(sessions: int, folder: Path) -> dict[str, object]:
    tabs = practice(sessions)
    wb = openpyxl.Workbook(write_only=True)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(folder / "unsynced.xlsx")
    return {"cells": cells(tabs), "bytes": (folder / "unsynced.xlsx").stat().st_size}


def sync_xlsx(path: Path, *, steady: bool = False) -> dict[str, object]:
    """One cycle; ``steady``: the second of two in one process, as a running daemon's."""
    backend, memo = XlsxBackend(path), None
    if steady:
        memo = run_cycle(CONFIG, backend, now=NOW, memo=memo).memo
    wall, cpu = time.perf_counter(), time.process_time()
    cycle = run_cycle(CONFIG, backend, now=NOW, memo=memo)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "phases": cycle.phases,
        "phases_cpu": cycle.cpu,
        "cells_written": cycle.plan.size if cycle.outcome.written else 0,
        "written": cycle.outcome.written,
        "reason": cycle.outcome.reason,
        "requests": 1 if cycle.outcome.written else 0,
        "rows": sum(cycle.rows_read.values()),
    }


def add_session(path: Path) -> dict[str, object]:
    """One session typed below the last row, written in place (not timed)."""
    backend = XlsxBackend(path)
    snapshot = backend.read()
    clients = snapshot.tables["Clients"]
    sessions = snapshot.tables["Sessions"]
    row = one_more_session({"Clients": [[], [clients.rows[0][0]]]})
    kinds = {0: "date"}
    cells = tuple(
        AppendedCell(col, value, kinds.get(col, "text"))  # type: ignore[arg-type]
        for col, value in enumerate(row)
        if value is not None
    )
    appended = RowAppend("Sessions", len(sessions.rows) + 2, cells)
    outcome = backend.write(snapshot, WritePlan(appends=(appended,)))
    assert outcome.written, outcome.reason
    return {}


def floor_xlsx(path: Path) -> dict[str, object]:
    """Reading every worksheet's cells once with python-calamine: what any sync must do."""
    wall, cpu = time.perf_counter(), time.process_time()
    book = CalamineWorkbook.from_path(str(path))
    cells = 0
    for meta in book.sheets_metadata:
        if meta.typ == SheetTypeEnum.WorkSheet:
            cells += sum(len(r) for r in book.get_sheet_by_name(meta.name).to_python())
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "cells": cells,
        "peak_rss": peak_rss_mib(),
    }


def seed_google(sessions: int, folder: Path, *, synced: bool = False) -> dict[str, object]:
    """A seed file for ``python -m tests.sheetsfake`` (dates as serial numbers, as Google has).

    ``synced``: the workbook as a first sync leaves it (its computed values and the
    Dashboard, see :func:`synced_sheets`), for sizes where the fake itself would take
    too long to carry out a first sync's write.
    """
    tabs = practice(sessions)
    sheets = {
        title: [[date_to_serial(v) if isinstance(v, date) else v for v in row] for row in rows]
        for title, rows in tabs.items()
    }
    if synced:
        sheets = synced_sheets(sessions, folder)
    seed = {"spreadsheets": [{"id": "bench", "title": "Practice", "sheets": sheets}]}
    (folder / "seed.json").write_text(json.dumps(seed))
    return {"cells": cells(tabs)}


def synced_sheets(sessions: int, folder: Path) -> dict[str, list[list[object]]]:
    """Every tab's values as a first sync leaves them, dates as serial numbers.

    Worked out by the product itself: the practice is written as an xlsx
    workbook, one cycle of the xlsx backend syncs it, and its read gives the
    values back (the colors are not carried over: the seed holds values only).
    """
    make_xlsx(sessions, folder)
    synced = folder / "seed.xlsx"
    shutil.copy(folder / "unsynced.xlsx", synced)
    backend = XlsxBackend(synced)
    cycle = run_cycle(CONFIG, backend, now=NOW)
    assert cycle.outcome.written, cycle.outcome.reason
    return {
        title: [[_as_google(v) for v in row] for row in [table.header, *table.rows]]
        for title, table in backend.read().tables.items()
    }


def _as_google(value: object) -> object:
    """A cell read from xlsx as Google holds it: dates as serial numbers, whole
    numbers as integers, empty cells as nothing."""
    if isinstance(value, date):
        return date_to_serial(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None if value == "" else value


def sync_google(url: str, *, add_session: bool, steady: bool = False) -> dict[str, object]:
    """One cycle with metadata cached, as in a running daemon; ``steady``: after a first."""
    backend, memo = GoogleBackend("bench", endpoint=url), None
    backend.metadata()
    if steady:
        memo = run_cycle(CONFIG, backend, now=NOW, memo=memo).memo
    seen: list[tuple[str, bytes, bytes]] = []
    session = backend.client().session
    session.hooks["response"].append(
        lambda r, *args, **kwargs: seen.append(
            (r.request.method or "", _body(r.request), r.content)
        )
    )
    if add_session:
        row = one_more_session({"Clients": [[], ["Client 000000"]]})
        requests.post(
            f"{url}/v4/spreadsheets/bench/values/Sessions!A1:append",
            params={"valueInputOption": "RAW"},
            json={"values": [[date_to_serial(TODAY), str(row[1]), "", str(row[3])]]},
            timeout=60,
        ).raise_for_status()
        seen.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    cycle = run_cycle(CONFIG, backend, now=NOW, memo=memo)
    out: dict[str, object] = {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "phases": cycle.phases,
        "phases_cpu": cycle.cpu,
        "written": cycle.outcome.written,
        "reason": cycle.outcome.reason,
        "requests": len(seen),
        "sent": sum(len(body) for _, body, _ in seen),
        "received": sum(len(content) for _, _, content in seen),
    }
    # The floor: decode what was read, encode what was written (the JSON work any
    # client must do for this cycle).
    floor = time.process_time()
    json.loads(seen[0][2])
    for method, body, _ in seen[1:]:
        if method == "POST" and body:
            json.dumps(json.loads(body))
    out["floor"] = time.process_time() - floor
    return out


def booking_feed(bookings: int) -> bytes:
    """A booking calendar's feed with about this many bookings in the import window, as
    a busy practice's booking page publishes it: single bookings with an attendee and
    LAST-MODIFIED, in the practice's time zone (a VTIMEZONE), and one in ten of them
    weekly series (eight weeks each, one week cancelled: an EXDATE)."""
    rnd = random.Random(7)
    zone = "Europe/London"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//creditsheet bench//EN",
        "BEGIN:VTIMEZONE",
        f"TZID:{zone}",
        "BEGIN:STANDARD",
        "DTSTART:19701025T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0000",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T010000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0100",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
    made, n = 0, 0
    while made < bookings:
        n += 1
        day = TODAY + timedelta(days=rnd.randrange(-80, 60))
        start = datetime(day.year, day.month, day.day, rnd.randrange(8, 19), 30 * rnd.randrange(2))
        stamp = start.strftime("%Y%m%dT%H%M%S")
        client = f"Client {rnd.randrange(2500):06d}"
        event = [
            "BEGIN:VEVENT",
            f"UID:booking-{n}@bench.example",
            f"DTSTAMP:{stamp}Z",
            f"LAST-MODIFIED:{stamp}Z",
            f"DTSTART;TZID={zone}:{stamp}",
            f"DURATION:PT{rnd.choice((30, 45, 60))}M",
            f"SUMMARY:Session with {client}",
            f"ATTENDEE;CN={client}:mailto:client{client[-6:]}@example.com",
        ]
        if n % 10 == 0:
            skipped = (start + timedelta(weeks=3)).strftime("%Y%m%dT%H%M%S")
            event += ["RRULE:FREQ=WEEKLY;COUNT=8", f"EXDATE;TZID={zone}:{skipped}"]
            made += 7
        else:
            made += 1
        lines += [*event, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def read_calendar(bookings: int) -> dict[str, object]:
    """Parsing and expanding one feed from 90 days back to a year on: what a cycle does
    with a feed that changed (a running daemon does not parse an unchanged one again)."""
    data = booking_feed(bookings)
    zone = ZoneInfo("Europe/London")
    start = datetime.combine(TODAY - timedelta(days=90), datetime.min.time(), zone)
    end = datetime.combine(TODAY + timedelta(days=366), datetime.min.time(), zone)
    wall, cpu = time.perf_counter(), time.process_time()
    found = read_bookings(data, start, end, zone)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "bytes": len(data),
        "bookings": len(found),
    }


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body or b""
    if isinstance(body, str):
        return body.encode()
    return body if isinstance(body, bytes) else b""


def main(argv: list[str]) -> None:
    what, *args = argv
    if what == "make-xlsx":
        out = make_xlsx(int(args[0]), Path(args[1]))
    elif what == "sync-xlsx":
        out = sync_xlsx(Path(args[0]), steady="--steady" in args[1:])
    elif what == "add-session":
        out = add_session(Path(args[0]))
    elif what == "floor-xlsx":
        out = floor_xlsx(Path(args[0]))
    elif what == "seed-google":
        out = seed_google(int(args[0]), Path(args[1]), synced="--synced" in args[2:])
    elif what == "sync-google":
        out = sync_google(
            args[0], add_session="--add-session" in args[1:], steady="--steady" in args[1:]
        )
    elif what == "calendar":
        out = read_calendar(int(args[0]))
    else:
        raise SystemExit(f"unknown measurement {what!r}")
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
