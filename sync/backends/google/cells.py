"""Cells as the Sheets API takes and gives them, encoded once as JSON text, in batches."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

from gspread.http_client import ParamsType

from rules.schema import CellKind
from rules.values import date_to_serial, text
from sync.backends.base import (
    CellChange,
)
from sync.backends.looks import DATE_PATTERN

#: Google indents its JSON answers unless asked not to: a quarter of a big read.
COMPACT = {"prettyPrint": "false"}
#: Split a write into several batchUpdates only beyond this many bytes of JSON.
MAX_BATCH_BYTES = 2_000_000
#: Rows per updateCells request, so no single request outgrows a batch.
MAX_BLOCK_ROWS = 2_000
DATE_FORMAT = {"type": "DATE", "pattern": DATE_PATTERN}

VALUE = "userEnteredValue"
NUMBER_FORMAT = "userEnteredFormat.numberFormat"
#: Google keeps ``backgroundColor`` and ``backgroundColorStyle`` in step; setting (or
#: clearing) the first sets (or clears) both.
BACKGROUND = "userEnteredFormat.backgroundColor"


def cell_value(value: object) -> object:
    """A cell as the values API gives it, with Google's empty strings as blanks."""
    return None if value == "" else value


# --- typed cells -----------------------------------------------------------------
#
# A big write is a few hundred thousand cells: each is built straight as the JSON text it
# is sent as (the text ``json.dumps`` gives for the same CellData as a dict), so it is
# encoded once, holds no dicts the garbage collector would walk again and again, and is
# measured for the batch limit without encoding it a second time.

#: JSON as ``requests`` encodes a ``json=`` body (``allow_nan=False``, otherwise the defaults),
#: so a request encoded here, once, goes out as the very bytes ``json=`` would send.
JSON = json.JSONEncoder(allow_nan=False)
_DATE_FORMAT_JSON = '"numberFormat": ' + JSON.encode(DATE_FORMAT)


def _color(hex_color: str) -> dict[str, float]:
    digits = hex_color.lstrip("#")
    channels = (("red", 0), ("green", 2), ("blue", 4))
    # Four decimals tell every 8-bit channel apart and keep big writes small.
    return {name: round(int(digits[i : i + 2], 16) / 255, 4) for name, i in channels}


@functools.lru_cache(maxsize=64)
def _background_json(color: str) -> str:
    return '"backgroundColor": ' + JSON.encode(_color(color))


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


def typed(value: object, kind: CellKind) -> tuple[dict[str, Any], bool]:
    """(CellData holding the value, whether it is a date) -- never a formula."""
    entered, is_date = _entered_json(value, kind)
    if entered is None:
        return {}, False
    if is_date:
        return {
            VALUE: json.loads(entered),
            "userEnteredFormat": {"numberFormat": dict(DATE_FORMAT)},
        }, True
    return {VALUE: json.loads(entered)}, False


def with_color(data: dict[str, Any], color: str | None) -> dict[str, Any]:
    out = dict(data)
    fmt = dict(out.get("userEnteredFormat") or {})
    if color is not None:
        fmt["backgroundColor"] = _color(color)
    if fmt:
        out["userEnteredFormat"] = fmt
    return out


_DATE_VALUE = f"{VALUE},{NUMBER_FORMAT}"


def cell_json(change: CellChange) -> tuple[str, str]:
    """One planned change as (CellData as JSON text, fields mask); a cleared color is an
    explicit clear. The text is what ``json.dumps`` gives for the same CellData as a dict."""
    entered: str | None = None
    is_date = False
    fields = ""
    if change.set_value:
        entered, is_date = _entered_json(change.new, change.kind)
        fields = _DATE_VALUE if is_date else VALUE
    background: str | None = None
    if change.set_color:
        if change.color is not None:
            background = _background_json(change.color)
        fields = f"{fields},{BACKGROUND}" if fields else BACKGROUND
    fmt = background
    if is_date:
        fmt = _DATE_FORMAT_JSON if background is None else f"{_DATE_FORMAT_JSON}, {background}"
    if entered is None:
        return ("{}" if fmt is None else f'{{"userEnteredFormat": {{{fmt}}}}}'), fields
    if fmt is None:
        return f'{{"userEnteredValue": {entered}}}', fields
    return f'{{"userEnteredValue": {entered}, "userEnteredFormat": {{{fmt}}}}}', fields


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
            f'"responseRanges": {JSON.encode(list(look_at))}'
        )
    return (body + "}").encode()


#: The answer to a batch that looks at rows: only their effective values (and where).
LANDED_FIELDS: ParamsType = {
    "fields": "updatedSpreadsheet(sheets(properties(title),"
    "data(startRow,startColumn,rowData(values(effectiveValue)))))",
    **COMPACT,
}


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
    encoded = JSON.encode(request)
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


def entered_value(value: object) -> dict[str, Any]:
    """A value as the values API reads it, as the ExtendedValue that puts it back."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    return {"stringValue": str(value)}


def effective(cell: Mapping[str, Any]) -> object:
    value = cell.get("effectiveValue") or {}
    for name in ("stringValue", "numberValue", "boolValue"):
        if name in value:
            return value[name]
    return None
