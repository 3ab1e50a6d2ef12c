"""Hostile and careless input: whole workbooks spoiled every way a sheet can be (hypothesis).

Properties, on the workbooks of :mod:`tests.safety.hostile`:

- the engine never raises, and every row with a problem gets a note that names
  the column (``Sessions row 7: Date: 'yesterday' is not a date ...``);
- a bad row never changes another row's result: the workbook computes exactly
  as with that row blanked (a typed Package ID still reserves its number, and a
  row that names the bad row by ID or template keeps its status, its note
  pointing at the bad row's problem instead);
- duplicated IDs and names: the upper row stands, the lower is invalid, the
  rest computes as without the lower one;
- unknown columns, column order and header case change nothing;
- a second cycle changes nothing (idempotence, through the memory backend);
- hostile text written into a real xlsx file reads back as the same text, as
  text (never a formula), and a second cycle writes nothing.

Examples are counted and kept in ``test-artifacts/reliability/input-*.json``.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from rules.engine import compute
from rules.model import Result, Settings, Table
from rules.parse import id_key
from rules.schema import SYNC_NOTE, SessionStatus
from rules.values import is_blank, key, text
from sync.backends.base import Snapshot, WriteOutcome, WritePlan
from sync.backends.xlsx import XlsxBackend
from sync.config import Config
from sync.cycle import run_cycle
from tests import memory
from tests.safety import FULL, record, size
from tests.safety.hostile import (
    SPECS,
    TODAY,
    UNKNOWN_HEADERS,
    Practice,
    Row,
    Spoiled,
    hostile_text,
    hostile_value,
    hostile_workbooks,
    practices,
    spellings,
    tables,
)

EXAMPLES: Counter[str] = Counter()
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def examples(fast: int, full: int) -> settings:
    """Seeded (derandomized) hypothesis settings; ``full`` examples under CREDITSHEET_FULL."""
    return settings(
        max_examples=size(fast, full),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


@pytest.fixture(scope="module", autouse=True)
def _count() -> Iterator[None]:
    yield
    record("input", {"examples": dict(EXAMPLES), "total": sum(EXAMPLES.values()), "full": FULL})


settings_strategy = st.builds(
    Settings,
    date_order=st.sampled_from([None, "DMY", "MDY"]),
    numbers_are_dates=st.booleans(),
    low_credit_threshold=st.integers(0, 3),
)


def computed(result: Result, *, filled: bool = True) -> dict[tuple[str, int, str], object]:
    """Every computed cell, color and filled blank, by (tab contract name, row, column)."""
    out: dict[tuple[str, int, str], object] = {}
    for tab in result.tabs:
        name = contract_name(tab.title)
        for col in tab.columns:
            for i, value in enumerate(col.values):
                out[(name, i + 2, col.name)] = value
                if col.colors is not None:
                    out[(name, i + 2, col.name + " color")] = col.colors[i]
        for f in tab.fills if filled else ():
            out[(name, f.row, f.column + " filled")] = f.value
    return out


def contract_name(title: str) -> str:
    return next(n for n in SPECS if key(n) == key(title))


COLUMN_NAMES = {key(c.name): c.name for spec in SPECS.values() for c in spec.columns}


def names_a_column(note: str, tab: str) -> bool:
    """A note in the contract's form: it starts with a column of that tab (``Date: ...``)."""
    columns = [c.name for c in SPECS[tab].columns]
    return any(part.strip().startswith(f"{c}:") for part in note.split("; ") for c in columns)


# --- the engine never raises; every problem names its column ---------------------------


@examples(300, 5000)
@given(hostile_workbooks(), settings_strategy)
def test_the_engine_never_raises_and_every_bad_row_says_which_column(
    spoiled: Spoiled, rules: Settings
) -> None:
    EXAMPLES["never raises"] += 1
    result = compute(spoiled.tables, today=TODAY, settings=rules)
    assert all(p.remaining >= 0 for p in result.packages)
    for problem in result.problems:
        if problem.row == 0:  # the optional Templates tab itself (a tab problem, named)
            assert contract_name(problem.tab) == "Templates" and problem.column, problem
            continue
        assert problem.row >= 2 and problem.column in COLUMN_NAMES.values(), problem
        assert problem.message.startswith(f"{problem.column}: "), problem
    bad_rows = {(contract_name(p.tab), p.row) for p in result.problems if p.row}
    cells = computed(result)
    for tab in result.tabs:
        name = contract_name(tab.title)
        for col in tab.columns:
            assert len(col.values) == len(spoiled.tables[tab.title].rows)
        for i in range(len(spoiled.tables[tab.title].rows)):
            row = i + 2
            status = cells.get((name, row, "Status"))
            note = cells.get((name, row, SYNC_NOTE))
            if status == "Invalid" or (name, row) in bad_rows:
                assert isinstance(note, str) and note.strip(), (name, row, note)
                assert names_a_column(note, name), (name, row, note)
            if (name, row) in bad_rows and name in ("Packages", "Sessions"):
                assert status == "Invalid"
                assert cells[(name, row, "Status color")] == "#F4C7C3"


# --- a bad row changes no other row ------------------------------------------------------

#: Per tab, the input columns a hostile value is put into (at least one of them).
SPOILABLE = {name: [c.name for c in spec.inputs] for name, spec in SPECS.items()}


@st.composite
def one_bad_row(draw: st.DrawFn) -> tuple[Practice, str, int, Row]:
    """A valid practice and one of its rows spoiled in one to three input columns."""
    practice = draw(practices())
    tab = draw(st.sampled_from([t for t, rows in practice.rows.items() if rows]))
    at = draw(st.integers(0, len(practice.rows[tab]) - 1))
    row = dict(practice.rows[tab][at])
    for column in draw(st.lists(st.sampled_from(SPOILABLE[tab]), min_size=1, max_size=3)):
        row[column] = draw(hostile_value)
    return practice, tab, at, row


def identity(tab: str, row: Row) -> set[str]:
    """The keys other rows may name this row by."""
    column = {"Clients": "Client", "Templates": "Template", "Packages": "Package ID"}.get(tab)
    raw = row.get(column) if column else None
    if raw is None or is_blank(raw):
        return set()
    return {id_key(text(raw)) if tab == "Packages" else key(text(raw))}


def naming(practice: Practice, tab: str, names: set[str]) -> set[tuple[str, int]]:
    """Rows that name the bad row by Package ID or template, or name a package that does:
    their notes point at the bad row's problem."""
    found: set[tuple[str, int]] = set()
    if tab == "Templates" and names:
        ids = set()
        for i, row in enumerate(practice.rows["Packages"]):
            raw = row.get("Template")
            if raw is not None and not is_blank(raw) and key(text(raw)) in names:
                found.add(("Packages", i + 2))
                if row.get("Package ID"):
                    ids.add(id_key(text(row["Package ID"])))
        return found | naming(practice, "Packages", ids)
    if tab == "Packages" and names:
        for i, row in enumerate(practice.rows["Sessions"]):
            raw = row.get("Package ID")
            if raw is not None and not is_blank(raw) and id_key(text(raw)) in names:
                found.add(("Sessions", i + 2))
    return found


def with_row(practice: Practice, tab: str, at: int, row: Row) -> Practice:
    rows = {t: [dict(r) for r in rs] for t, rs in practice.rows.items()}
    rows[tab][at] = row
    return Practice(rows)


@examples(300, 3000)
@given(one_bad_row(), settings_strategy)
def test_a_bad_row_changes_no_other_row(
    case: tuple[Practice, str, int, Row], rules: Settings
) -> None:
    practice, tab, at, bad = case
    original = practice.rows[tab][at]
    others = [r for i, r in enumerate(practice.rows[tab]) if i != at]
    taken = set().union(*(identity(tab, r) for r in others)) if others else set()
    if identity(tab, bad) & taken:
        EXAMPLES["a bad row: renamed onto another row (see the duplicates test)"] += 1
        return
    # A typed Package ID reserves its number wherever it stands, so a new package never
    # inherits a deleted one's history: the blanked row keeps that one cell.
    kept = {c: bad[c] for c in ("Package ID",) if tab in ("Packages", "Sessions") and c in bad}
    kept = {c: v for c, v in kept.items() if not is_blank(v)}
    spoiled = compute(tables(with_row(practice, tab, at, bad)), today=TODAY, settings=rules)
    blanked = compute(tables(with_row(practice, tab, at, kept)), today=TODAY, settings=rules)
    row = at + 2
    if not any(contract_name(p.tab) == tab and p.row == row for p in spoiled.problems):
        EXAMPLES["a bad row: the hostile value was valid there"] += 1
        return
    EXAMPLES["a bad row changes no other row"] += 1
    pointing = naming(practice, tab, identity(tab, original) | identity(tab, bad))
    a, b = computed(spoiled), computed(blanked)
    for k in set(a) | set(b):
        if (k[0], k[1]) == (tab, row):
            continue
        if (k[0], k[1]) in pointing and k[2] == SYNC_NOTE:
            continue  # the note says why: it names the bad row's own problem
        assert a.get(k) == b.get(k), (k, a.get(k), b.get(k))
    for other, r in pointing:  # a bad package takes no session, a bad template fills nothing
        assert a.get((other, r, "Status")) != SessionStatus.DEDUCTED.value
    assert spoiled.dashboard == blanked.dashboard


# --- duplicates -------------------------------------------------------------------------


@st.composite
def a_duplicate(draw: st.DrawFn) -> tuple[Practice, str, Row]:
    """A valid practice and a copy of one of its rows (name or ID in odd case), appended."""
    practice = draw(practices())
    choices = [t for t in ("Clients", "Packages", "Templates") if practice.rows[t]]
    if "Packages" in choices and not any("Package ID" in r for r in practice.rows["Packages"]):
        choices.remove("Packages")
    tab = draw(st.sampled_from(choices))
    rows = [r for r in practice.rows[tab] if tab != "Packages" or "Package ID" in r]
    copy = dict(draw(st.sampled_from(rows)))
    column = {"Clients": "Client", "Templates": "Template", "Packages": "Package ID"}[tab]
    copy[column] = draw(spellings)(str(copy[column]))
    if tab == "Packages" and draw(st.booleans()):
        copy[column] = str(copy[column]).replace("-000", "-")  # P-0003 and p-3 are one ID
    return practice, tab, copy


@examples(150, 1000)
@given(a_duplicate(), settings_strategy)
def test_a_duplicate_id_or_name_the_upper_row_stands_the_lower_is_invalid(
    case: tuple[Practice, str, Row], rules: Settings
) -> None:
    practice, tab, copy = case
    EXAMPLES["duplicates"] += 1
    doubled = Practice({t: [dict(r) for r in rs] for t, rs in practice.rows.items()})
    doubled.rows[tab].append(copy)
    row = len(doubled.rows[tab]) + 1
    with_copy = compute(tables(doubled), today=TODAY, settings=rules)
    without = compute(tables(practice), today=TODAY, settings=rules)
    mine = [p for p in with_copy.problems if contract_name(p.tab) == tab and p.row == row]
    column = {"Clients": "Client", "Templates": "Template", "Packages": "Package ID"}[tab]
    assert any(p.column == column and "already" in p.message and "row" in p.message for p in mine)
    a, b = computed(with_copy), computed(without)
    for k in set(a) | set(b):
        if (k[0], k[1]) != (tab, row):
            assert a.get(k) == b.get(k), (k, a.get(k), b.get(k))


# --- unknown columns, column order, header case -------------------------------------------


@st.composite
def rearranged(draw: st.DrawFn) -> tuple[Practice, dict[str, Table]]:
    practice = draw(practices())
    out = {}
    for name, table in tables(practice).items():
        header: list[object] = list(table.header)
        body = [list(r) for r in table.rows]
        for _ in range(draw(st.integers(0, 3))):
            header.append(draw(UNKNOWN_HEADERS[name]))
            for r in body:
                r.append(draw(hostile_value))
        header = [
            draw(spellings)(h) if isinstance(h, str) and key(h) in COLUMN_NAMES else h
            for h in header
        ]
        order = draw(st.permutations(range(len(header))))
        out[name] = Table(name, [header[i] for i in order], [[r[i] for i in order] for r in body])
    return practice, out


@examples(150, 1000)
@given(rearranged(), settings_strategy)
def test_unknown_columns_column_order_and_header_case_change_no_result(
    case: tuple[Practice, dict[str, Table]], rules: Settings
) -> None:
    practice, moved = case
    EXAMPLES["unknown columns and order"] += 1
    a = computed(compute(tables(practice), today=TODAY, settings=rules))
    b = computed(compute(moved, today=TODAY, settings=rules))
    assert a == b


# --- idempotence through the memory backend ---------------------------------------------


class MemoryBackend(memory.MemoryBackend):
    """The memory fake, filling a blank input cell as the real backends do.

    Both real backends fill a cell that holds only spaces (``is_blank``); the fake
    skipped it as typed, which left one package's ID unwritten and every later ID a
    number higher each cycle: a difference of the fake, not of the sync.
    """

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        for c in plan.cells:
            rows = self.rows[c.tab]
            row = rows[c.row - 2] if c.input_fill and c.row - 2 < len(rows) else []
            if c.col < len(row) and is_blank(row[c.col]):
                row[c.col] = None
        return super().write(snapshot, plan)


@examples(150, 1500)
@given(hostile_workbooks(), st.sampled_from([None, "DMY"]), st.booleans())
def test_a_second_cycle_on_a_hostile_workbook_changes_nothing(
    spoiled: Spoiled, order: str | None, numbers_are_dates: bool
) -> None:
    EXAMPLES["idempotence"] += 1
    backend = MemoryBackend(spoiled.tables, numbers_are_dates=numbers_are_dates)
    config = Config.model_validate({"workbook": {"date_order": order}})
    first = run_cycle(config, backend, now=NOW)
    second = run_cycle(config, backend, now=NOW)
    assert not second.plan, [str(c) for c in second.plan.cells[:5]]
    assert computed(first.result, filled=False) == computed(second.result, filled=False)
    assert not any(tab.fills for tab in second.result.tabs)  # every blank was filled once


# --- hostile text through a real xlsx file -----------------------------------------------

_EXCEL_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_")


def as_excel_stores_it(value: str) -> str:
    """Text as Excel writes it in the file (what openpyxl puts there verbatim)."""
    return _EXCEL_ESCAPE.sub(
        lambda m: "_x005F" + m.group() if len(m.group()) > 1 else f"_x{ord(m.group()):04X}_",
        value,
    )


#: Names the file can hold as typed. Left out: text that reads like Excel's escape for a
#: character (``_x0041_``): openpyxl's rich-text reader unescapes it in cells the sync
#: does not write and saves it unescaped, so such an input cell reads back as ``A``
#: after any write (an openpyxl limitation, see docs/reliability.md).
names_text = hostile_text.filter(
    lambda s: (
        bool(s.strip())
        and "\ufffe" not in s
        and "\uffff" not in s
        and len(s) < 32_000
        and not re.search("_x[0-9A-Fa-f]{4}_", s)
    )
)


@st.composite
def hostile_names(draw: st.DrawFn) -> dict[str, list[list[object]]]:
    """A practice whose names, template names and Package IDs are hostile text."""
    clients = draw(st.lists(names_text, min_size=1, max_size=3, unique_by=lambda s: key(s.strip())))
    template = draw(names_text)
    ids = draw(st.lists(names_text, min_size=1, max_size=2, unique_by=lambda s: key(s.strip())))
    packages: list[list[object]] = [
        [pid, draw(st.sampled_from(clients)), template if i == 0 else None, 3, date(2026, 9, 1)]
        for i, pid in enumerate(ids)
    ]
    sessions: list[list[object]] = [
        [date(2026, 10, d + 1), draw(st.sampled_from(clients)), None] for d in range(3)
    ]
    sessions.append([date(2026, 10, 9), draw(names_text), draw(st.none() | names_text)])
    sessions.append([date(2026, 10, 9), clients[-1] + draw(st.sampled_from(["x", "\x07"])), None])
    sessions.append([draw(names_text), clients[0], None])
    return {
        "Clients": [["Client"], *column(clients)],
        "Templates": [["Template", "Sessions"], [template, 2]],
        "Packages": [["Package ID", "Client", "Template", "Sessions", "Purchased"], *packages],
        "Sessions": [["Date", "Client", "Package ID"], *sessions],
    }


def column(values: list[str]) -> list[list[object]]:
    return [[v] for v in values]


def write_input(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(r, c)
                if isinstance(value, str):
                    cell.value = as_excel_stores_it(value)
                    cell.data_type = "s"
                else:
                    cell.value = value
    wb.save(path)


@examples(25, 600)
@given(hostile_names())
def test_hostile_text_written_to_xlsx_reads_back_as_the_same_text(
    sheets: dict[str, list[list[object]]],
) -> None:
    EXAMPLES["xlsx round trip"] += 1
    with TemporaryDirectory() as folder:
        path = Path(folder) / "practice.xlsx"
        write_input(path, sheets)
        backend = XlsxBackend(path)
        first = run_cycle(Config(), backend, now=NOW)
        assert first.outcome.written, first.outcome.reason
        assert not run_cycle(Config(), backend, now=NOW).plan  # read back: the same
        read = backend.read().tables
        wanted = computed(first.result)
        texts = 0
        for (tab, row, column), value in wanted.items():
            if column.endswith(" color") or not isinstance(value, str):
                continue
            name = column.removesuffix(" filled")
            table = read[tab]
            at = [key(text(h)) for h in table.header].index(key(name))
            cells = table.rows[row - 2]
            got = cells[at] if at < len(cells) else None
            assert got == value, (tab, row, column, value[:80], str(got)[:80])
            texts += 1
        assert texts
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            for line in ws.iter_rows():
                for cell in line:
                    assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
        data = path.read_bytes()
        CalamineWorkbook.from_filelike(io.BytesIO(data))  # whole, for the other reader too


# --- the two bugs these tests found, as plain examples ------------------------------------


def sheet(path: Path, clients: list[str], sessions: list[list[object]]) -> None:
    write_input(
        path,
        {
            "Clients": [["Client"], *column(clients)],
            "Packages": [
                ["Package ID", "Client", "Sessions", "Purchased"],
                ["P-0001", clients[0], 5, date(2026, 1, 1)],
            ],
            "Sessions": [["Date", "Client", "Package ID"], *sessions],
        },
    )


def test_a_control_character_in_one_row_does_not_stop_the_write(tmp_path: Path) -> None:
    # Word's soft line break pastes as \x0b; Excel keeps it as _x000B_. openpyxl refused
    # such text, so one row quoting it failed every write of the whole workbook.
    path = tmp_path / "practice.xlsx"
    sheet(path, ["Ann"], [[date(2026, 2, 1), "Ann"], [date(2026, 2, 2), "Zed\x07"]])
    backend = XlsxBackend(path)
    report = run_cycle(Config(), backend, now=NOW)
    assert report.outcome.written
    rows = backend.read().tables["Sessions"].rows
    assert rows[0][2:4] == ["P-0001", "Deducted"]
    assert rows[1][3] == "Invalid" and str(rows[1][4]).startswith("Client: 'Zed\x07'")
    assert not run_cycle(Config(), backend, now=NOW).plan


def test_a_note_quoting_huge_typed_values_fits_a_cell_and_is_written_once(tmp_path: Path) -> None:
    # A 20,000-character name mistyped: the note quoting it and its suggestion passed the
    # 32,767 characters a cell holds, was cut on save, and so was rewritten every cycle.
    name = ("Ann Lee " * 2500)[:20_000]
    path = tmp_path / "practice.xlsx"
    sheet(path, [name], [[date(2026, 2, 1), name], [date(2026, 2, 2), name + "x"]])
    backend = XlsxBackend(path)
    assert run_cycle(Config(), backend, now=NOW).outcome.written
    assert not run_cycle(Config(), backend, now=NOW).plan
    note = str(backend.read().tables["Sessions"].rows[1][4])
    assert note.startswith("Client: 'Ann Lee") and note.endswith("…") and len(note) == 2000


def test_without_a_package_id_column_the_picks_are_not_written_and_nothing_moves(
    tmp_path: Path,
) -> None:
    # The Packages tab left without its optional Package ID column: IDs are worked out
    # afresh each cycle. Writing the picked ID into the sessions made the next cycle count
    # it as taken and number the package one higher, so every session it had filled
    # named a package that no longer existed, and turned Invalid.
    path = tmp_path / "practice.xlsx"
    write_input(
        path,
        {
            "Clients": [["Client"], ["Ann"]],
            "Packages": [["Client", "Sessions", "Purchased"], ["Ann", 5, date(2026, 1, 1)]],
            "Sessions": [["Date", "Client", "Package ID"], [date(2026, 2, 1), "Ann", None]],
        },
    )
    backend = XlsxBackend(path)
    for _ in range(3):
        run_cycle(Config(), backend, now=NOW)
        rows = backend.read().tables["Sessions"].rows
        assert not rows[0][2] and rows[0][3:] == ["Deducted", "P-0001: 4 of 5 left"], rows
    assert not run_cycle(Config(), backend, now=NOW).plan
