"""Google Sheets safety: people editing while a cycle runs, and faults on every request.

The real :class:`GoogleBackend` (gspread, our retrying HTTP client) runs against
the Sheets API fake, in-process or (every few seeds) over loopback HTTP, on
seeded practices of 5-30 clients with blank Package IDs to fill and sessions
logged since the last sync, so every cycle under test writes.

Races. While a cycle runs, a person inserts rows (above or among the data, and
may type a session into them), deletes rows, sorts a tab by a column, types into
an input cell (a blank Package ID, a client's name, a date), inserts a column,
or several of these. Claims, for edits that land between the cycle's read and
its verification read: no cell is written onto a row that does not hold the
inputs it was computed from, no typed cell is overwritten, no session is given
a new package's ID that the package row did not get; and one more cycle, with
nobody editing, leaves the sheet exactly as a from-scratch sync of its inputs
on a fresh copy does. Edits that land in the one round trip between the
verification read and the write cannot be seen (the Sheets API has no
compare-and-swap and writes by position): what they do is measured, and the
next cycle still leaves no computed cell stale.

Faults. Any request of a cycle fails with 429 (with or without Retry-After),
500, 503, a timeout or a dropped connection, once or again and again (past the
retry bound too), including writes carried out whose answer was lost. Claims:
after the faulty cycle the sheet is untouched or fully written, never half; one
clean cycle later it equals a fault-free run's sheet cell for cell; every alert
the fault-free run sent was sent exactly once (counted event by event).

Figures: ``test-artifacts/reliability/google-*.json``; ``CREDITSHEET_FULL=1``
runs the full counts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rules.values import date_to_serial
from sync.backends.base import WorkbookUnavailable
from sync.backends.google import GoogleBackend
from sync.backends.google.client import RetryPolicy
from sync.cycle import run_cycle
from sync.service import Resources, sync_once
from tests.fakesender import RecordingSender
from tests.safety import record, size
from tests.safety_google_support import (
    CONFIG,
    TODAY,
    Edit,
    Grid,
    KeyedStore,
    Misplaced,
    Practice,
    apply_edits,
    at_minute,
    computed_cleared,
    create,
    differing,
    generate,
    google_backend,
    grid,
    misplaced,
    plan_edits,
    values_of,
)
from tests.sheetsfake import GOOGLE_BASE_URL, FakeSheets, Fault

RACES = size(20, 200)
RACES_BEFORE_WRITE = size(10, 100)
FAULT_CYCLES = size(40, 240)
#: Fault plans tried on each practice (against one fault-free reference run).
PLANS_PER_PRACTICE = 2
#: Every so many seeds runs over loopback HTTP instead of in-process.
OVER_HTTP = 4
#: Fault plans run over HTTP: every so many (the rest in-process).
FAULTS_OVER_HTTP = 8


@contextmanager
def endpoint(fake: FakeSheets, http: bool) -> Iterator[str]:
    """Where the backend sends its requests: the fake in-process, or over loopback HTTP."""
    if http:
        with fake.serve() as server:
            yield server.url
    else:
        with fake.mocked():
            yield GOOGLE_BASE_URL


def settled(backend: GoogleBackend, first_minute: int) -> int:
    """Cycle until a cycle has nothing to write; how many cycles wrote."""
    for n in range(6):
        if not run_cycle(CONFIG, backend, now=at_minute(first_minute + n)()).plan:
            return n
    raise AssertionError("the sheet never settled")


def prepared(
    fake: FakeSheets, practice: Practice, url: str, seed: int
) -> tuple[str, GoogleBackend]:
    """The practice in ``fake``: synced once (or not), then the practitioner's new rows."""
    sid = create(fake, practice)
    backend = google_backend(sid, url, seed=seed)
    if practice.synced:
        run_cycle(CONFIG, backend, now=at_minute(0)())
    apply_edits(fake, sid, practice.pending)
    return sid, backend


# --- races ---------------------------------------------------------------------------


@dataclass
class Race:
    seed: int
    window: str
    edits: list[Edit]
    #: The cells the racing cycle wrote, judged against the rows they were computed for.
    judged: Misplaced = field(default_factory=Misplaced)
    skipped: int = 0
    cycles_until_right: int = 0
    #: After that cycle the sheet is the same as a sync run after the edits, nobody racing.
    as_if_synced_after: bool = False


def edited_then_synced(seed: int, practice: Practice, edits: list[Edit]) -> Grid:
    """The edits made with no cycle running, then synced until settled, on a fresh copy."""
    fake = FakeSheets(seed=seed)
    with endpoint(fake, http=False) as url:
        sid, backend = prepared(fake, practice, url, seed)
        apply_edits(fake, sid, edits)
        settled(backend, 1)
    return grid(fake, sid)


def synced_from_scratch(fake: FakeSheets, sid: str, seed: int) -> Grid:
    """The sheet's inputs as they are now, on a fresh copy without a single computed
    value or the Dashboard, synced until settled: what the sheet must show."""
    fresh = computed_cleared(fake, sid, seed)
    with endpoint(fresh, http=False) as url:
        settled(google_backend(sid, url, seed=seed), 1)
    return grid(fresh, sid)


def race(seed: int, window: str) -> Race:
    """One seeded race: a person's edits land after the cycle's read (``window="read"``)
    or after its verification read, just before its write (``"verification"``)."""
    practice = generate(random.Random(seed))
    fake = FakeSheets(seed=seed)
    with endpoint(fake, http=seed % OVER_HTTP == 0) as url:
        sid, backend = prepared(fake, practice, url, seed)
        edits = plan_edits(random.Random(-seed), values_of(fake, sid))
        read = grid(fake, sid)
        seen: dict[str, Grid] = {}
        reads = [0]
        target = 1 if window == "read" else 2

        def person(f: FakeSheets) -> None:
            reads[0] += 1
            if reads[0] == target:
                apply_edits(f, sid, edits)
                seen["edited"] = grid(f, sid)

        fake.between_requests(person, kind="values.batchGet", times=target)
        report = run_cycle(CONFIG, backend, now=at_minute(1)())
        assert "edited" in seen, f"seed {seed}: the cycle made no {window} request"
        judged = misplaced(read, seen["edited"], grid(fake, sid), report.plan)
        found = Race(
            seed,
            window,
            edits,
            judged,
            skipped=report.outcome.rows_skipped,
            cycles_until_right=-1,  # not right within 4 cycles
        )
        for n in range(1, 5):
            run_cycle(CONFIG, backend, now=at_minute(1 + n)())
            if grid(fake, sid) == synced_from_scratch(fake, sid, seed):
                found.cycles_until_right = n
                break
    found.as_if_synced_after = grid(fake, sid) == edited_then_synced(seed, practice, edits)
    return found


def race_figures(races: list[Race]) -> dict[str, object]:
    return {
        "races": len(races),
        "over_http": sum(1 for r in races if r.seed % OVER_HTTP == 0),
        "edits": dict(Counter(e.kind for r in races for e in r.edits)),
        "cells_written_during_races": sum(r.judged.written for r in races),
        "rows_left_for_the_next_cycle": sum(r.skipped for r in races),
        "writes_on_a_wrong_row": sum(len(r.judged.wrong_row) for r in races),
        "of_them_in_input_columns": sum(len(r.judged.wrong_row_inputs) for r in races),
        "races_with_a_write_on_a_wrong_row": sum(1 for r in races if r.judged.wrong_row),
        "writes_where_nothing_was_planned": sum(len(r.judged.unplanned) for r in races),
        "typed_cells_overwritten": sum(len(r.judged.typed_overwritten) for r in races),
        "of_them_typed_into_the_cell_being_filled_in_the_same_round_trip": sum(
            len(_typed_into_fill(r)) for r in races
        ),
        "of_them_cleared_as_unknowable_and_reported": sum(
            1 for r in races for t in r.judged.typed_overwritten if t.endswith("-> None")
        ),
        "sessions_naming_an_id_no_package_got": sum(len(r.judged.dangling) for r in races),
        "cycles_until_right": dict(Counter(r.cycles_until_right for r in races)),
        "same_as_editing_first_then_syncing": sum(r.as_if_synced_after for r in races),
        "seeds_with_a_finding": [
            r.seed for r in races if r.judged.findings or r.cycles_until_right != 1
        ],
        "examples": [f"seed {r.seed}: {r.judged.findings[:3]}" for r in races if r.judged.findings][
            :10
        ],
    }


def _typed_into_fill(r: Race) -> list[str]:
    """Typed cells overwritten where the race's own edit typed that very value into that
    row's cell just before the write filled it: a lost update no positional write can
    see (the write's answer shows only the write's own value there)."""
    out = []
    for found in r.judged.typed_overwritten:
        where, change = found.split(": ", 1)
        tab, cell = where.split("!", 1)
        row = int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        old = change.split(" -> ", 1)[0]
        if any(
            e.kind == "type" and e.tab == tab and e.row == row and repr(e.value) == old
            for e in r.edits
        ):
            out.append(found)
    return out


def check(races: list[Race], figures: dict[str, object]) -> None:
    assert figures["cells_written_during_races"], "the races must write"
    assert figures["writes_on_a_wrong_row"] == 0, figures["examples"]
    assert figures["typed_cells_overwritten"] == 0, figures["examples"]
    assert figures["sessions_naming_an_id_no_package_got"] == 0, figures["examples"]
    assert figures["cycles_until_right"] == {1: len(races)}, figures["seeds_with_a_finding"]


def test_edits_between_the_read_and_the_verification_never_land_on_a_wrong_row() -> None:
    races = [race(seed, "read") for seed in range(1, RACES + 1)]
    figures = race_figures(races)
    record("google-races-before-verification", figures)
    assert figures["rows_left_for_the_next_cycle"], "some rows must be left alone"
    check(races, figures)


def test_edits_in_the_round_trip_before_the_write_never_cost_a_typed_value() -> None:
    """The residual window: the Sheets API has no compare-and-swap, and its writes are
    positional, so an edit that reaches Google after the verification read was answered
    and before the write arrives (one round trip) is not seen before writing. The write's
    own answer shows the filled rows and each header as they are right after it: input
    cells that landed on another row or column are put back in the same cycle (see
    sync/backends/google/landing.py). What is left on a wrong row are computed cells, which the
    next cycle puts right."""
    races = [race(seed, "verification") for seed in range(1, RACES_BEFORE_WRITE + 1)]
    figures = race_figures(races)
    record("google-races-before-write", figures)
    assert figures["cells_written_during_races"], "the races must write"
    assert figures["writes_where_nothing_was_planned"] == 0, figures["examples"]
    # A typed value is lost only where the person typed it into the very blank cell the
    # write was filling, or where the write's answer could not tell which row sat there
    # (the cell is then left blank and named in the cycle's report).
    unexplained = [
        t
        for r in races
        for t in r.judged.typed_overwritten
        if t not in _typed_into_fill(r) and not t.endswith("-> None")
    ]
    assert unexplained == [], unexplained
    assert figures["sessions_naming_an_id_no_package_got"] == 0, figures["examples"]
    assert figures["cycles_until_right"] == {1: len(races)}, figures["seeds_with_a_finding"]


# --- faults --------------------------------------------------------------------------

#: The client's read timeout in-process: a delay past it is a timeout (the fake still
#: carries the request out, as Google does).
TIMEOUT = 0.05
FAULTS: list[tuple[str, Fault]] = [
    ("429", Fault.http(429)),
    ("429, Retry-After 3 s", Fault.http(429, retry_after=3)),
    ("429, Retry-After 90 s", Fault.http(429, retry_after=90)),  # past the 60 s budget
    ("500", Fault.http(500)),
    ("503", Fault.http(503)),
    ("503, Retry-After 1 s", Fault.http(503, retry_after=1)),
    ("500 after carrying it out", Fault.http(500, applied=True)),
    ("503 after carrying it out", Fault.http(503, applied=True)),
    ("timeout", Fault.delay(TIMEOUT * 1.5)),
    ("dropped connection", Fault.drop()),
    ("dropped after carrying it out", Fault.drop(applied=True)),
]
KINDS = (None, "read", "write", "values.batchGet", "batchUpdate", "spreadsheets.get")


def plan_faults(rng: random.Random, fake: FakeSheets, http: bool) -> list[str]:
    """Faults for the coming cycle's requests (indexes count from 0 at its first request):
    one, one again and again (past the retry bound too), several, or random ones."""
    # Over HTTP a delayed request is carried out when the delay ends, which may be after
    # the cycle: timeouts are tried in-process, where the fake carries it out at once.
    choices = [f for f in FAULTS if not (http and f[0] == "timeout")]
    mode = rng.choice(("once", "once", "again", "again", "several", "random"))
    if mode == "once":
        name, fault = rng.choice(choices)
        at = rng.randrange(5)
        fake.faults.add(fault, at=at)
        return [f"{name} on request {at}"]
    if mode == "again":
        name, fault = rng.choice(choices)
        times, kind = rng.randint(2, 7), rng.choice(KINDS)
        fake.faults.add(fault, times=times, kind=kind)
        return [f"{name} x{times} on {kind or 'any'} requests"]
    if mode == "several":
        out = []
        for at in sorted(rng.sample(range(9), rng.randint(2, 4))):
            name, fault = rng.choice(choices)
            fake.faults.add(fault, at=at)
            out.append(f"{name} on request {at}")
        return out
    picked = rng.sample(choices, 3)
    probability = round(rng.uniform(0.3, 0.8), 2)
    fake.faults.random(
        seed=rng.randrange(2**30), probability=probability, faults=[f for _, f in picked]
    )
    return [f"random {probability}: " + ", ".join(name for name, _ in picked)]


@dataclass
class Run:
    """One practice's cycles with alerts: the sheet before, after each cycle, the alerts."""

    before: Grid
    after: list[Grid] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    outcome: str = ""
    http: bool = False
    planned: list[str] = field(default_factory=list)
    #: (fault, request kind) of each fault the fake injected.
    injected: list[tuple[str, str]] = field(default_factory=list)


def run(practice_seed: int, folder: Path, *, faults: int | None = None) -> Run:
    """A seeded practice, synced once (or not) and edited, then two cycles with alerts.
    With ``faults`` (a seed), faults on any request of the first of the two (sometimes
    with a fresh backend, as after a restart), and none on the second."""
    practice = generate(random.Random(10_000 + practice_seed))
    rng = random.Random(faults)
    http = faults is not None and faults % FAULTS_OVER_HTTP == 0
    timeout = (5.0, 5.0) if http else (TIMEOUT, TIMEOUT)
    policy = RetryPolicy(attempts=4, total_seconds=60, timeout=timeout)
    fake = FakeSheets(seed=practice_seed)
    store = KeyedStore(folder / f"{practice_seed}-{faults}.sqlite")
    sender = RecordingSender()
    try:
        with endpoint(fake, http) as url:
            sid = create(fake, practice)
            backend = google_backend(sid, url, seed=practice_seed, policy=policy)
            resources = Resources(CONFIG, backend, store, sender)
            if practice.synced:
                sync_once(resources, now=at_minute(0))
            apply_edits(fake, sid, practice.pending)
            sender.sent.clear()
            found = Run(grid(fake, sid), http=http)
            if faults is not None and rng.random() < 0.3:
                resources.backend = google_backend(sid, url, seed=faults, policy=policy)
            fake.reset_log()
            if faults is not None:
                found.planned = plan_faults(rng, fake, http)
            try:
                report = sync_once(resources, now=at_minute(1))
                found.outcome = "written" if report.outcome.written else "not written"
            except WorkbookUnavailable:
                found.outcome = "failed cleanly"
            names = {fault: name for name, fault in FAULTS}
            found.injected = [
                (names.get(i.fault, "?"), str(i.kind).rsplit(".", 1)[-1])
                for i in fake.faults.injected
            ]
            found.after.append(grid(fake, sid))
            fake.faults.clear()
            sync_once(resources, now=at_minute(2))
            found.after.append(grid(fake, sid))
        found.alerts = store.reported(sender.sent)
    finally:
        store.close()
    return found


def test_faults_on_every_request_never_half_write_lose_or_repeat_anything(
    tmp_path: Path,
) -> None:
    cycles = half_applied = differing_cells = lost = twice = extra = alerts_expected = 0
    over_http = 0
    outcomes: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    failing: list[str] = []
    plan_seed = 0
    practice_seed = 0
    while cycles < FAULT_CYCLES:
        practice_seed += 1
        want = run(practice_seed, tmp_path)
        assert want.after[0] == want.after[1], f"{practice_seed}: a fault-free run settles"
        expected = Counter(want.alerts)
        assert all(n == 1 for n in expected.values()), f"{practice_seed}: the reference repeats"
        for _ in range(PLANS_PER_PRACTICE):
            if cycles == FAULT_CYCLES:
                break
            plan_seed += 1
            got = run(practice_seed, tmp_path, faults=plan_seed)
            assert got.before == want.before
            if not got.injected:
                continue  # the planned faults fell on requests the cycle did not make
            cycles += 1
            over_http += got.http
            outcomes[got.outcome] += 1
            injected.update(name for name, _ in got.injected)
            hit.update(kind for _, kind in got.injected)
            half = got.after[0] not in (want.before, want.after[0])
            differ = differing(got.after[1], want.after[1])
            sent = Counter(got.alerts)
            missing = sum(max(0, n - sent[k]) for k, n in expected.items())
            again = sum(n - 1 for n in sent.values())
            unexpected = sum(n for k, n in sent.items() if k not in expected)
            alerts_expected += len(expected)
            half_applied += half
            differing_cells += differ
            lost += missing
            twice += again
            extra += unexpected
            if half or differ or missing or again or unexpected:
                failing.append(f"faults {plan_seed} ({'; '.join(got.planned)}): {got.outcome}")
    figures = {
        "fault_cycles": cycles,
        "practices": practice_seed,
        "over_http": over_http,
        "faults_injected": dict(injected),
        "requests_failed_by_kind": dict(hit),
        "outcomes": dict(outcomes),
        "half_applied_writes": half_applied,
        "cells_differing_after_the_next_clean_cycle": differing_cells,
        "alerts_expected": alerts_expected,
        "alerts_lost": lost,
        "alerts_sent_twice": twice,
        "alerts_not_in_the_fault_free_run": extra,
        "failing": failing[:20],
    }
    record("google-faults", figures)
    assert outcomes["failed cleanly"] and outcomes["written"], "both kinds of cycle must occur"
    assert hit["batchUpdate"] and hit["batchGet"], "reads and writes must both fail"
    assert alerts_expected, "the runs must send alerts"
    assert half_applied == 0, failing
    assert differing_cells == 0, failing
    assert lost == 0 and twice == 0 and extra == 0, failing


def test_a_session_never_keeps_the_id_of_a_new_package_whose_row_moved() -> None:
    """Two new packages (blank IDs) and Bob's session, to be given Bob's new ID in the
    same write. The tab is sorted between the read and the verification, so the package
    rows are left for the next cycle. The session must wait for them: given the ID now,
    it would name an ID no package row ever gets (the next cycle numbers the packages
    past it) and stay Invalid, its credit never deducted."""
    fake = FakeSheets(seed=5)
    with endpoint(fake, http=False) as url:
        sid = fake.create_spreadsheet(
            "Practice",
            {
                "Clients": [["Client", "Billing"], ["Ann Lee", "Package"], ["Bob Ito", "Package"]],
                "Packages": [
                    ["Package ID", "Client", "Sessions", "Purchased"],
                    [None, "Ann Lee", 5, TODAY - timedelta(days=9)],
                    [None, "Bob Ito", 5, TODAY - timedelta(days=9)],
                ],
                "Sessions": [["Date", "Client", "Package ID"], [TODAY, "Bob Ito", None]],
            },
        )
        backend = google_backend(sid, url, seed=5)
        sort = [Edit("sort", "Packages", column="Client", descending=True)]
        fake.between_requests(lambda f: apply_edits(f, sid, sort), kind="values.batchGet")
        race_cycle = run_cycle(CONFIG, backend, now=at_minute(1)())
        assert race_cycle.outcome.rows_skipped == 3
        assert fake.values(sid, "Sessions")[1][:3] == [date_to_serial(TODAY), "Bob Ito", ""]
        run_cycle(CONFIG, backend, now=at_minute(2)())
        assert [r[:2] for r in fake.values(sid, "Packages")[1:]] == [
            ["P-0001", "Bob Ito"],
            ["P-0002", "Ann Lee"],
        ]
        assert fake.values(sid, "Sessions")[1][2:5] == ["P-0001", "Deducted", "P-0001: 4 of 5 left"]
