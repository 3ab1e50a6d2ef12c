"""``make bench``: every case at every size, in fresh processes; prints and saves the table.

    python -m bench                          # 1k, 10k, 100k sessions, both backends
    python -m bench --sizes 1000,1000000     # choose sizes
    python -m bench --sizes ceiling --backends google   # Google's 10-million-cell limit
    python -m bench --out docs/performance.md

For each size and backend: a first sync, a sync after one new session, an idle
sync (the second of two in one process, as a running daemon's), and the floor
the cycle is measured against (xlsx: openpyxl's own load and save of the same
file; google: decoding the read response plus encoding the write request, the
JSON work any client must do).

The bench stands on the product's own code: it imports nothing from ``tests/``.
The Google cases talk HTTP to the Sheets fake (``python -m tests.sheetsfake``),
started here as a separate server program on 127.0.0.1, as the backend would
talk to Google; nothing of the fake is imported into the measuring process.

``--out`` replaces only the rows it measured: in the results block of the file,
each backend has its own table, and the rows of backends and sizes not
measured this time are kept as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.case", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench.case {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def xlsx_rows(sessions: int, folder: Path) -> list[dict[str, object]]:
    made = measure("make-xlsx", str(sessions), str(folder))
    work = folder / "work.xlsx"
    shutil.copy(folder / "unsynced.xlsx", work)
    first = measure("sync-xlsx", str(work))
    idle = measure("sync-xlsx", str(work), "--steady")
    measure("add-session", str(work))
    one = measure("sync-xlsx", str(work))
    floor = measure("floor-xlsx", str(work))
    rows = []
    for case, data in (("first", first), ("one session", one), ("idle", idle)):
        rows.append(
            {
                "sessions": sessions,
                "cells": made["cells"],
                "backend": "xlsx",
                "case": case,
                **data,
                "floor": floor["wall"],
                "floor_cpu": floor["cpu"],
            }
        )
    return rows


def fmt_row(r: dict[str, object]) -> str:
    phases = r["phases"]
    cpu = r["phases_cpu"]
    assert isinstance(phases, dict) and isinstance(cpu, dict)

    def pair(name: str) -> str:
        return f"{phases.get(name, 0):.2f} / {cpu.get(name, 0):.2f}"

    # CPU against CPU: xlsx against one python-calamine read of every cell, google
    # against the JSON floor (the fake's own work is another process's). Both are
    # single-threaded, so CPU seconds do not depend on what else the machine runs.
    floor = float(r.get("floor_cpu") or r.get("floor") or 0)  # type: ignore[arg-type]
    ratio = float(r["cpu"]) / floor if floor else 0.0  # type: ignore[arg-type]
    traffic = (
        f"{r.get('requests', '')} / {_kib(r.get('sent', 0))} / {_kib(r.get('received', 0))}"
        if r["backend"] == "google"
        else f"{r.get('requests', '')}"
    )
    return (
        f"| {int(r['sessions']):,} | {int(r['cells']):,} | {r['backend']} | {r['case']} | "  # type: ignore[call-overload]
        f"{float(r['wall']):.2f} / {float(r['cpu']):.2f} | {pair('read')} | {pair('parse')} | "  # type: ignore[arg-type]
        f"{pair('compute')} | {pair('diff')} | {pair('write')} | {traffic} | "
        f"{float(r['peak_rss_mib']):.0f} | {float(r['floor']):.2f} / {floor:.2f} | "  # type: ignore[arg-type]
        f"{ratio:.2f} |"
    )


def _kib(size: object) -> str:
    return f"{int(size) / 1024:,.1f} KiB"  # type: ignore[call-overload]


HEADER = (
    "| sessions | cells when synced | backend | cycle | total s (wall / cpu) | read "
    "| parse + validate | compute | diff | write | requests / sent / received "
    "| peak RSS MiB | floor s (wall / cpu) | cycle / floor (cpu) |\n" + "|---" * 14 + "|"
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def size_of(given: str) -> int:
    """A size in session rows; ``ceiling``: as many as Google's 10-million-cell limit holds."""
    if given.strip() == "ceiling":
        from bench.generate import ceiling_sessions

        return ceiling_sessions()
    return int(given.replace("_", ""))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="xlsx,google")
    parser.add_argument("--out", type=Path, help="write the table into this Markdown file")
    args = parser.parse_args()
    sizes = [size_of(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    rows: list[dict[str, object]] = []
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="creditsheet-bench-") as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            found: list[dict[str, object]] = []
            if "xlsx" in backends:
                found += xlsx_rows(size, folder)
            if "google" in backends:
                found += google_rows(size, folder)
            for r in found:
                print(fmt_row(r), flush=True)
            rows += found
    if args.out:
        write_results(args.out, [fmt_row(r) for r in rows], machine())


#: Past this many sessions the fake itself takes too long to carry out a first sync's
#: write (it is a faithful model, not a fast one: about 20 minutes at 1M sessions), so
#: the sheet starts as a first sync leaves it and the first cycle is a cold start: a
#: daemon's first cycle on a synced sheet, all read and worked out, nothing to write.
FIRST_SYNC_LIMIT = 200_000


def google_rows(sessions: int, folder: Path) -> list[dict[str, object]]:
    """The three cycles against the Sheets fake, served by its own process over loopback."""
    synced = sessions > FIRST_SYNC_LIMIT
    made = measure("seed-google", str(sessions), str(folder), *(["--synced"] if synced else []))
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sheetsfake",
            "--port",
            "0",
            "--seed",
            str(folder / "seed.json"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        rows = []
        first = "cold start (synced)" if synced else "first"
        cases = ((first, ()), ("one session", ("--add-session",)), ("idle", ("--steady",)))
        for case, extra in cases:
            data = measure("sync-google", url, *extra)
            rows.append(
                {
                    "sessions": sessions,
                    "cells": made["cells"],
                    "backend": "google",
                    "case": case,
                    **data,
                }
            )
        return rows
    finally:
        fake.terminate()
        fake.wait(timeout=30)


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Section:
    """One backend's part of the results block: what it was measured on, its rows."""

    backend: str
    about: str
    rows: list[str]
    #: The table's header rows (an older run's may name its columns differently).
    header: str = HEADER


def sessions_of(row: str) -> int:
    return int(row.split("|")[1].strip().replace(",", ""))


def backend_of(row: str) -> str:
    return row.split("|")[3].strip()


def read_sections(block: str) -> list[Section]:
    """The block's sections: a paragraph, then its table (one table may hold
    several backends' rows, as an older block did: each gets its own section)."""
    sections: dict[str, Section] = {}
    about = ""
    for chunk in block.strip().split("\n\n"):
        lines = chunk.strip().splitlines()
        if not lines or not lines[0].startswith("|"):
            about = chunk.strip()
            continue
        for row in lines[2:]:
            name = backend_of(row)
            header = "\n".join(lines[:2])
            sections.setdefault(name, Section(name, about, [], header)).rows.append(row)
    return list(sections.values())


def cells_of(row: str) -> int:
    return int(row.split("|")[2].strip().replace(",", ""))


def is_ceiling(row: str) -> bool:
    """A row of the ``ceiling`` case: the most sessions that fit Google's cell limit
    (within 1 %), whatever that number was when it was measured."""
    from bench.generate import CEILING

    return cells_of(row) >= CEILING * 0.99


def merge(sections: list[Section], backend: str, rows: list[str], where: str) -> list[Section]:
    """``sections`` with ``backend``'s rows for the sizes in ``rows`` replaced (a new
    ceiling replaces the old one's rows, whatever number of sessions it was)."""
    measured = {sessions_of(r) for r in rows}
    ceiling = any(is_ceiling(r) for r in rows)
    old = next((s for s in sections if s.backend == backend), None)
    kept = [
        r
        for r in (old.rows if old else [])
        if sessions_of(r) not in measured and not (ceiling and is_ceiling(r))
    ]
    about = f"{backend}, measured on {where}."
    if kept and old is not None:
        sizes = ", ".join(f"{n:,}" for n in sorted({sessions_of(r) for r in kept}))
        before = old.about.split(" The rows for ")[0]
        about += f" The rows for {sizes} sessions are from an earlier run" + (
            f": {before}" if before != about else "."
        )
    merged = Section(backend, about, sorted([*kept, *rows], key=sessions_of))
    others = [s for s in sections if s.backend != backend]
    order = {"xlsx": 0, "google": 1}
    return sorted([*others, merged], key=lambda s: order.get(s.backend, len(order)))


def write_results(path: Path, rows: list[str], where: str) -> None:
    """Put ``rows`` into the results block of ``path``, keeping the rows not re-measured."""
    text = path.read_text() if path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    start, end = text.index(BEGIN), text.index(END) + len(END)
    sections = read_sections(text[start + len(BEGIN) : end - len(END)])
    for backend in dict.fromkeys(backend_of(r) for r in rows):
        sections = merge(sections, backend, [r for r in rows if backend_of(r) == backend], where)
    body = "\n\n".join(f"{s.about}\n\n{s.header}\n" + "\n".join(s.rows) for s in sections)
    path.write_text(text[:start] + f"{BEGIN}\n{body}\n{END}" + text[end:])


if __name__ == "__main__":
    main()
