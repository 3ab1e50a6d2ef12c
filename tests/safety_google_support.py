"""Seeded practices, human edits and sheet snapshots for the Google safety tests.

    practice = generate(random.Random(seed))      # tabs, pending edits, synced or not
    fake = FakeSheets(seed=seed); sid = create(fake, practice)
    ops = plan_edits(random.Random(seed), values_of(fake, sid))
    apply_edits(fake, sid, ops)                    # as a person would, in the Sheets UI
    before = grid(fake, sid)                       # every cell: value, color, number format

Everything is a function of the seed: two fakes set up from the same seed hold
the same sheet, so a run under test and its reference are compared cell by cell.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from rules.events import PRACTITIONER
from rules.model import Event
from rules.schema import TABS
from rules.tabs import column_letter
from rules.values import is_blank, key, text
from sync.backends.base import WritePlan
from sync.backends.google import GoogleBackend
from sync.backends.google.client import RetryPolicy
from sync.config import Config
from sync.store import Store
from sync.store.alerts import AlertKeys
from sync.store.db import Database, timestamp
from sync.store.outbox import Outbox
from tests.sheetsfake import FakeSheets
from tests.sheetsfake.cellvalues import render

TODAY = date(2026, 11, 20)
#: Noon in London: every cycle of a run falls on TODAY.
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONFIG = Config.model_validate(
    {
        "sync": {"timezone": "Europe/London"},
        "email": {"to": ["coach@example.com"]},
        "notify": {"clients": True},
        "report": {"every": "off"},
    }
)
#: The tabs a person edits; the Dashboard belongs to the sync.
PERSON_TABS = ("Clients", "Packages", "Sessions")
INPUTS = {key(t.name): {key(c.name) for c in t.inputs} for t in TABS}
COMPUTED = {key(t.name): {key(c.name) for c in t.computed} for t in TABS}

FIRST = (
    "Ann", "Bob", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea",
    "Max", "Noor", "Oli", "Pia", "Raj", "Sol", "Tove", "Uma", "Vik", "Wen", "Yara", "Zed",
)  # fmt: skip
LAST = ("Lee", "Stone", "Wu", "Okafor", "Silva", "Novak", "Berg", "Khan", "Moreau", "Ito")
OUTCOMES = ("Attended", "Attended", "Attended", "No-show", "Late cancel", "Cancelled", None)
TEMPLATES: list[list[object]] = [
    ["Template", "Sessions", "Price", "Expiry days"],
    ["5-Pack", 5, 250, 60],
    ["10-Pack", 10, "£450", 120],
    ["Intro", 3, 90, None],
]


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


# --- practices ---------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One thing a person does in the Sheets UI. ``row`` is 1-based; ``column`` a header."""

    kind: str  # insert | delete | sort | type | column
    tab: str
    row: int = 0
    n: int = 1
    column: str = ""
    value: object = None
    descending: bool = False


@dataclass
class Practice:
    """A seeded practice: its tabs, whether it is synced once before the cycle under test,
    and what the practitioner typed since (new sessions, a new package)."""

    tabs: dict[str, list[list[object]]]
    synced: bool
    pending: list[Edit] = field(default_factory=list)


def _names(rng: random.Random, n: int) -> list[str]:
    pool = [f"{f} {last}" for f in FIRST for last in LAST]
    return rng.sample(pool, n)


def _header(rng: random.Random, names: list[str], extra: str) -> list[str]:
    """The contract's columns, sometimes with one of the practitioner's own among them."""
    out = list(names)
    if rng.random() < 0.3:
        out.insert(rng.randrange(1, len(out) + 1), extra)
    return out


def _row(header: Sequence[str], values: Mapping[str, object]) -> list[object]:
    return [values.get(h) for h in header]


def generate(rng: random.Random) -> Practice:
    """5-30 clients, their packages and sessions: some Package IDs blank (the sync fills
    them), some sessions new since the last sync (so the cycle under test writes)."""
    clients = _names(rng, rng.randint(5, 30))
    billing = {c: rng.choice(("Package",) * 6 + ("Per-session", "Monthly", None)) for c in clients}
    clients_header = _header(rng, ["Client", "Email", "Billing"], "Phone")
    clients_rows = [
        _row(
            clients_header,
            {
                "Client": c,
                "Email": f"{c.replace(' ', '.').lower()}@example.com"
                if rng.random() < 0.5
                else None,
                "Billing": billing[c],
                "Phone": f"07700 900{rng.randint(100, 999)}",
            },
        )
        for c in clients
    ]
    packages_header = _header(
        rng,
        ["Package ID", "Client", "Package", "Template", "Sessions", "Price", "Purchased",
         "Expires", "Adjust", "Shared with"],
        "Paid by",
    )  # fmt: skip
    packages_rows: list[list[object]] = []
    owned: dict[str, list[str]] = {}
    next_id = 1
    for c in clients:
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3)) if billing[c] != "Per-session" else 0):
            values: dict[str, object] = {"Client": c}
            if rng.random() < 0.75:
                values["Package ID"] = f"P-{next_id:04d}"
                owned.setdefault(c, []).append(f"P-{next_id:04d}")
            next_id += 1
            if rng.random() < 0.5:
                values["Template"] = rng.choice(("5-Pack", "10-Pack", "Intro"))
            else:
                values["Package"] = rng.choice(("Single block", "Course", "Top-up"))
                values["Sessions"] = rng.randint(2, 10)
                values["Price"] = rng.choice((120, "$300", None))
            values["Purchased"] = days_ago(rng.randint(5, 150)) if rng.random() < 0.9 else None
            if "Template" not in values and rng.random() < 0.3:
                values["Expires"] = days_ago(rng.randint(-60, 20))
            if rng.random() < 0.1:
                values["Adjust"] = rng.choice((-2, -1, 1, 2))
            if rng.random() < 0.08:
                values["Shared with"] = rng.choice(clients)
            if rng.random() < 0.03:
                values["Client"] = c + "x"  # a typo: a row problem with a note
            packages_rows.append(_row(packages_header, values))
    sessions_header = _header(rng, ["Date", "Client", "Package ID", "Outcome", "Notes"], "Room")
    sessions_rows: list[list[object]] = []
    for c in clients:
        for _ in range(rng.randint(0, 6)):
            sessions_rows.append(_session(rng, sessions_header, c, owned, old=True))
    # Mostly in date order, as sessions are logged, with a few out of place.
    sessions_rows.sort(key=lambda r: (r[sessions_header.index("Date")], str(r[1])))
    for _ in range(len(sessions_rows) // 8):
        i, j = rng.randrange(len(sessions_rows)), rng.randrange(len(sessions_rows))
        sessions_rows[i], sessions_rows[j] = sessions_rows[j], sessions_rows[i]
    tabs: dict[str, list[list[object]]] = {
        "Clients": [list[object](clients_header), *clients_rows],
        "Packages": [list[object](packages_header), *packages_rows],
        "Sessions": [list[object](sessions_header), *sessions_rows],
        "Templates": [list(r) for r in TEMPLATES],
    }
    pending: list[Edit] = []
    end = len(sessions_rows) + 2
    for i in range(rng.randint(2, 6)):
        row = _session(rng, sessions_header, rng.choice(clients), owned, old=False)
        pending += [
            Edit("type", "Sessions", end + i, column=h, value=v)
            for h, v in zip(sessions_header, row, strict=True)
            if v is not None
        ]
    if rng.random() < 0.5:
        at = len(packages_rows) + 2
        buyer = rng.choice(clients)
        pending += [
            Edit("type", "Packages", at, column="Client", value=buyer),
            Edit("type", "Packages", at, column="Template", value="5-Pack"),
        ]
        pending.append(Edit("type", "Sessions", end + 7, column="Date", value=TODAY))
        pending.append(Edit("type", "Sessions", end + 7, column="Client", value=buyer))
    return Practice(tabs, synced=rng.random() < 0.7, pending=pending)


def _session(
    rng: random.Random,
    header: Sequence[str],
    client: str,
    owned: Mapping[str, list[str]],
    *,
    old: bool,
) -> list[object]:
    values: dict[str, object] = {
        "Date": days_ago(rng.randint(0, 120) if old else rng.randint(-2, 3)),
        "Client": client,
        "Outcome": rng.choice(OUTCOMES),
    }
    if owned.get(client) and rng.random() < 0.3:
        values["Package ID"] = rng.choice(owned[client])
    if rng.random() < 0.15:
        values["Notes"] = rng.choice(("knee", "=1+1", "rescheduled"))
    return _row(header, values)


def create(fake: FakeSheets, practice: Practice) -> str:
    """The practice as a spreadsheet in ``fake`` (dates as date cells), with room below."""
    longest = max(len(rows) for rows in practice.tabs.values())
    return fake.create_spreadsheet(
        "Practice",
        {t: [list(r) for r in rows] for t, rows in practice.tabs.items()},
        row_count=longest + 12,
        column_count=17,
    )


def computed_cleared(source: FakeSheets, sid: str, seed: int) -> FakeSheets:
    """A fresh fake holding a copy of the sheet with every computed value and the
    Dashboard taken away: what a from-scratch sync of its inputs starts from. Formats
    stay, as a person's copy-paste of the input cells would leave them."""
    fresh = FakeSheets(seed=seed)
    ss = source.state.get(sid).clone()
    ss.sheets = [s for s in ss.sheets if key(s.title) in INPUTS]
    for sheet in ss.sheets:
        computed = {
            c
            for (r, c), cell in sheet.cells.items()
            if r == 0
            and key(text(render(cell, "UNFORMATTED_VALUE", "SERIAL_NUMBER", "en_GB")))
            in COMPUTED[key(sheet.title)]
        }
        for (r, c), cell in list(sheet.cells.items()):
            if r > 0 and c in computed:
                sheet.put(r, c, {k: v for k, v in cell.items() if k != "userEnteredValue"})
    fresh.state.spreadsheets[sid] = ss
    return fresh


# --- human edits -------------------------------------------------------------------


Values = dict[str, list[list[Any]]]


def values_of(fake: FakeSheets, sid: str) -> Values:
    return {tab: fake.values(sid, tab) for tab in PERSON_TABS}


def _col(rows: list[list[Any]], name: str) -> int:
    return [key(text(h)) for h in rows[0]].index(key(name))


def _at(rows: list[list[Any]], row: int, name: str) -> object:
    line = rows[row - 1] if row - 1 < len(rows) else []
    col = _col(rows, name)
    return line[col] if col < len(line) else None


def plan_edits(rng: random.Random, values: Values) -> list[Edit]:
    """One to three things a person does while a cycle runs, chosen for this sheet."""
    count = rng.choice((1, 1, 1, 2, 2, 3))
    ops: list[Edit] = []
    for _ in range(count):
        tab = rng.choice(("Sessions",) * 6 + ("Packages",) * 3 + ("Clients",))
        ops += _one_edit(rng, tab, values)
    if rng.random() < 0.05:
        ops.append(Edit("column", rng.choice(PERSON_TABS), n=rng.randint(0, 3)))
    return ops


def _one_edit(rng: random.Random, tab: str, values: Values) -> list[Edit]:
    rows = values[tab]
    last = len(rows)  # last row with data (1-based)
    kind = rng.choice(("insert", "insert", "delete", "delete", "sort", "type", "type", "type"))
    if last < 2:
        kind = "insert"
    if kind == "insert":
        at = rng.choice((2, 2, rng.randint(2, last + 1)))
        n = rng.randint(1, 3)
        out = [Edit("insert", tab, at, n)]
        if tab == "Sessions" and rng.random() < 0.6:  # and types a session into it
            client = rng.choice([r[0] for r in values["Clients"][1:] if r] or ["Nobody"])
            out += [
                Edit("type", tab, at, column="Date", value=TODAY),
                Edit("type", tab, at, column="Client", value=client),
            ]
        return out
    if kind == "delete":
        return [Edit("delete", tab, rng.randint(2, last), rng.randint(1, 2))]
    if kind == "sort":
        names = [h for h in rows[0] if isinstance(h, str) and key(h) in INPUTS[key(tab)]]
        return [Edit("sort", tab, column=rng.choice(names), descending=rng.random() < 0.5)]
    row = rng.randint(2, last)
    clients = [str(r[_col(values["Clients"], "Client")]) for r in values["Clients"][1:] if r]
    ids = [
        str(r[_col(values["Packages"], "Package ID")])
        for r in values["Packages"][1:]
        if r and not is_blank(r[_col(values["Packages"], "Package ID")])
    ]
    if tab == "Sessions":
        column = rng.choice(("Package ID", "Package ID", "Client", "Outcome", "Date"))
        current = _at(rows, row, column)
        value: object
        if column == "Package ID":
            value = rng.choice(ids or ["P-0001"]) if is_blank(current) else None
        elif column == "Client":
            value = rng.choice(clients)
        elif column == "Outcome":
            value = rng.choice(("Attended", "No-show", "Cancelled"))
        else:
            value = days_ago(rng.randint(0, 90))
    elif tab == "Packages":
        column = rng.choice(("Package ID", "Client", "Sessions", "Adjust"))
        if column == "Package ID":
            blank = is_blank(_at(rows, row, column))
            value = f"P-{rng.randint(500, 599):04d}" if blank else f"X-{rng.randint(1, 9)}"
        elif column == "Client":
            value = rng.choice(clients)
        elif column == "Sessions":
            value = rng.randint(1, 12)
        else:
            value = rng.randint(-2, 2)
    else:
        column = rng.choice(("Client", "Billing"))
        value = f"{_at(rows, row, 'Client')} Jr" if column == "Client" else "Per-session"
    return [Edit("type", tab, row, column=column, value=value)]


def header_row(fake: FakeSheets, sid: str, tab: str) -> list[object]:
    sheet = fake.state.get(sid).sheet_by_title(tab)
    assert sheet is not None
    cells = {c: cell for (r, c), cell in sheet.cells.items() if r == 0}
    return [render(cells.get(c), "UNFORMATTED_VALUE", "SERIAL_NUMBER", "en_GB")
            for c in range(max(cells, default=-1) + 1)]  # fmt: skip


def apply_edits(fake: FakeSheets, sid: str, ops: Iterable[Edit]) -> None:
    """Carry the edits out as the Sheets UI does (each one a new revision)."""
    for op in ops:
        if op.kind == "insert":
            fake.insert_rows(sid, op.tab, op.row, op.n)
        elif op.kind == "delete":
            fake.delete_rows(sid, op.tab, op.row, op.n)
        elif op.kind == "sort":
            letter = column_letter(_col([header_row(fake, sid, op.tab)], op.column))
            fake.sort_rows(sid, op.tab, letter, descending=op.descending)
        elif op.kind == "column":
            sheet = fake.state.get(sid).sheet_by_title(op.tab)
            assert sheet is not None
            sheet.insert("COLUMNS", op.n, 1, False)
            fake.state.get(sid).revision += 1
        else:
            letter = column_letter(_col([header_row(fake, sid, op.tab)], op.column))
            fake.edit_cell(sid, op.tab, f"{letter}{op.row}", op.value)


# --- what the sheet shows ----------------------------------------------------------

#: (value as the values API gives it, background color, number format type)
Cell = tuple[object, tuple[tuple[str, float], ...] | None, str | None]
Grid = dict[str, dict[tuple[int, int], Cell]]


def grid(fake: FakeSheets, sid: str) -> Grid:
    """Every tab's non-empty cells, by title and 0-based (row, col)."""
    ss = fake.state.get(sid)
    out: Grid = {}
    for sheet in ss.sheets:
        cells: dict[tuple[int, int], Cell] = {}
        for at, raw in sheet.cells.items():
            value = render(raw, "UNFORMATTED_VALUE", "SERIAL_NUMBER", ss.locale)
            fmt = raw.get("userEnteredFormat") or {}
            background = fmt.get("backgroundColor")
            color = tuple(sorted(background.items())) if background else None
            if value in (None, "") and color is None:
                continue
            cells[at] = (value, color, (fmt.get("numberFormat") or {}).get("type"))
        out[sheet.title] = cells
    return out


def differing(a: Grid, b: Grid) -> int:
    """How many cells differ between two sheets (a tab only one has counts all its cells)."""
    count = 0
    for tab in set(a) | set(b):
        x, y = a.get(tab, {}), b.get(tab, {})
        count += sum(1 for at in set(x) | set(y) if x.get(at) != y.get(at))
    return count


def header(cells: Mapping[tuple[int, int], Cell]) -> dict[int, str]:
    return {c: key(text(v[0])) for (r, c), v in cells.items() if r == 0 and not is_blank(v[0])}


def inputs(
    cells: Mapping[tuple[int, int], Cell], names: Mapping[int, str], tab: str, row: int
) -> dict[str, object]:
    """A row's input cells by column name (0-based ``row``; ``names`` is the header):
    what the row *is*."""
    wanted = INPUTS.get(key(tab), set())
    out = {}
    for col, name in names.items():
        if name in wanted:
            found = cells.get((row, col))
            out[name] = None if found is None else found[0]
    return out


@dataclass
class Misplaced:
    """Cells a cycle wrote, judged against the row each was computed for."""

    written: int = 0
    wrong_row: list[str] = field(default_factory=list)
    #: Cells written where the plan had no change at all (a bug in building the write).
    unplanned: list[str] = field(default_factory=list)
    typed_overwritten: list[str] = field(default_factory=list)
    #: Sessions given a new package's ID that the package row itself did not get.
    dangling: list[str] = field(default_factory=list)
    #: Of ``wrong_row``, the cells in input columns (the rest are computed cells).
    wrong_row_inputs: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        """Everything a race must not leave: wrong rows, lost typed cells, dangling IDs."""
        return self.wrong_row + self.typed_overwritten + self.dangling


def misplaced(read: Grid, edited: Grid, after: Grid, plan: WritePlan) -> Misplaced:
    """Every cell that changed between ``edited`` (the sheet just before the write) and
    ``after`` was written by the cycle. It is on the wrong row when the row it sits on
    does not hold the inputs of the row the cycle read there (``read``), or its column is
    not the one read there; a non-blank input cell it changed was typed by a person."""
    planned = {(c.tab, c.row - 1, c.col) for c in plan.cells}
    planned |= {(h.tab, 0, h.col) for h in plan.headers}
    new_ids = {
        key(text(c.new)): (c.row - 1, c.col)
        for c in plan.cells
        if c.input_fill and c.tab == "Packages" and c.column == "Package ID"
    }
    out = Misplaced()
    for tab in PERSON_TABS:
        was, now, then = read.get(tab, {}), edited.get(tab, {}), after.get(tab, {})
        head_read, head_now = header(was), header(now)
        for at in sorted(set(now) | set(then)):
            if now.get(at) == then.get(at):
                continue
            out.written += 1
            row, col = at
            where = f"{tab}!{column_letter(col)}{row + 1}"
            if (tab, row, col) not in planned:
                out.unplanned.append(f"{where}: no planned change there")
                out.wrong_row.append(out.unplanned[-1])
            elif head_read != head_now:
                out.wrong_row.append(f"{where}: the columns moved")
            elif row > 0 and inputs(was, head_read, tab, row) != inputs(now, head_now, tab, row):
                out.wrong_row.append(f"{where}: the row holds another row's inputs")
            name = head_now.get(col)
            misplaced_here = out.wrong_row and out.wrong_row[-1].startswith(f"{where}:")
            if misplaced_here and name in INPUTS[key(tab)]:
                out.wrong_row_inputs.append(out.wrong_row[-1])
            typed = now.get(at)
            if (
                row > 0
                and name in INPUTS[key(tab)]
                and typed is not None
                and not is_blank(typed[0])
            ):
                out.typed_overwritten.append(f"{where}: {typed[0]!r} -> {then.get(at)}")
            written = then.get(at)
            if tab == "Sessions" and name == key("Package ID") and written is not None:
                package = new_ids.get(key(text(written[0])))
                given = after.get("Packages", {}).get(package) if package else None
                if package and (given is None or key(text(given[0])) != key(text(written[0]))):
                    out.dangling.append(f"{where}: {written[0]} is no package's ID")
    return out


# --- the parts of a run ------------------------------------------------------------


class FakeClock:
    """Seconds that pass only when the retries sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def google_backend(
    sid: str, endpoint: str, *, seed: int, policy: RetryPolicy | None = None
) -> GoogleBackend:
    """The real backend against the fake, with a seeded rng and a clock that only moves
    when the retries sleep (so no test waits)."""
    clock = FakeClock()
    return GoogleBackend(
        sid,
        endpoint=endpoint,
        policy=policy or RetryPolicy(attempts=4, total_seconds=60, timeout=(5.0, 5.0)),
        rng=random.Random(seed),
        sleep=clock.sleep,
        clock=clock,
    )


def at_minute(minute: int) -> Callable[[], datetime]:
    return lambda: NOON + timedelta(minutes=minute)


class _KeyedAlerts(AlertKeys):
    """The real alert keys, remembering the last cycle's new events and its time."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.new: list[Event] = []
        self.now = ""

    def record(self, events: Iterable[Event], now: datetime, *, retire: bool = True) -> list[Event]:
        self.new = super().record(events, now, retire=retire)
        self.now = timestamp(now)
        return self.new


class _KeyedOutbox(Outbox):
    """The real outbox, noting which of the cycle's new events each message reports."""

    def __init__(self, db: Database, alerts: _KeyedAlerts) -> None:
        super().__init__(db)
        self._alerts = alerts
        self.events_of: dict[str, tuple[str, ...]] = {}

    def queue(self, dedupe_key: str, message: EmailMessage, now: datetime) -> bool:
        new, at = self._alerts.new, self._alerts.now
        if dedupe_key.startswith("digest:"):
            found = tuple(e.key for e in new if e.audience == PRACTITIONER)
        else:
            found = tuple(
                e.key for e in new if dedupe_key in (f"notice:{e.key}", f"notice:{e.key}:{at}")
            )
        assert found, f"a message reporting no new event: {dedupe_key}"
        self.events_of[str(message["Message-ID"])] = found
        return super().queue(dedupe_key, message, now)


class KeyedStore(Store):
    """The real state store, remembering which events each queued message reports
    (by Message-ID), so alerts are counted event by event across cycles."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path)
        keyed = _KeyedAlerts(self.db)
        self.alerts = keyed
        self.outbox = self._keyed = _KeyedOutbox(self.db, keyed)

    def reported(self, sent: Sequence[EmailMessage]) -> list[str]:
        """The event keys the sent messages reported, one entry per time sent."""
        return [k for m in sent for k in self._keyed.events_of[str(m["Message-ID"])]]
