"""What the engine's fast paths must not change.

The Sessions parser remembers each reading by the raw cell value, events
count fingerprints only near the rows that need one, and the next Package ID
is found from the distinct typed IDs. These tests pin the behaviour those
shortcuts rely on.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from rules.engine import MAX_NOTE, compute
from rules.events import session_fingerprints
from rules.model import Result, Settings
from rules.parse import highest_id
from rules.schema import SYNC_NOTE
from tests.workbooks import TODAY, Run, run, tables

CLIENTS = [{"Client": "1"}, {"Client": "TRUE", "Billing": "Monthly"}, {"Client": "Ann Lee"}]
PACKAGE = {"Package ID": "P-0001", "Client": "Ann Lee", "Sessions": 50, "Purchased": "2026-01-01"}
#: Values that are equal in Python (or look alike) but are different cells.
ALIKE: list[object] = [
    1,
    True,
    1.0,
    "1",
    " 1 ",
    "TRUE",
    "true",
    0,
    False,
    "",
    "  ",
    None,
    date(2026, 3, 1),
    datetime(2026, 3, 1),
    datetime(2026, 3, 1, 9, 30),
    "2026-03-01",
    45000,
    45000.0,
    45000.5,
]


def _verdicts(result: Result) -> list[tuple[str, str]]:
    return [(s.status.value, s.note) for s in result.sessions]


def test_equal_values_of_different_types_are_read_as_the_cells_they_are() -> None:
    # Each value twice: the second reading comes from what the first remembered.
    for settings in (Settings(), Settings(numbers_are_dates=True, date_order="DMY")):
        for column in ("Date", "Client", "Package ID", "Outcome"):
            rows = [{"Date": "2026-03-01", "Client": "Ann Lee", column: v} for v in ALIKE * 2]
            together = _verdicts(run(CLIENTS, [PACKAGE], rows, settings=settings).result)
            for row, (status, note) in zip(rows, together, strict=True):
                alone = _verdicts(run(CLIENTS, [PACKAGE], [row], settings=settings).result)
                assert status == alone[0][0], (column, row[column])
                if status != "Deducted":  # a Deducted note counts the credits left
                    assert note == alone[0][1], (column, row[column])


def _random_sessions(rnd: random.Random) -> list[dict[str, object]]:
    names = [c["Client"] for c in CLIENTS]
    return [
        {
            "Date": date(2026, 11, 1) + timedelta(days=rnd.randrange(25)),
            "Client": rnd.choice(names),
            "Package ID": rnd.choice([None, "P-0001", "p-1", "P-0002", "nope"]),
            "Outcome": rnd.choice(["", "Attended", "Cancelled"]),
        }
        for _ in range(rnd.randrange(1, 60))
    ]


def test_fingerprints_of_some_rows_are_those_computed_for_all_rows() -> None:
    rnd = random.Random(3)
    for _ in range(30):
        small = {**PACKAGE, "Sessions": rnd.randrange(1, 20)}
        shared = {**PACKAGE, "Package ID": "P-0002", "Client": "1", "Shared with": "Ann Lee"}
        result = compute(tables(CLIENTS, [small, shared], _random_sessions(rnd)), today=TODAY)
        every = session_fingerprints(result.sessions)
        assert len(every) == sum(1 for s in result.sessions if s.session is not None)
        for wanted in (
            lambda s: s.status.value == "Rejected",
            lambda s: s.row % 3 == 0,
            lambda s: False,
        ):
            some = session_fingerprints(reversed(result.sessions), wanted)
            assert some == {
                s.row: every[s.row] for s in result.sessions if s.row in every and wanted(s)
            }


def test_events_key_rejected_sessions_by_their_full_fingerprint() -> None:
    rows = [{"Date": "2026-11-02", "Client": "Ann Lee", "Package ID": "P-0001"}] * 4
    r = run(CLIENTS, [{**PACKAGE, "Sessions": 1}], rows)
    prints = session_fingerprints(r.result.sessions)
    keys = [e.key for e in r.result.events if e.kind == "rejected_session"]
    assert keys == [f"rejected:{prints[row]}" for row in (3, 4, 5)]
    assert keys[-1] == "rejected:2026-11-02|ann lee|p-0001|4"


def test_highest_id_skips_blanks_and_booleans_and_reads_each_text_once() -> None:
    assert highest_id([]) == 0
    assert highest_id(["P-0003", " ", "", None, True, "p-7", "p-7", " P-0005 ", 9, "P-2"]) == 7
    assert highest_id([" p-0011 ", "P-0011", "x"]) == 11


def test_a_new_package_id_follows_the_highest_typed_anywhere() -> None:
    packages = [{**PACKAGE, "Package ID": None}, {**PACKAGE, "Package ID": "P-0004"}]
    sessions = [
        {"Date": "2026-11-02", "Client": "Ann Lee", "Package ID": " p-9 "},
        {"Date": "2026-11-02", "Client": "Ann Lee", "Package ID": "   "},
    ]
    r = Run(compute(tables(CLIENTS, packages, sessions), today=TODAY))
    assert r.filled("Packages")[(2, "Package ID")] == "P-0010"


def test_a_long_sessions_note_is_clipped_to_fit_a_cell() -> None:
    rows = [{"Date": "x" * (3 * MAX_NOTE), "Client": "Nobody " * 1000}]
    r = run(CLIENTS, [PACKAGE], rows)
    note = r.cell("Sessions", 2, SYNC_NOTE)
    assert isinstance(note, str) and len(note) == MAX_NOTE and note.endswith("…")
    assert r.cell("Sessions", 2, "Status") == "Invalid"
