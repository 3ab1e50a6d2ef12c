"""The Google Sheets backend: one read per idle cycle, one more read and one write when busy.

    backend = GoogleBackend(key, key_file=Path("service-account.json"))
    snapshot = backend.read()           # one values:batchGet of every tab
    backend.write(snapshot, plan)       # one values:batchGet to verify, one batchUpdate

It talks to the Sheets API v4 through gspread's HTTP client (with our own
bounded retries, :mod:`sync.backends.retry`) and a google-auth service
account. The spreadsheet's metadata (tab ids, titles, grid sizes, time zone)
is read once and kept; it is read again only when a tab went missing or was
renamed, or when a tab the sync knows is absent (so a tab the practitioner
adds later is seen).

Each read has a digest (``Snapshot.digest``): of Google's answer byte for byte,
with the tab titles asked for and the time zone. An answer the same as the last
one is not decoded again, and a running daemon reuses the last clean result
(:class:`sync.cycle.CleanMemo`) instead of working it out again.

There is no compare-and-swap in the Sheets API, and writes are positional: a
person may insert, delete or sort rows between our read and our write. So just
before writing, the rows about to be written are read again and every row
whose input cells changed is left for the next cycle. An edit in the round trip
after that read is caught by the write's own answer: input cells that landed on
another row or column are put back in the same cycle (``sync.backends.landed``).
Values are written as
typed cells (``stringValue``, never a formula), so a client named
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TypeVar

import requests
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.exceptions import APIError, NoValidUrlKeyFound
from gspread.http_client import ParamsType
from gspread.utils import extract_id_from_url

from rules.model import Table, Value
from rules.schema import DASHBOARD, PACKAGES, SESSIONS, TABS, CellKind, Tab
from rules.tabs import column_letter
from rules.values import date_to_serial, is_blank, key, text
from rules.words import plural
from sync.backends.base import (
    CellChange,
    HeaderChange,
    Layout,
    RowAppend,
    Snapshot,
    TabContent,
    WorkbookUnavailable,
    WriteOutcome,
    WritePlan,
    is_id_fill,
)
from sync.backends.landed import (
    Landing,
    Restore,
    cell_at,
    column_map,
    judge,
    judge_columns,
    trimmed,
)
from sync.backends.retry import RetryingHTTPClient, RetryPolicy, SheetsUnreachable
from sync.backends.setup import TabFound, TabSetup, plan_setup
from sync.keyfile import check_key_file

log = logging.getLogger(__name__)

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
#: Send every Sheets request to this base URL instead, without credentials (an emulator).
ENDPOINT_ENV = "CREDITSHEET_SHEETS_ENDPOINT"
#: Split a write into several batchUpdates only beyond this many bytes of JSON.
MAX_BATCH_BYTES = 2_000_000
#: Rows per updateCells request, so no single request outgrows a batch.
MAX_BLOCK_ROWS = 2_000
#: Verify at most this many separate row ranges; beyond, one range per tab.
MAX_VERIFY_RANGES = 60
DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
HEADER_FILL = "#EFEFEF"
PROTECTED_NOTE = "creditsheet writes this column; edits here are replaced by the next sync"

_META_FIELDS = (
    "properties(title,timeZone,locale),"
    "sheets(properties(sheetId,title,index,sheetType,"
    "gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,range,description,warningOnly))"
)
_VALUE = "userEnteredValue"
_NUMBER_FORMAT = "userEnteredFormat.numberFormat"
#: Google keeps ``backgroundColor`` and ``backgroundColorStyle`` in step; setting (or
#: clearing) the first sets (or clears) both.
_BACKGROUND = "userEnteredFormat.backgroundColor"
_KNOWN = {key(tab.name): tab for tab in TABS}
#: Google indents its JSON answers unless asked not to: a quarter of a big read.
_COMPACT = {"prettyPrint": "false"}
#: How every values read asks: plain values, dates as serial numbers, row by row.
_VALUES = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
    **_COMPACT,
}
T = TypeVar("T")


# --- configuration: which sheet, which account ---------------------------------


def spreadsheet_key(given: str) -> str:
    """The spreadsheet key from a Google Sheets address or a bare key (ValueError if neither)."""
    given = given.strip()
    if "/" in given:
        try:
            return extract_id_from_url(given)
        except NoValidUrlKeyFound:
            raise ValueError(
                f"'{given}' is not a Google Sheets address (it should look like "
                "https://docs.google.com/spreadsheets/d/<key>/edit)"
            ) from None
    if re.fullmatch(r"[A-Za-z0-9_-]{10,}", given):
        return given
    raise ValueError(f"'{given}' is neither a Google Sheets address nor a spreadsheet key")


def load_service_account(path: Path) -> tuple[Credentials, str]:
    """Credentials and the account's email from a service-account JSON key file."""
    fix = "download a JSON key for the service account (see docs/google.md, step 3)"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbookUnavailable(
            f"no service-account key file at {path}: {fix} and point [workbook] credentials at it"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not a text file"
        raise WorkbookUnavailable(
            f"the service-account key file {path} cannot be read ({reason}): "
            "check the file and its permissions"
        ) from None
    try:
        info = json.loads(raw)
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        if isinstance(info, dict) and ("installed" in info or "web" in info):
            what = "it is an OAuth client file, not a service-account key"
        elif isinstance(info, dict):
            what = 'its "type" is not "service_account"'
        else:
            what = "it is not JSON"
        raise WorkbookUnavailable(f"{path} is not a service-account key ({what}): {fix}")
    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=SCOPES
        )
    except (ValueError, KeyError, TypeError) as err:
        # google-auth names missing fields; a bad private key gets a message of our own,
        # so no part of the key ever reaches a message or a log.
        detail = str(err) if "missing fields" in str(err) else "its private key cannot be read"
        raise WorkbookUnavailable(
            f"{path} is not a usable service-account key ({detail}): {fix}"
        ) from None
    return credentials, str(info.get("client_email", ""))


# --- metadata ------------------------------------------------------------------


@dataclass
class TabInfo:
    """One tab as the metadata describes it."""

    sheet_id: int
    title: str
    rows: int
    columns: int
    frozen_rows: int = 0
    protected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Metadata:
    """The spreadsheet's title, time zone and tabs, read once and kept."""

    title: str
    time_zone: str | None
    tabs: list[TabInfo]
    read_at: float = 0.0

    @classmethod
    def parse(cls, raw: Mapping[str, Any], read_at: float) -> Metadata:
        props = raw.get("properties") or {}
        tabs = []
        for sheet in raw.get("sheets") or []:
            p = sheet.get("properties") or {}
            if p.get("sheetType", "GRID") != "GRID":
                continue
            grid = p.get("gridProperties") or {}
            tabs.append(
                TabInfo(
                    int(p.get("sheetId") or 0),
                    str(p.get("title", "")),
                    int(grid.get("rowCount") or 0),
                    int(grid.get("columnCount") or 0),
                    int(grid.get("frozenRowCount") or 0),
                    list(sheet.get("protectedRanges") or []),
                )
            )
        return cls(str(props.get("title", "")), props.get("timeZone"), tabs, read_at)

    def find(self, name: str) -> TabInfo | None:
        """A tab by its title: exactly, else case-insensitively with spaces trimmed."""
        for tab in self.tabs:
            if tab.title == name:
                return tab
        return next((t for t in self.tabs if key(t.title) == key(name)), None)


def quote_title(title: str) -> str:
    """A tab title as an A1 range: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def _grid_end(a1: str) -> tuple[int, int] | None:
    """(rows, columns) a whole-tab range such as ``'Tab'!A1:Z1000`` reaches."""
    m = re.search(r"!([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$", a1)
    if not m:
        return None
    letters, number = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(number), col


def range_title(a1: str) -> str | None:
    """The tab title of a range as Google prints it (``'My Tab'!A1:B2`` -> ``My Tab``)."""
    head, sep, _ = a1.rpartition("!")
    if not sep or not head:
        return None
    if len(head) > 1 and head[0] == head[-1] == "'":
        return head[1:-1].replace("''", "'")
    return head


def _cell(value: object) -> object:
    """A cell as the values API gives it, with Google's empty strings as blanks."""
    return None if value == "" else value


# --- typed cells -----------------------------------------------------------------
#
# A big write is a few hundred thousand cells: each is built straight as the JSON text it
# is sent as (the text ``json.dumps`` gives for the same CellData, which ``change_cell``
# gives as a dict), so it is encoded once, holds no dicts the garbage collector would walk
# again and again, and is measured for the batch limit without encoding it a second time.

#: JSON as ``requests`` encodes a ``json=`` body (``allow_nan=False``, otherwise the defaults),
#: so a request encoded here, once, goes out as the very bytes ``json=`` would send.
_JSON = json.JSONEncoder(allow_nan=False)
_DATE_FORMAT_JSON = '"numberFormat": ' + _JSON.encode(DATE_FORMAT)


def _color(hex_color: str) -> dict[str, float]:
    digits = hex_color.lstrip("#")
    channels = (("red", 0), ("green", 2), ("blue", 4))
    # Four decimals tell every 8-bit channel apart and keep big writes small.
    return {name: round(int(digits[i : i + 2], 16) / 255, 4) for name, i in channels}


@functools.lru_cache(maxsize=64)
def _background_json(fill: str) -> str:
    return '"backgroundColor": ' + _JSON.encode(_color(fill))


def _kind_of(value: object) -> CellKind:
    if isinstance(value, date):
        return "date"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "number"
    return "text"


def _number_json(number: int | float) -> str:
    """A number as the JSON encoder writes it (a non-finite one is refused)."""
    if isinstance(number, int):
        return int.__repr__(number)
    if not math.isfinite(number):
        raise ValueError(f"Out of range float values are not JSON compliant: {number!r}")
    return float.__repr__(number)


def _entered_json(value: object, kind: CellKind) -> tuple[str | None, bool]:
    """(The cell's ``userEnteredValue`` as JSON text, None for a blank; whether it is a
    date) -- never a formula."""
    if value is None or value == "":
        return None, False
    if kind == "date" and isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        return f'{{"numberValue": {_number_json(date_to_serial(day))}}}', True
    if (
        kind == "number"
        and isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
    ):
        number = int(value) if value == int(value) else float(value)
        return f'{{"numberValue": {_number_json(number)}}}', False
    string = text(value) if isinstance(value, date) else str(value)
    return f'{{"stringValue": {encode_basestring_ascii(string)}}}', False


def _typed(value: object, kind: CellKind) -> tuple[dict[str, Any], bool]:
    """(CellData holding the value, whether it is a date) -- never a formula."""
    entered, is_date = _entered_json(value, kind)
    if entered is None:
        return {}, False
    if is_date:
        return {
            _VALUE: json.loads(entered),
            "userEnteredFormat": {"numberFormat": dict(DATE_FORMAT)},
        }, True
    return {_VALUE: json.loads(entered)}, False


def _with_fill(data: dict[str, Any], fill: str | None) -> dict[str, Any]:
    out = dict(data)
    fmt = dict(out.get("userEnteredFormat") or {})
    if fill is not None:
        fmt["backgroundColor"] = _color(fill)
    if fmt:
        out["userEnteredFormat"] = fmt
    return out


_DATE_VALUE = f"{_VALUE},{_NUMBER_FORMAT}"


def cell_json(change: CellChange) -> tuple[str, str]:
    """One planned change as (CellData as JSON text, fields mask); a cleared fill is an
    explicit clear. The text is ``json.dumps`` of :func:`change_cell`'s CellData."""
    entered: str | None = None
    is_date = False
    fields = ""
    if change.set_value:
        entered, is_date = _entered_json(change.new, change.kind)
        fields = _DATE_VALUE if is_date else _VALUE
    background: str | None = None
    if change.set_fill:
        if change.fill is not None:
            background = _background_json(change.fill)
        fields = f"{fields},{_BACKGROUND}" if fields else _BACKGROUND
    fmt = background
    if is_date:
        fmt = _DATE_FORMAT_JSON if background is None else f"{_DATE_FORMAT_JSON}, {background}"
    if entered is None:
        return ("{}" if fmt is None else f'{{"userEnteredFormat": {{{fmt}}}}}'), fields
    if fmt is None:
        return f'{{"userEnteredValue": {entered}}}', fields
    return f'{{"userEnteredValue": {entered}, "userEnteredFormat": {{{fmt}}}}}', fields


def change_cell(change: CellChange) -> tuple[dict[str, Any], str]:
    """One planned change as (CellData, fields mask); a cleared fill is an explicit clear."""
    data, fields = cell_json(change)
    parsed: dict[str, Any] = json.loads(data)
    return parsed, fields


@dataclass(frozen=True)
class Block:
    """A rectangle of cells sharing one fields mask: one updateCells request."""

    sheet_id: int
    row: int  # 0-based
    col: int
    cells: tuple[tuple[dict[str, Any], ...], ...]
    fields: str

    def request(self) -> dict[str, Any]:
        return {
            "updateCells": {
                "start": {"sheetId": self.sheet_id, "rowIndex": self.row, "columnIndex": self.col},
                "rows": [{"values": list(row)} for row in self.cells],
                "fields": self.fields,
            }
        }


@dataclass(frozen=True)
class EncodedBlock:
    """A :class:`Block` whose rows are JSON text already (``{"values": [...]}`` each)."""

    sheet_id: int
    row: int  # 0-based
    col: int
    rows: tuple[str, ...]
    fields: str

    def encode(self) -> str:
        """The request as ``json.dumps`` gives ``Block.request()`` for the same cells."""
        return (
            f'{{"updateCells": {{"start": {{"sheetId": {self.sheet_id}, "rowIndex": {self.row}, '
            f'"columnIndex": {self.col}}}, "rows": [{", ".join(self.rows)}], '
            f'"fields": {encode_basestring_ascii(self.fields)}}}}}'
        )

    def halves(self) -> tuple[EncodedBlock, EncodedBlock]:
        half = len(self.rows) // 2
        return (
            EncodedBlock(self.sheet_id, self.row, self.col, self.rows[:half], self.fields),
            EncodedBlock(self.sheet_id, self.row + half, self.col, self.rows[half:], self.fields),
        )


#: A request of a write: as a dict, or an updateCells whose rows are JSON already.
Request = dict[str, Any] | EncodedBlock


#: A cell (0-based row, col) as one int, ``row << CELL_BITS | col``: sorted, these are the
#: cells row by row, and the cell right of ``at`` is ``at + 1`` (no sheet is 2**32 wide).
CELL_BITS = 32
_COL_MASK = (1 << CELL_BITS) - 1


def _rectangles(cells: Iterable[int]) -> list[list[int]]:
    """Cells (``row << CELL_BITS | col``) as rectangles ``[first row, end row, first col,
    end col]``: runs along a row, stacked down, at most MAX_BLOCK_ROWS rows each."""
    at = sorted(cells)
    stacks: list[list[int]] = []
    open_stack: dict[int, list[int]] = {}  # by first col << CELL_BITS | end col
    i, n = 0, len(at)
    while i < n:
        first = end = at[i]
        i += 1
        while i < n and at[i] == end + 1:
            end = at[i]
            i += 1
        r, c0 = first >> CELL_BITS, first & _COL_MASK
        c1 = c0 + end - first + 1
        span = c0 << CELL_BITS | c1
        stack = open_stack.get(span)
        if stack is not None and stack[1] == r and r - stack[0] < MAX_BLOCK_ROWS:
            stack[1] = r + 1
        else:
            stack = [r, r + 1, c0, c1]
            stacks.append(stack)
            open_stack[span] = stack
    return stacks


def blocks(
    sheet_id: int, fields: str, cells: Mapping[tuple[int, int], dict[str, Any]]
) -> list[Block]:
    """Group cells (0-based row, col) into rectangles: runs along a row, stacked down."""
    return [
        Block(
            sheet_id,
            r0,
            c0,
            tuple(tuple(cells[(r, c)] for c in range(c0, c1)) for r in range(r0, r1)),
            fields,
        )
        for r0, r1, c0, c1 in _rectangles(r << CELL_BITS | c for r, c in cells)
    ]


def encoded_blocks(sheet_id: int, fields: str, cells: Mapping[int, str]) -> list[EncodedBlock]:
    """:func:`blocks` for cells given as JSON text (:func:`cell_json`), each at
    ``row << CELL_BITS | col``."""
    out = []
    for r0, r1, c0, c1 in _rectangles(cells):
        if c1 - c0 == 1:
            rows = [f'{{"values": [{cells[r << CELL_BITS | c0]}]}}' for r in range(r0, r1)]
        else:
            rows = [
                '{"values": ['
                + ", ".join([cells[r << CELL_BITS | c] for c in range(c0, c1)])
                + "]}"
                for r in range(r0, r1)
            ]
        out.append(EncodedBlock(sheet_id, r0, c0, tuple(rows), fields))
    return out


def encode_body(encoded_requests: Sequence[str], look_at: Sequence[str] = ()) -> bytes:
    """The batchUpdate body ``{"requests": [...]}`` from requests already encoded: the bytes
    ``requests`` would send for the same requests as ``json=`` (ASCII, so one byte a char).

    ``look_at``: A1 ranges the answer is to carry as they are right after the batch.
    """
    body = '{"requests": [' + ", ".join(encoded_requests) + "]"
    if look_at:
        body += (
            ', "includeSpreadsheetInResponse": true, "responseIncludeGridData": true, '
            f'"responseRanges": {_JSON.encode(list(look_at))}'
        )
    return (body + "}").encode()


#: The answer to a batch that looks at rows: only their effective values (and where).
_LANDED_FIELDS: ParamsType = {
    "fields": "updatedSpreadsheet(sheets(properties(title),"
    "data(startRow,startColumn,rowData(values(effectiveValue)))))",
    **_COMPACT,
}


def _landed_rows(answer: Mapping[str, Any]) -> dict[str, dict[int, list[object]]]:
    """Per tab title, 1-based row -> its effective values, from a batchUpdate's answer."""
    out: dict[str, dict[int, list[object]]] = {}
    for sheet in (answer.get("updatedSpreadsheet") or {}).get("sheets") or []:
        title = str((sheet.get("properties") or {}).get("title", ""))
        rows = out.setdefault(title, {})
        for data in sheet.get("data") or []:
            first, left = int(data.get("startRow") or 0), int(data.get("startColumn") or 0)
            for i, row in enumerate(data.get("rowData") or []):
                values = [_effective(cell) for cell in row.get("values") or []]
                rows[first + i + 1] = [None] * left + values
    return out


def batches(requests_: Sequence[Request], limit: int = MAX_BATCH_BYTES) -> list[list[str]]:
    """Requests in order, each encoded as JSON once, cut into batches of at most ``limit``
    bytes of JSON each.

    An updateCells request bigger than ``limit`` on its own is cut into runs of rows.
    Raises ValueError for a number JSON cannot carry (NaN, infinity).
    """
    out: list[list[str]] = [[]]
    size = 0
    for request in requests_:
        for piece in _pieces(request, limit - 100):
            n = len(piece) + 2
            if out[-1] and size + n > limit - 100:
                out.append([])
                size = 0
            out[-1].append(piece)
            size += n
    return [batch for batch in out if batch]


def _pieces(request: Request, limit: int) -> list[str]:
    """The request as JSON, or (too big) its halves' pieces, each a run of its rows."""
    if isinstance(request, EncodedBlock):
        encoded = request.encode()
        if len(request.rows) < 2 or len(encoded) <= limit:
            return [encoded]
        head, tail = request.halves()
        return _pieces(head, limit) + _pieces(tail, limit)
    encoded = _JSON.encode(request)
    body = request.get("updateCells")
    if body is None or "start" not in body or len(body["rows"]) < 2 or len(encoded) <= limit:
        return [encoded]
    half = len(body["rows"]) // 2
    start = body["start"]
    first = {**body, "rows": body["rows"][:half]}
    second = {
        **body,
        "start": {**start, "rowIndex": start.get("rowIndex", 0) + half},
        "rows": body["rows"][half:],
    }
    return _pieces({"updateCells": first}, limit) + _pieces({"updateCells": second}, limit)


# --- verification ----------------------------------------------------------------


def input_positions(title: str, header: Sequence[object]) -> list[int]:
    """Columns whose cells tell whether a row is still the one that was read.

    The input columns the contract knows; on a tab it does not know, every column.
    """
    spec = _KNOWN.get(key(title))
    if spec is None:
        return list(range(len(header)))
    inputs = {key(c.name) for c in spec.inputs}
    return [i for i, h in enumerate(header) if not is_blank(h) and key(text(h)) in inputs]


def row_runs(rows: Iterable[int], gap: int = 20) -> list[tuple[int, int]]:
    """Sorted 1-based rows as inclusive (first, last) runs, merging gaps up to ``gap`` rows."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row - runs[-1][1] <= gap:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    return [(a, b) for a, b in runs]


@dataclass
class Verified:
    """What the verification read found: per tab, the rows safe to write."""

    header_ok: dict[str, bool] = field(default_factory=dict)
    current: dict[str, dict[int, Sequence[object]]] = field(default_factory=dict)
    rows_ok: dict[str, set[int]] = field(default_factory=dict)


class _Refused(Exception):
    """Google answered 400: a range or request it cannot carry out."""


def read_digest(key: str, time_zone: str | None, titles: Sequence[str], answer: bytes) -> str:
    """The fingerprint of a read (``Snapshot.digest``).

    Google's answer byte for byte holds every value of every tab read and each tab's range
    (its title and grid); with it go the spreadsheet, its time zone and the titles asked
    for, in order. Anything a cycle's result could depend on changes the digest.
    """
    digest = hashlib.sha256(json.dumps([key, time_zone, list(titles)]).encode())
    digest.update(b"\n")
    digest.update(answer)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Read:
    """A read's snapshot, with the title and grid each tab's range showed (in tab order)."""

    snapshot: Snapshot
    shown: tuple[tuple[str, tuple[int, int] | None], ...]


# --- the backend ---------------------------------------------------------------------


class GoogleBackend:
    """A Google Sheets spreadsheet as the workbook.

    ``key_file`` is the service-account JSON key; with ``endpoint`` (an emulator's
    base URL) no credentials are used. ``rng``, ``sleep`` and ``clock`` drive the
    retries and the choice of new tab ids, so tests control them.
    """

    def __init__(
        self,
        key: str,
        *,
        key_file: Path | None = None,
        endpoint: str | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        metadata_max_age: float = 300.0,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.key = key
        self.key_file = key_file
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.clock = clock
        self.metadata_max_age = metadata_max_age
        self.max_batch_bytes = max_batch_bytes
        self.where = f"Google Sheets {key}"
        self.email: str | None = None
        self._http: RetryingHTTPClient | None = None
        self._meta: Metadata | None = None
        #: The last read, kept so an idle cycle's unchanged answer is not decoded again.
        self._last: _Read | None = None
        #: API calls made (each counted once, however many tries it took).
        self.calls = 0
        #: Rows as the last write's answer showed them (see ``_send``'s ``look_at``).
        self.landed_rows: dict[str, dict[int, list[object]]] = {}

    @classmethod
    def from_environment(
        cls, spreadsheet: str, key_file: Path | None, environ: Mapping[str, str] = os.environ
    ) -> GoogleBackend:
        """The backend as configured, sent to ``$CREDITSHEET_SHEETS_ENDPOINT`` when set."""
        return cls(
            spreadsheet_key(spreadsheet), key_file=key_file, endpoint=environ.get(ENDPOINT_ENV)
        )

    # --- talking to the API ----------------------------------------------------

    def client(self) -> RetryingHTTPClient:
        """The HTTP client, made on first use (so a fixed key file is picked up next cycle)."""
        if self._http is None:
            if self.endpoint:
                session = AuthorizedSession(AnonymousCredentials())  # type: ignore[no-untyped-call]
            else:
                if self.key_file is None:
                    raise WorkbookUnavailable(
                        "[workbook] credentials is not set: name the service-account key file "
                        "(see docs/google.md)"
                    )
                credentials, self.email = load_service_account(self.key_file)
                for warning in check_key_file(self.key_file):
                    log.warning(warning)
                session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
            self._http = RetryingHTTPClient(
                session,
                policy=self.policy,
                rng=self.rng,
                sleep=self.sleep,
                clock=self.clock,
                base_url=self.endpoint,
            )
        return self._http

    def _call(self, call: Callable[[RetryingHTTPClient], T], *, writing: bool = False) -> T:
        http = self.client()
        self.calls += 1
        try:
            return call(http)
        except APIError as err:
            if err.code == 400:
                raise _Refused(str(err.error.get("message", ""))) from None
            raise self._unavailable(err, writing) from None
        except RefreshError as err:
            reason = str(err.args[0]) if err.args else "refused"
            raise WorkbookUnavailable(
                f"Google refused the service-account key {self.key_file} ({reason}): the key may "
                "have been deleted or the account disabled; create a new JSON key "
                "(docs/google.md, step 3)"
            ) from None
        except GoogleAuthError as err:
            raise WorkbookUnavailable(f"signing in to Google failed: {err}") from None
        except requests.exceptions.RequestException as err:
            raise WorkbookUnavailable(
                f"cannot reach Google Sheets ({type(err).__name__}): check the network"
                + (f" and {ENDPOINT_ENV}" if self.endpoint else "")
            ) from None

    def _unavailable(self, err: APIError, writing: bool) -> WorkbookUnavailable:
        message = str(err.error.get("message", ""))
        if err.code == 404:
            return WorkbookUnavailable(
                f"there is no Google spreadsheet with the key {self.key}: check [workbook] "
                "spreadsheet (copy the address from the browser while the sheet is open)"
            )
        if err.code == 403:
            return WorkbookUnavailable(self._forbidden(message, writing))
        if err.code == 401:
            return WorkbookUnavailable(
                "Google did not accept the service account's credentials (HTTP 401): "
                "create a new JSON key (docs/google.md, step 3)"
            )
        return WorkbookUnavailable(f"Google Sheets answered HTTP {err.code}: {message}")

    def _forbidden(self, message: str, writing: bool) -> str:
        if "has not been used" in message or "is disabled" in message:
            link = re.search(r"https://console\.\S+", message)
            where = f" ({link.group(0).rstrip('.')})" if link else ""
            return (
                "the Google Sheets API is not enabled in the service account's Google Cloud "
                f"project: enable it{where} and try again in a few minutes"
            )
        who = self.email or "the service account's email (client_email in its key file)"
        if writing:
            return (
                f"{who} may read the spreadsheet {self.key} but not change it: in Google Sheets "
                f"click Share and make {who} an Editor"
            )
        return (
            f"the spreadsheet {self.key} is not shared with {who}: open it in Google Sheets, "
            f"click Share, and add {who} as an Editor"
        )

    def metadata(self, *, refresh: bool = False) -> Metadata:
        """The cached metadata, read from Google the first time or when asked."""
        if self._meta is None or refresh:
            try:
                raw = self._call(
                    lambda h: h.fetch_sheet_metadata(self.key, {"fields": _META_FIELDS, **_COMPACT})
                )
            except _Refused as err:
                raise WorkbookUnavailable(
                    f"Google Sheets refused to describe the sheet: {err}"
                ) from None
            self._meta = Metadata.parse(raw, self.clock())
            self.where = f"Google Sheets '{self._meta.title}' ({self.key})"
        return self._meta

    def _stale(self, meta: Metadata) -> bool:
        """A tab the sync knows is absent: required ones are looked for every cycle."""
        missing = [t for t in TABS if meta.find(t.name) is None]
        if any(t.required for t in missing):
            return True
        aged = self.clock() - meta.read_at > self.metadata_max_age
        return aged and (bool(missing) or meta.find(DASHBOARD) is None)

    def _batch_get(self, ranges: Sequence[str]) -> list[dict[str, Any]]:
        answer = self._call(lambda h: h.values_batch_get(self.key, list(ranges), dict(_VALUES)))
        found: list[dict[str, Any]] = answer.get("valueRanges") or []
        return found

    # --- read ------------------------------------------------------------------

    def read(self) -> Snapshot:
        meta = self.metadata()
        if self._stale(meta):
            meta = self.metadata(refresh=True)
        try:
            answer, digest = self._read_tabs(meta)
        except _Refused:
            # A tab was renamed or deleted since the metadata was read.
            meta = self.metadata(refresh=True)
            try:
                answer, digest = self._read_tabs(meta)
            except _Refused as err:
                raise WorkbookUnavailable(
                    f"Google Sheets refused to read the tabs: {err}"
                ) from None
        if self._last is not None and self._last.snapshot.digest == digest:
            # Google's very answer to the very request of the last read (a running daemon's
            # idle cycle): the same tables, and the same titles and grids to note.
            for tab, (title, end) in zip(meta.tabs, self._last.shown, strict=False):
                tab.title = title
                if end is not None:
                    tab.rows, tab.columns = end
            return self._last.snapshot
        assert answer is not None, "only the last read's answer is left undecoded"
        self._last = None  # its tables can go before the new ones are made
        tables: dict[str, Table] = {}
        shown_tabs: list[tuple[str, tuple[int, int] | None]] = []
        for tab, found in zip(meta.tabs, answer, strict=False):
            shown = str(found.get("range", ""))
            # The title as Google spells it now (a rename may have changed only its case).
            tab.title = range_title(shown) or tab.title
            end = _grid_end(shown)
            if end is not None:
                tab.rows, tab.columns = end
            shown_tabs.append((tab.title, end))
            rows = [[_cell(v) for v in row] for row in found.get("values") or []]
            header = tuple(rows[0]) if rows else ()
            tables[tab.title] = Table(tab.title, header, rows[1:])
        snapshot = Snapshot(
            tables=tables,
            fills={},
            numbers_are_dates=True,
            timezone=meta.time_zone,
            digest=digest,
        )
        self._last = _Read(snapshot, tuple(shown_tabs))
        return snapshot

    def _read_tabs(self, meta: Metadata) -> tuple[list[dict[str, Any]] | None, str]:
        """Every tab's values (one values:batchGet) and the read's digest; the values are
        not decoded (None) when the digest is the last read's."""
        titles = [t.title for t in meta.tabs]
        ranges = [quote_title(t) for t in titles]
        last = self._last.snapshot.digest if self._last is not None else None

        def fetch(h: RetryingHTTPClient) -> tuple[list[dict[str, Any]] | None, str]:
            response = h.values_batch_get_response(self.key, ranges, _VALUES)
            digest = read_digest(self.key, meta.time_zone, titles, response.content)
            if digest == last:
                return None, digest
            found: list[dict[str, Any]] = response.json().get("valueRanges") or []
            return found, digest

        return self._call(fetch)

    # --- write -----------------------------------------------------------------

    def write(self, snapshot: Snapshot, plan: WritePlan) -> WriteOutcome:
        if not plan:
            return WriteOutcome(written=False)
        calls_before = self.calls

        def outcome(reason: str | None, **kwargs: Any) -> WriteOutcome:
            return WriteOutcome(reason=reason, requests=self.calls - calls_before, **kwargs)

        meta = self.metadata()
        named = {c.tab for c in plan.cells} | {h.tab for h in plan.headers}
        named |= {a.tab for a in plan.appends}
        named |= {t.title for t in plan.tabs if t.exists}
        if any(meta.find(title) is None for title in named):
            meta = self.metadata(refresh=True)
        try:
            verified = self._verify(snapshot, plan, meta)
        except _Refused:
            # A tab went away, or its grid shrank below rows we asked for: look again.
            meta = self.metadata(refresh=True)
            try:
                verified = self._verify(snapshot, plan, meta)
            except _Refused:
                self._meta = None
                return outcome(
                    _MOVED + "nothing was written; the next cycle reads it again",
                    retry_next_cycle=True,
                )
        build = _Build(meta, self._new_sheet_id)
        build.tabs(plan.tabs)
        build.headers(plan.headers, verified)
        build.cells(plan.cells, verified)
        build.appends(plan.appends, verified)
        skipped = len(build.skipped_rows)
        if not build.requests:
            reason = _skipped_reason(skipped, nothing_written=True)
            return outcome(reason, written=False, rows_skipped=skipped, retry_next_cycle=True)
        # Right after the write: the header of each tab written, and each row filled.
        look_at = [
            f"{quote_title(title)}!1:1" for title in {*build.cells_written, *build.headers_written}
        ]
        # Two rows either side of each filled row: rows the write left alone tell how far
        # rows moved, to tell apart rows that read alike (see landed.judge).
        # (Within the grid as last seen: a range past it would fail the whole write.)
        for title, rows in build.filled_rows().items():
            info = meta.find(title)
            end = info.rows if info is not None else max(rows)
            near = {n for r in rows for n in range(max(2, r - 2), min(end, r + 2) + 1)}
            runs = row_runs(near | rows)
            # Only as wide as the input columns: they tell the rows apart (see _span).
            last_col = column_letter(_span(snapshot, title) - 1)
            look_at += [f"{quote_title(title)}!A{first}:{last_col}{last}" for first, last in runs]
        refused = self._send(build.requests, guards=build.guards(), look_at=look_at)
        if refused is not None:
            return outcome(refused, written=False, rows_skipped=skipped)
        build.commit()
        reasons = [_skipped_reason(skipped, nothing_written=False)] if skipped else []
        landing = self._judge_fills(snapshot, verified, build)
        shifted = self._judge_columns(snapshot, verified, build)
        if shifted is not None:
            # On a tab whose columns moved, rows are judged by column, not by input cells.
            tabs = {tab for tab, _ in shifted.moved}
            landing.restore = [r for r in landing.restore if r.tab not in tabs] + shifted.restore
            landing.moved = [m for m in landing.moved if m[0] not in tabs] + shifted.moved
            landing.unknown += shifted.unknown
        if landing.moved:
            reasons.append(self._put_back(landing, meta))
        return outcome(
            "; ".join(reasons) or None,
            retry_next_cycle=bool(skipped or landing.moved),
            written=True,
            cells_written=build.written,
            rows_skipped=skipped,
        )

    def _judge_fills(self, snapshot: Snapshot, verified: Verified, build: _Build) -> Landing:
        """Where the filled input cells landed (see :mod:`sync.backends.landed`)."""
        if not build.filled:
            return Landing()
        positions = {
            title: input_positions(title, table.header) for title, table in snapshot.tables.items()
        }
        after = {
            title: self.landed_rows.get(info.title, {})
            for title in build.filled_rows()
            if (info := build.meta.find(title)) is not None
        }
        written: dict[tuple[str, int], set[int]] = {}
        for changes in build.cells_written.values():
            for change in changes:
                written.setdefault((change.tab, change.row), set()).add(change.col)
        spans = {title: _span(snapshot, title) for title in build.filled_rows()}
        return judge(
            build.filled, verified.current, after, snapshot.tables, positions, written, spans
        )

    def _judge_columns(
        self, snapshot: Snapshot, verified: Verified, build: _Build
    ) -> Landing | None:
        """Cells written under another column: columns moved under the write.

        Told by each written tab's header in the write's answer; only then are the rows
        written read once more (one request), to tell which row each cell landed on."""
        landing: Landing | None = None
        for title in sorted({*build.cells_written, *build.headers_written}):
            info = build.meta.find(title)
            now = self.landed_rows.get(info.title, {}).get(1) if info is not None else None
            if info is None or now is None:
                continue
            before = list(verified.current.get(title, {}).get(1, ()))
            ours = build.headers_written.get(title, {})
            expected = before + [None] * (max(ours, default=-1) + 1 - len(before))
            for col, header in ours.items():
                expected[col] = header
            if trimmed(now) == trimmed(expected):
                continue
            landing = landing or Landing()
            mapping = column_map(before, now, ours)
            changes = build.cells_written.get(title, [])
            if mapping is None:
                landing.moved.append((title, 1))
                landing.unknown.append(f"{title} (its columns changed in a way not followed)")
                continue
            after: dict[int, list[object]] = {}
            runs = row_runs(c.row for c in changes)
            if len(runs) > MAX_VERIFY_RANGES:
                runs = [(runs[0][0], runs[-1][1])]
            if runs:
                q = quote_title(info.title)
                answer = self._batch_get([f"{q}!{first}:{last}" for first, last in runs])
                for (first, _), got in zip(runs, answer, strict=False):
                    for k, row in enumerate(got.get("values") or []):
                        after[first + k] = row
            inputs = input_positions(title, before)
            judged = judge_columns(changes, mapping, after, snapshot.tables.get(title), inputs)
            landing.moved += judged.moved
            landing.restore += judged.restore
            landing.unknown += judged.unknown
            for col in ours:  # the header cells the write put over other columns' names
                was = mapping[col] if col < len(mapping) else col
                if was != col:
                    held: object = None
                    if was is not None and was < len(before):
                        held = _cell(before[was])
                    landing.restore.append(Restore(title, 1, col, held))
        return landing

    def _put_back(self, landing: Landing, meta: Metadata) -> str:
        """Put back the input cells a write filled on rows that had moved under it."""
        requests_: list[Request] = []
        for cell in landing.restore:
            info = meta.find(cell.tab)
            if info is None:
                continue
            data = {} if cell.value is None else {_VALUE: _entered_value(cell.value)}
            fields = f"{_VALUE},{_BACKGROUND}" if cell.clear_fill else _VALUE
            requests_.append(
                {
                    "updateCells": {
                        "start": {
                            "sheetId": info.sheet_id,
                            "rowIndex": cell.row - 1,
                            "columnIndex": cell.col,
                        },
                        "rows": [{"values": [data]}],
                        "fields": fields,
                    }
                }
            )
        cells = len(landing.restore)
        what = plural(cells, "cell")
        log.warning(
            "rows or columns moved under the write: putting back %s on %s",
            what,
            plural(len(landing.moved), "row"),
        )
        refused = self._send(requests_) if requests_ else None
        if refused is not None:
            where = [f"{c.tab}!{column_letter(c.col)}{c.row}" for c in landing.restore]
            more = f" and {len(where) - 10} more" if len(where) > 10 else ""
            return (
                f"rows moved in the sheet while the sync wrote, and putting back {what} "
                f"failed ({refused}); check {', '.join(where[:10])}{more}"
            )
        unknown = ""
        if landing.unknown:
            more = f" and {len(landing.unknown) - 5} more" if len(landing.unknown) > 5 else ""
            unknown = (
                f"; please check {', '.join(landing.unknown[:5])}{more}: what was there "
                "before cannot be known (a cell is left blank rather than given a guess)"
            )
        done = f"{what} put back as they were" if cells else "nothing could be put back"
        return (
            f"rows or columns moved in the sheet while the sync wrote: {done}{unknown}; "
            "the next cycle writes its cells where they belong"
        )

    def _new_sheet_id(self, taken: set[int]) -> int:
        while True:
            candidate = self.rng.randrange(1, 2**31 - 1)
            if candidate not in taken:
                return candidate

    def _update(self, body: bytes, params: ParamsType | None = None) -> requests.Response:
        # appendCells is the one request that is not safe to repeat: a batch that appends
        # rows and got no answer is not sent again (the next cycle finds what landed).
        resend = b'"appendCells"' not in body
        return self._call(
            lambda h: h.batch_update_encoded(self.key, body, params, resend_unanswered=resend),
            writing=True,
        )

    def _send(
        self,
        requests_: Sequence[Request],
        guards: Sequence[dict[str, Any]] = (),
        look_at: Sequence[str] = (),
    ) -> str | None:
        """Send the batchUpdates, each led by ``guards``; a reason when Google refused one.

        A refused batchUpdate changed nothing (Google applies a batch entirely or not at all).
        ``look_at``: A1 ranges whose effective values the last batch's answer carries, as
        they are right after it was applied (kept in ``self.landed_rows``).
        """
        self.landed_rows = {}
        try:
            lead = [_JSON.encode(guard) for guard in guards]
            parts = batches(requests_, self.max_batch_bytes - len(encode_body(lead)))
        except ValueError as err:
            raise WorkbookUnavailable(
                f"the write holds a number Google Sheets cannot take ({err}): nothing was written"
            ) from None
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            try:
                if last and look_at:
                    answer = self._update(
                        encode_body([*lead, *part], look_at=look_at), params=_LANDED_FIELDS
                    )
                    self.landed_rows = _landed_rows(answer.json())
                else:
                    self._update(encode_body([*lead, *part]))
            except _Refused as err:
                self._meta = None  # the layout may have moved: read it again next cycle
                earlier = f" (the first {n} of {len(parts)} parts were written)" if n else ""
                if any(f"requests[{i}]." in str(err) for i in range(len(guards))):
                    return _MOVED + f"nothing was written{earlier}; the next cycle reads it again"
                if self.client().last_maybe_applied:
                    return (
                        "the write got no answer at first and was most likely carried out then "
                        f"(Google refused to repeat it: {err}); the next cycle checks and "
                        "completes it"
                    )
                return (
                    f"Google Sheets refused the write ({err}): nothing was written{earlier}; "
                    "the next cycle reads the sheet again and retries"
                )
            except SheetsUnreachable as err:
                self._meta = None
                if n:
                    raise WorkbookUnavailable(
                        f"{err} (the first {n} of {len(parts)} parts of the write went through)"
                    ) from None
                raise
        return None

    def _verify(self, snapshot: Snapshot, plan: WritePlan, meta: Metadata) -> Verified:
        """Read the rows about to be written again; keep those whose inputs did not change."""
        rows_by_tab: dict[str, set[int]] = {}
        for change in plan.cells:
            rows_by_tab.setdefault(change.tab, set()).add(change.row)
        for header in plan.headers:
            rows_by_tab.setdefault(header.tab, set())
        for append in plan.appends:
            rows_by_tab.setdefault(append.tab, set())
        verified = Verified()
        wanted: list[tuple[str, int, str]] = []  # (tab, first row, range)
        runs = {title: row_runs(rows) for title, rows in rows_by_tab.items()}
        many = sum(len(r) for r in runs.values()) > MAX_VERIFY_RANGES
        for title, tab_runs in runs.items():
            info = meta.find(title)
            if info is None:
                verified.header_ok[title] = False
                continue
            if many and tab_runs:
                tab_runs = [(tab_runs[0][0], tab_runs[-1][1])]
            q = quote_title(info.title)
            wanted.append((title, 1, f"{q}!1:1"))
            for first, last in tab_runs:
                last = min(last, info.rows)
                if first <= last:
                    wanted.append((title, first, f"{q}!{first}:{last}"))
        answer = self._batch_get([r for _, _, r in wanted]) if wanted else []
        for (title, first, _), found in zip(wanted, answer, strict=False):
            values = found.get("values") or []
            current = verified.current.setdefault(title, {})
            for i, row in enumerate(values, start=first):
                # Google's "" is a blank, as it is in the tables read (Table rows).
                current[i] = [None if v == "" else v for v in row] if "" in row else row
            if first == 1:
                current.setdefault(1, [])
        for title, rows in rows_by_tab.items():
            if title in verified.header_ok:
                continue
            table = snapshot.tables.get(title)
            current = verified.current.get(title, {})
            if table is None:
                verified.header_ok[title] = False
                continue
            header_ok = trimmed(current.get(1, [])) == trimmed(table.header)
            verified.header_ok[title] = header_ok
            positions = input_positions(title, table.header)
            ok = set()
            if header_ok:
                # Quick: every cell up to the last input column is the same (blanks and
                # trimmed cells alike); else input cell by input cell.
                reach = max(positions, default=-1) + 1
                for row in rows:
                    i = row - 2
                    before = table.rows[i] if 0 <= i < len(table.rows) else ()
                    now = current.get(row, ())
                    if before[:reach] == now[:reach] or all(
                        cell_at(before, p) == cell_at(now, p) for p in positions
                    ):
                        ok.add(row)
            verified.rows_ok[title] = ok
        return verified

    # --- init ------------------------------------------------------------------

    def prepare(self, layout: Layout) -> list[str]:
        meta = self.metadata(refresh=True)
        grids = self._prepare_read(layout, meta)
        done: list[str] = []
        setup = _Setup(meta, layout, grids, self._new_sheet_id, done)
        requests_ = setup.build()
        if requests_:
            reason = self._send(requests_)
            if reason:
                raise WorkbookUnavailable(reason)
            self._meta = None
        return done

    def _prepare_read(
        self, layout: Layout, meta: Metadata
    ) -> dict[str, list[list[dict[str, Any]]]]:
        """Per existing tab of the layout: its cells (effective value, validation), rows 1-2,
        or the whole tab when demo rows are to go in."""
        present = [(tab, meta.find(tab.name)) for tab in layout.tabs]
        ranges = [
            quote_title(info.title) + ("" if layout.demo else f"!1:{min(2, info.rows)}")
            for _, info in present
            if info is not None
        ]
        if not ranges:
            return {}
        params: dict[str, Any] = {
            "ranges": ranges,
            "includeGridData": "true",
            **_COMPACT,
            "fields": "sheets(properties(sheetId,title),"
            "data(rowData(values(effectiveValue,dataValidation))))",
        }
        try:
            raw = self._call(lambda h: h.fetch_sheet_metadata(self.key, params))
        except _Refused as err:
            raise WorkbookUnavailable(f"Google Sheets refused to read the tabs: {err}") from None
        grids: dict[str, list[list[dict[str, Any]]]] = {}
        for sheet in raw.get("sheets") or []:
            title = str((sheet.get("properties") or {}).get("title", ""))
            data = (sheet.get("data") or [{}])[0]
            grids[title] = [list(r.get("values") or []) for r in data.get("rowData") or []]
        return grids


_MOVED = "a tab was renamed, replaced or shortened while the sync ran: "


def _skipped_reason(rows: int, *, nothing_written: bool) -> str:
    what = plural(rows, "row")
    verb, them = ("was", "it") if rows == 1 else ("were", "them")
    tail = "nothing was written; " if nothing_written else ""
    return (
        f"{what} changed in the sheet while the sync ran and {verb} left alone: {tail}"
        f"the next cycle writes {them}"
    )


class _Build:
    """The requests of one write, in order: tabs and columns first, then cells."""

    def __init__(self, meta: Metadata, new_id: Callable[[set[int]], int]) -> None:
        self.meta = meta
        self.new_id = new_id
        self.requests: list[Request] = []
        self.written = 0
        self.skipped_rows: set[tuple[str, int]] = set()
        self.added: list[TabInfo] = []
        self.widths: dict[int, int] = {}  # sheet id -> columns after this write
        self.touched: set[int] = set()
        #: The blank input cells this write fills, and every cell it writes by tab.
        self.filled: list[CellChange] = []
        self.cells_written: dict[str, list[CellChange]] = {}
        self.headers_written: dict[str, dict[int, str]] = {}
        #: New packages' IDs this write leaves out (see :meth:`cells`).
        self.withheld: set[str] = set()

    def _columns(self, info: TabInfo, needed: int) -> None:
        self.touched.add(info.sheet_id)
        have = self.widths.get(info.sheet_id, info.columns)
        if needed > have:
            self.requests.append(
                {
                    "appendDimension": {
                        "sheetId": info.sheet_id,
                        "dimension": "COLUMNS",
                        "length": needed - have,
                    }
                }
            )
            self.widths[info.sheet_id] = needed

    def tabs(self, contents: Sequence[TabContent]) -> None:
        for content in contents:
            width = max((len(r) for r in content.rows), default=1) or 1
            height = max(len(content.rows), 1)
            # Looked up even when the read did not see it: the metadata may be newer.
            info = self.meta.find(content.title)
            if info is None:
                taken = {t.sheet_id for t in self.meta.tabs} | {t.sheet_id for t in self.added}
                info = TabInfo(self.new_id(taken), content.title, max(height, 100), max(width, 26))
                self.requests.append(_add_sheet(info))
                self.requests += _widths(info.sheet_id, {0: 300, 1: 120, 2: 120, 3: 120, 4: 120})
                self.added.append(info)
            else:
                self._columns(info, width)
                if height > info.rows:
                    self.requests.append(
                        {
                            "appendDimension": {
                                "sheetId": info.sheet_id,
                                "dimension": "ROWS",
                                "length": height - info.rows,
                            }
                        }
                    )
                    info.rows = height
            columns = self.widths.get(info.sheet_id, info.columns)
            self.requests.append(_owned_tab_request(info, columns, content.rows))
            self.written += sum(len(r) for r in content.rows)

    def headers(self, headers: Sequence[HeaderChange], verified: Verified) -> None:
        cells: dict[int, dict[tuple[int, int], dict[str, Any]]] = {}
        for header in headers:
            info = self.meta.find(header.tab)
            if info is None or not verified.header_ok.get(header.tab):
                self.skipped_rows.add((header.tab, 1))
                continue
            self._columns(info, header.col + 1)
            cells.setdefault(info.sheet_id, {})[(0, header.col)] = _typed(header.name, "text")[0]
            self.written += 1
            self.headers_written.setdefault(header.tab, {})[header.col] = header.name
        for sheet_id, found in cells.items():
            self.requests += [b.request() for b in blocks(sheet_id, _VALUE, found)]

    def cells(self, changes: Sequence[CellChange], verified: Verified) -> None:
        grouped: dict[tuple[int, str], dict[int, str]] = {}  # cells by (sheet id, fields)
        # A new package's ID is given in the same write as the sessions that name it: when
        # the package row is left alone, so are they. Otherwise they would name an ID that
        # no row gets (the next cycle numbers new packages past every ID already named) and
        # stay Invalid, their credits undeducted, until a person fixes them.
        withheld = {
            key(text(c.new))
            for c in changes
            if is_id_fill(c, PACKAGES.name) and not self._writable(c, verified)
        }
        self.withheld = withheld
        # Per tab: where it is and the rows safe to write; per sheet id: the columns that
        # _columns has already been asked for (asking again for fewer does nothing).
        tabs: dict[str, tuple[TabInfo | None, set[int]]] = {}
        asked: dict[int, int] = {}
        written = 0
        for change in changes:
            tab = tabs.get(change.tab)
            if tab is None:
                tab = tabs[change.tab] = (
                    self.meta.find(change.tab),
                    verified.rows_ok.get(change.tab, set()),
                )
            info, rows_ok = tab
            if (
                info is None
                or change.row not in rows_ok
                or (change.input_fill and not self._fillable(change, verified, withheld))
            ):
                self.skipped_rows.add((change.tab, change.row))
                continue
            sheet_id, col = info.sheet_id, change.col
            if col >= asked.get(sheet_id, 0):
                self._columns(info, col + 1)
                asked[sheet_id] = col + 1
            data, fields = cell_json(change)
            grouped.setdefault((sheet_id, fields), {})[(change.row - 1) << CELL_BITS | col] = data
            written += 1
            self.cells_written.setdefault(change.tab, []).append(change)
            if change.input_fill:
                self.filled.append(change)
        self.written += written
        for (sheet_id, fields), found in grouped.items():
            self.requests += encoded_blocks(sheet_id, fields, found)

    def appends(self, rows: Sequence[RowAppend], verified: Verified) -> None:
        """New rows, each after the tab's last row as it is when the batch is applied
        (``appendCells``): a row someone added since the read is never written over.
        A tab whose header moved since the read gets none (the next cycle adds them)."""
        by_tab: dict[str, list[RowAppend]] = {}
        for row in rows:
            by_tab.setdefault(row.tab, []).append(row)
        for title, appended in by_tab.items():
            info = self.meta.find(title)
            if info is None or not verified.header_ok.get(title):
                self.skipped_rows.update((title, a.row) for a in appended)
                continue
            width = max((c.col + 1 for a in appended for c in a.cells), default=1)
            self._columns(info, width)
            data = []
            for a in appended:
                cells: list[dict[str, Any]] = [{} for _ in range(width)]
                for c in a.cells:
                    if self.withheld and c.kind == "text" and key(text(c.value)) in self.withheld:
                        continue  # a new package's ID left out with its package row
                    cells[c.col] = _with_fill(_typed(c.value, c.kind)[0], c.fill)
                    self.written += 1
                data.append({"values": cells})
            self.requests.append(
                {
                    "appendCells": {
                        "sheetId": info.sheet_id,
                        "rows": data,
                        "fields": f"{_VALUE},{_NUMBER_FORMAT},{_BACKGROUND}",
                    }
                }
            )

    def _fillable(self, change: CellChange, verified: Verified, withheld: set[str]) -> bool:
        """A blank input cell to fill is writable, and not a session's new package ID
        whose package row is left alone."""
        if not self._writable(change, verified):
            return False
        return not (is_id_fill(change, SESSIONS.name) and key(text(change.new)) in withheld)

    def _writable(self, change: CellChange, verified: Verified) -> bool:
        """The row is still the one read, and a blank input cell to fill is still blank."""
        if self.meta.find(change.tab) is None:
            return False
        if change.row not in verified.rows_ok.get(change.tab, set()):
            return False
        if change.input_fill:
            now = verified.current.get(change.tab, {}).get(change.row, ())
            return is_blank(cell_at(now, change.col))
        return True

    def filled_rows(self) -> dict[str, set[int]]:
        """Per tab, the rows where this write fills input cells."""
        rows: dict[str, set[int]] = {}
        for change in self.filled:
            rows.setdefault(change.tab, set()).add(change.row)
        return rows

    def guards(self) -> list[dict[str, Any]]:
        """Requests that make a batch fail unless each tab it writes by id still has the
        title the read found: (re)setting a tab's own title changes nothing, while giving a
        renamed tab back its old title clashes with the tab that now has it (which is the
        one the read saw), and Google then refuses the whole batch."""
        added = {t.sheet_id for t in self.added}
        return [
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": info.sheet_id, "title": info.title},
                    "fields": "title",
                }
            }
            for info in self.meta.tabs
            if info.sheet_id in self.touched and info.sheet_id not in added
        ]

    def commit(self) -> None:
        """Bring the cached metadata up to date with what the write did."""
        self.meta.tabs.extend(self.added)
        for info in self.meta.tabs:
            info.columns = self.widths.get(info.sheet_id, info.columns)


def _widths(sheet_id: int, pixels: Mapping[int, int]) -> list[dict[str, Any]]:
    return [
        {
            "updateDimensionProperties": {
                "range": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "startIndex": col,
                    "endIndex": col + 1,
                },
                "properties": {"pixelSize": size},
                "fields": "pixelSize",
            }
        }
        for col, size in pixels.items()
    ]


def _owned_tab_request(
    info: TabInfo, columns: int, rows: Sequence[Sequence[Value]]
) -> dict[str, Any]:
    """Clear the whole tab and write ``rows``; title rows (the first, and any after a blank
    row) in bold, as the xlsx backend does."""
    out = []
    title_row = True
    for row in rows:
        values = []
        for value in row:
            data, _ = _typed(value, _kind_of(value))
            if title_row:
                data = {
                    **data,
                    "userEnteredFormat": {
                        **data.get("userEnteredFormat", {}),
                        "textFormat": {"bold": True},
                    },
                }
            values.append(data)
        out.append({"values": values})
        title_row = not row
    return {
        "updateCells": {
            "range": {
                "sheetId": info.sheet_id,
                "startRowIndex": 0,
                "endRowIndex": info.rows,
                "startColumnIndex": 0,
                "endColumnIndex": columns,
            },
            "rows": out,
            "fields": "userEnteredValue,userEnteredFormat",
        }
    }


# --- init ----------------------------------------------------------------------------


def _span(snapshot: Snapshot, title: str) -> int:
    """How many columns, from A, hold a tab's input columns (at least one)."""
    table = snapshot.tables.get(title)
    header = table.header if table is not None else ()
    return max(input_positions(title, header), default=0) + 1


def _entered_value(value: object) -> dict[str, Any]:
    """A value as the values API reads it, as the ExtendedValue that puts it back."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": str(value)}


def _effective(cell: Mapping[str, Any]) -> object:
    value = cell.get("effectiveValue") or {}
    for name in ("stringValue", "numberValue", "boolValue"):
        if name in value:
            return value[name]
    return None


class _Setup:
    """The one batchUpdate ``init`` sends, carrying out the shared setup plan: tabs,
    headers, freezes, dropdowns, protection (Google's own warning), demo rows."""

    def __init__(
        self,
        meta: Metadata,
        layout: Layout,
        grids: Mapping[str, list[list[dict[str, Any]]]],
        new_id: Callable[[set[int]], int],
        done: list[str],
    ) -> None:
        self.meta = meta
        self.layout = layout
        self.grids = grids
        self.new_id = new_id
        self.done = done
        self.requests: list[dict[str, Any]] = []
        self.tabs: dict[str, TabInfo] = {}

    def build(self) -> list[dict[str, Any]]:
        found = self.meta.find
        self.layout = replace(self.layout, tabs=self.layout.present(lambda n: found(n) is not None))
        plan = plan_setup(self.layout, self._found())
        for setup in plan.tabs:
            self._tab(setup)
            self.done += setup.said
        for setup, tab in zip(plan.tabs, self.layout.tabs, strict=True):
            self._dropdowns(setup)
            self.done += setup.said_dropdowns
            self._protect(tab, setup)
        for setup in plan.tabs:
            self._demo(setup)
            self.done += setup.said_demo
        return self.requests

    def _grid(self, info: TabInfo | None) -> list[list[dict[str, Any]]]:
        return self.grids.get(info.title, []) if info is not None else []

    def _found(self) -> dict[str, TabFound]:
        """What the plan needs to know of the layout's tabs that exist."""
        found: dict[str, TabFound] = {}
        for tab in self.layout.tabs:
            info = self.meta.find(tab.name)
            if info is None:
                continue
            grid = self._grid(info)
            header = [_effective(c) for c in (grid[:1] or [[]])[0]]
            below = grid[1] if len(grid) > 1 else []
            found[key(tab.name)] = TabFound(
                info.title,
                header,
                info.frozen_rows > 0,
                frozenset(at for at, c in enumerate(below) if c.get("dataValidation")),
                any(_effective(c) not in (None, "") for row in grid[1:] for c in row),
            )
        return found

    def _tab(self, setup: TabSetup) -> None:
        info = self.meta.find(setup.name)
        if info is None:
            taken = {t.sheet_id for t in self.meta.tabs} | {t.sheet_id for t in self.tabs.values()}
            width = len(setup.columns)
            info = TabInfo(self.new_id(taken), setup.name, 1000, max(26, width), frozen_rows=1)
            self.requests.append(_add_sheet(info))
        self.tabs[setup.name] = info
        added: dict[int, dict[str, Any]] = {}
        widths: dict[int, int] = {}
        for column in setup.columns:
            cell = _with_fill(_typed(column.name, "text")[0], HEADER_FILL)
            cell["userEnteredFormat"]["textFormat"] = {"bold": True}
            added[column.col] = cell
            widths[column.col] = column.width * 7
        last = max(setup.positions.values(), default=-1)
        if last + 1 > info.columns:
            self.requests.append(
                {
                    "appendDimension": {
                        "sheetId": info.sheet_id,
                        "dimension": "COLUMNS",
                        "length": last + 1 - info.columns,
                    }
                }
            )
            info.columns = last + 1
        fields = f"{_VALUE},userEnteredFormat.textFormat.bold,{_BACKGROUND}"
        cells = {(0, col): cell for col, cell in added.items()}
        self.requests += [b.request() for b in blocks(info.sheet_id, fields, cells)]
        self.requests += _widths(info.sheet_id, widths)
        if setup.freeze and info.frozen_rows == 0:
            self.requests.append(
                {
                    "updateSheetProperties": {
                        "properties": {
                            "sheetId": info.sheet_id,
                            "gridProperties": {"frozenRowCount": 1},
                        },
                        "fields": "gridProperties.frozenRowCount",
                    }
                }
            )

    def _dropdowns(self, setup: TabSetup) -> None:
        info = self.tabs[setup.name]
        for dropdown in setup.dropdowns:
            if dropdown.choices:
                condition = {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": c} for c in dropdown.choices],
                }
            else:
                assert dropdown.source is not None
                title, at = dropdown.source
                letter = column_letter(at)
                ref = f"={quote_title(title)}!${letter}$2:${letter}"
                condition = {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": ref}]}
            self.requests.append(
                {
                    "setDataValidation": {
                        "range": {
                            "sheetId": info.sheet_id,
                            "startRowIndex": 1,
                            "startColumnIndex": dropdown.col,
                            "endColumnIndex": dropdown.col + 1,
                        },
                        "rule": {
                            "condition": condition,
                            "inputMessage": dropdown.message,
                            "strict": False,
                            "showCustomUi": True,
                        },
                    }
                }
            )

    def _protect(self, tab: Tab, setup: TabSetup) -> None:
        info = self.tabs[tab.name]
        covered = {
            int((p.get("range") or {}).get("startColumnIndex", -1))
            for p in info.protected
            if (p.get("range") or {}).get("endColumnIndex") is not None
        }
        names = []
        for column in tab.computed:
            at = setup.positions.get(key(column.name))
            if at is None or at in covered:
                continue
            self.requests.append(
                {
                    "addProtectedRange": {
                        "protectedRange": {
                            "range": {
                                "sheetId": info.sheet_id,
                                "startColumnIndex": at,
                                "endColumnIndex": at + 1,
                            },
                            "description": f"{column.name}: {PROTECTED_NOTE}",
                            "warningOnly": True,
                        }
                    }
                }
            )
            names.append(column.name)
        if names:
            self.done.append(
                f"{tab.name}: protected {', '.join(names)} (a warning only: the sync writes these)"
            )

    def _demo(self, setup: TabSetup) -> None:
        fields = f"{_VALUE},{_NUMBER_FORMAT}"
        info = self.tabs[setup.name]
        cells = {(c.row - 1, c.col): _typed(c.value, c.kind)[0] for c in setup.demo}
        # Gaps between demo columns become explicit empty cells inside a block.
        filled = _fill_gaps(cells)
        self.requests += [b.request() for b in blocks(info.sheet_id, fields, filled)]


def _fill_gaps(
    cells: Mapping[tuple[int, int], dict[str, Any]],
) -> dict[tuple[int, int], dict[str, Any]]:
    """Each row's cells from its first to its last column, empty ones in between."""
    out = dict(cells)
    by_row: dict[int, list[int]] = {}
    for r, c in cells:
        by_row.setdefault(r, []).append(c)
    for r, cols in by_row.items():
        for c in range(min(cols), max(cols)):
            out.setdefault((r, c), {})
    return out


def _add_sheet(info: TabInfo) -> dict[str, Any]:
    """The ``addSheet`` request for a new tab (its frozen rows too, when it has any)."""
    grid: dict[str, int] = {"rowCount": info.rows, "columnCount": info.columns}
    if info.frozen_rows:
        grid["frozenRowCount"] = info.frozen_rows
    return {
        "addSheet": {
            "properties": {"sheetId": info.sheet_id, "title": info.title, "gridProperties": grid}
        }
    }
