"""The spreadsheet model: spreadsheets, tabs (sheets), sparse cells and the grid operations.

Everything is stored in the API's own JSON shapes (``SheetProperties``, ``CellData``,
``GridRange``, ``ProtectedRange``) so handlers can hand them out almost unchanged.
Cells are sparse: ``Sheet.cells[(row, col)]`` (0-based) is a ``CellData`` dict.
"""

from __future__ import annotations

import copy
import functools
import random
import string
from typing import Any

from . import cellvalues
from .a1 import A1Error, A1Range, format_range, parse_range
from .errors import ApiError, invalid_argument

GOOGLE_DOCS_URL = "https://docs.google.com/spreadsheets/d/%s/edit"

DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}

_THEME_COLORS = [
    ("TEXT", {}),
    ("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
    ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
    ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
    ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
    ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
    ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
    ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
    ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
]
DEFAULT_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [{"colorType": t, "color": {"rgbColor": c}} for t, c in _THEME_COLORS],
}

ROWS, COLUMNS = "ROWS", "COLUMNS"
_RANGE_KEYS = {
    ROWS: ("startRowIndex", "endRowIndex"),
    COLUMNS: ("startColumnIndex", "endColumnIndex"),
}


def grid_limits_error(title: str, box: tuple[int, int, int, int], rows: int, cols: int) -> ApiError:
    text = format_range(title, *box)
    return invalid_argument(
        f"Range ({text}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
    )


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _map_index(x: int, start: int, end: int) -> int:
    """Where index ``x`` lands after deleting [start, end)."""
    if x < start:
        return x
    if x < end:
        return start
    return x - (end - start)


def shift_grid_range(rng: dict[str, Any], dim: str, start: int, count: int) -> dict | None:
    """Adjust a GridRange for an insert (count > 0) or delete (count < 0) at ``start``."""
    lo_key, hi_key = _RANGE_KEYS[dim]
    out = dict(rng)
    lo, hi = out.get(lo_key, 0), out.get(hi_key)
    if count > 0:
        if lo >= start:
            lo += count
        if hi is not None and hi > start:
            hi += count
    else:
        end = start - count
        lo = _map_index(lo, start, end)
        if hi is not None:
            hi = _map_index(hi, start, end)
            if hi <= lo:
                return None
    out[lo_key] = lo
    if hi is not None:
        out[hi_key] = hi
    return out


def sort_key_compare(a: dict | None, b: dict | None, descending: bool) -> int:
    """Sheets' sort order: numbers < text (case-insensitive) < booleans < errors; blanks last."""
    va, vb = cellvalues.effective_value(a), cellvalues.effective_value(b)
    if va is None or vb is None:
        return (va is None) - (vb is None)

    def key(v: dict) -> tuple[int, Any]:
        if "numberValue" in v:
            return 0, v["numberValue"]
        if "stringValue" in v:
            return 1, v["stringValue"].casefold()
        if "boolValue" in v:
            return 2, v["boolValue"]
        return 3, str(v.get("errorValue"))

    ka, kb = key(va), key(vb)
    result = (ka > kb) - (ka < kb)
    return -result if descending else result


class Sheet:
    """One tab: properties, sparse cells, protected ranges, merges and row/column metadata."""

    def __init__(self, sheet_id: int, title: str, row_count: int = 1000, column_count: int = 26):
        self.props: dict[str, Any] = {
            "sheetId": sheet_id,
            "title": title,
            "index": 0,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": row_count, "columnCount": column_count},
        }
        self.cells: dict[tuple[int, int], dict[str, Any]] = {}
        self.protected_ranges: list[dict[str, Any]] = []
        self.merges: list[dict[str, Any]] = []
        self.row_meta: dict[int, dict[str, Any]] = {}
        self.col_meta: dict[int, dict[str, Any]] = {}

    # -- properties ------------------------------------------------------------------------
    @property
    def sheet_id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def grid(self) -> dict[str, Any]:
        return self.props.setdefault("gridProperties", {})

    @property
    def row_count(self) -> int:
        return int(self.grid.get("rowCount", 0))

    @property
    def column_count(self) -> int:
        return int(self.grid.get("columnCount", 0))

    def count(self, dim: str) -> int:
        return self.row_count if dim == ROWS else self.column_count

    def set_count(self, dim: str, value: int) -> None:
        self.grid["rowCount" if dim == ROWS else "columnCount"] = value
        self.cells = {
            (r, c): cell
            for (r, c), cell in self.cells.items()
            if r < self.row_count and c < self.column_count
        }

    def properties_json(self, index: int) -> dict[str, Any]:
        props = copy.deepcopy(self.props)
        props["index"] = index
        order = ("sheetId", "title", "index", "sheetType", "gridProperties")
        out = {key: props[key] for key in order if key in props}
        out.update({key: value for key, value in props.items() if key not in out})
        grid = out.get("gridProperties", {})
        for key in list(grid):
            if grid[key] in (0, False) and key not in ("rowCount", "columnCount"):
                del grid[key]
        for key in ("hidden", "rightToLeft"):
            if out.get(key) is False:
                del out[key]
        return out

    # -- cells -----------------------------------------------------------------------------
    def cell(self, row: int, col: int) -> dict[str, Any] | None:
        return self.cells.get((row, col))

    def put(self, row: int, col: int, cell: dict[str, Any] | None) -> None:
        if cell:
            self.cells[(row, col)] = cell
        else:
            self.cells.pop((row, col), None)

    def set_value(self, row: int, col: int, value: dict | None, number_format: dict | None) -> None:
        """Replace a cell's entered value, keeping its format (a number format may be added)."""
        cell = dict(self.cells.get((row, col)) or {})
        if value is None:
            cell.pop("userEnteredValue", None)
        else:
            cell["userEnteredValue"] = value
            fmt = dict(cell.get("userEnteredFormat") or {})
            if number_format and "numberFormat" not in fmt:
                fmt["numberFormat"] = number_format
                cell["userEnteredFormat"] = fmt
        self.put(row, col, cell)

    def has_value(self, row: int, col: int) -> bool:
        return bool((self.cells.get((row, col)) or {}).get("userEnteredValue"))

    def data_rows(self) -> int:
        """1 + the last row index holding a value (0 for an empty tab)."""
        rows = [r for (r, c), cell in self.cells.items() if cell.get("userEnteredValue")]
        return max(rows) + 1 if rows else 0

    def box(self, a1: A1Range) -> tuple[int, int, int, int]:
        """The box a parsed range covers, 400 if it reaches outside the grid."""
        r0, c0 = a1.start_row or 0, a1.start_col or 0
        r1 = a1.end_row if a1.end_row is not None else self.row_count
        c1 = a1.end_col if a1.end_col is not None else self.column_count
        if (
            r0 >= self.row_count
            or c0 >= self.column_count
            or r1 > self.row_count
            or (c1 > self.column_count)
        ):
            shown = (r0, c0, max(r1, r0 + 1), max(c1, c0 + 1))
            raise grid_limits_error(self.title, shown, self.row_count, self.column_count)
        return r0, c0, r1, c1

    def matrix(self, box: tuple[int, int, int, int]) -> list[list[dict | None]]:
        r0, c0, r1, c1 = box
        return [[self.cells.get((r, c)) for c in range(c0, c1)] for r in range(r0, r1)]

    # -- grid operations -------------------------------------------------------------------
    def _ranges(self) -> list[tuple[list[dict[str, Any]], str | None]]:
        return [(self.protected_ranges, "range"), (self.merges, None)]

    def insert(self, dim: str, start: int, count: int, inherit_from_before: bool) -> None:
        """Insert ``count`` rows/columns before index ``start`` (formats are inherited)."""
        axis = 0 if dim == ROWS else 1
        moved: dict[tuple[int, int], dict[str, Any]] = {}
        for key, cell in self.cells.items():
            pos = list(key)
            if pos[axis] >= start:
                pos[axis] += count
            moved[(pos[0], pos[1])] = cell
        self.cells = moved
        meta = self.row_meta if dim == ROWS else self.col_meta
        shifted = {(i + count if i >= start else i): m for i, m in meta.items()}
        meta.clear()
        meta.update(shifted)
        self.grid["rowCount" if dim == ROWS else "columnCount"] = self.count(dim) + count
        source = start - 1 if inherit_from_before else start + count
        if 0 <= source < self.count(dim):
            for key, cell in list(self.cells.items()):
                if key[axis] != source:
                    continue
                inherited = {
                    k: copy.deepcopy(v)
                    for k, v in cell.items()
                    if k in ("userEnteredFormat", "dataValidation")
                }
                if inherited:
                    for i in range(start, start + count):
                        target = (i, key[1]) if axis == 0 else (key[0], i)
                        self.cells[target] = copy.deepcopy(inherited)
        self._shift_ranges(dim, start, count)

    def delete(self, dim: str, start: int, end: int) -> None:
        """Delete rows/columns [start, end) and close the gap."""
        axis = 0 if dim == ROWS else 1
        count = end - start
        kept: dict[tuple[int, int], dict[str, Any]] = {}
        for key, cell in self.cells.items():
            if start <= key[axis] < end:
                continue
            pos = list(key)
            if pos[axis] >= end:
                pos[axis] -= count
            kept[(pos[0], pos[1])] = cell
        self.cells = kept
        meta = self.row_meta if dim == ROWS else self.col_meta
        shifted = {
            (i - count if i >= end else i): m for i, m in meta.items() if not start <= i < end
        }
        meta.clear()
        meta.update(shifted)
        self.grid["rowCount" if dim == ROWS else "columnCount"] = self.count(dim) - count
        self._shift_ranges(dim, start, -count)

    def _shift_ranges(self, dim: str, start: int, count: int) -> None:
        kept_protected = []
        for protected in self.protected_ranges:
            moved = shift_grid_range(protected["range"], dim, start, count)
            if moved is not None:
                kept_protected.append({**protected, "range": moved})
        self.protected_ranges = kept_protected
        self.merges = [
            m for m in (shift_grid_range(r, dim, start, count) for r in self.merges) if m
        ]

    def sort(self, box: tuple[int, int, int, int], specs: list[tuple[int, bool]]) -> None:
        """Sort the rows of ``box`` by (absolute column, descending) keys; cells move whole."""
        r0, c0, r1, c1 = box
        rows = [[self.cells.get((r, c)) for c in range(c0, c1)] for r in range(r0, r1)]

        def compare(a: list[dict | None], b: list[dict | None]) -> int:
            for col, descending in specs:
                result = sort_key_compare(a[col - c0], b[col - c0], descending)
                if result:
                    return result
            return 0

        rows.sort(key=functools.cmp_to_key(compare))
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                self.put(r0 + i, c0 + j, cell)


class Spreadsheet:
    """A spreadsheet: properties, tabs in order, a revision counter and an access flag."""

    def __init__(self, spreadsheet_id: str, title: str, locale: str, time_zone: str) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.properties: dict[str, Any] = {
            "title": title,
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone,
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        }
        self.sheets: list[Sheet] = []
        self.revision = 0
        self.private = False

    @property
    def locale(self) -> str:
        return str(self.properties.get("locale", "en_US"))

    def clone(self) -> Spreadsheet:
        """A deep copy to change. Stored cells are only ever replaced, never changed in place,
        so the copy shares them (deep-copying every cell made each write to a 50,000-row
        spreadsheet take seconds)."""
        memo: dict[int, Any] = {id(sheet.cells): dict(sheet.cells) for sheet in self.sheets}
        return copy.deepcopy(self, memo)

    # -- lookup ----------------------------------------------------------------------------
    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def sheet_by_title(self, title: str) -> Sheet | None:
        exact = next((s for s in self.sheets if s.title == title), None)
        return exact or next((s for s in self.sheets if s.title.lower() == title.lower()), None)

    def index_of(self, sheet: Sheet) -> int:
        return self.sheets.index(sheet)

    def resolve(self, text: str) -> tuple[Sheet, A1Range]:
        """A1 text -> (tab, parsed range); 400 ``Unable to parse range`` like Google."""
        try:
            a1 = parse_range(text)
        except A1Error:
            raise invalid_argument(f"Unable to parse range: {text}") from None
        if a1.sheet is None:
            if not self.sheets:
                raise invalid_argument(f"Unable to parse range: {text}")
            return self.sheets[0], a1
        sheet = self.sheet_by_title(a1.sheet)
        if sheet is None:
            raise invalid_argument(f"Unable to parse range: {text}")
        return sheet, a1

    # -- JSON ------------------------------------------------------------------------------
    def cell_json(self, cell: dict[str, Any] | None) -> dict[str, Any]:
        """CellData as ``spreadsheets.get`` returns it (effective and formatted values added)."""
        if not cell:
            return {}
        out: dict[str, Any] = {}
        if cell.get("userEnteredValue"):
            out["userEnteredValue"] = copy.deepcopy(cell["userEnteredValue"])
            out["effectiveValue"] = cellvalues.effective_value(cell)
            out["formattedValue"] = cellvalues.formatted_value(cell, self.locale)
        if cell.get("userEnteredFormat"):
            out["userEnteredFormat"] = copy.deepcopy(cell["userEnteredFormat"])
        if cell.get("userEnteredValue"):
            default = self.properties.get("defaultFormat", {})
            out["effectiveFormat"] = deep_merge(default, cell.get("userEnteredFormat") or {})
        for key in ("dataValidation", "note", "hyperlink", "textFormatRuns"):
            if cell.get(key):
                out[key] = copy.deepcopy(cell[key])
        return out

    def grid_data(self, sheet: Sheet, box: tuple[int, int, int, int]) -> dict[str, Any]:
        r0, c0, r1, c1 = box
        data: dict[str, Any] = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        rows: list[dict[str, Any]] = []
        for r in range(r0, r1):
            values = [self.cell_json(sheet.cell(r, c)) for c in range(c0, c1)]
            while values and not values[-1]:
                values.pop()
            rows.append({"values": values} if values else {})
        while rows and not rows[-1]:
            rows.pop()
        if rows:
            data["rowData"] = rows
        data["rowMetadata"] = [
            {"pixelSize": 21, **sheet.row_meta.get(r, {})} for r in range(r0, r1)
        ]
        data["columnMetadata"] = [
            {"pixelSize": 100, **sheet.col_meta.get(c, {})} for c in range(c0, c1)
        ]
        return data

    def to_json(
        self,
        include_grid: bool = False,
        ranges: list[tuple[Sheet, tuple[int, int, int, int]]] | None = None,
    ) -> dict[str, Any]:
        """The ``Spreadsheet`` resource; with ``ranges`` only the tabs they touch are listed."""
        sheets_out = []
        for index, sheet in enumerate(self.sheets):
            boxes = [box for s, box in ranges if s is sheet] if ranges is not None else None
            if boxes is not None and not boxes:
                continue
            item: dict[str, Any] = {"properties": sheet.properties_json(index)}
            if include_grid:
                boxes = boxes or [(0, 0, sheet.row_count, sheet.column_count)]
                item["data"] = [self.grid_data(sheet, box) for box in boxes]
            if sheet.merges:
                item["merges"] = copy.deepcopy(sheet.merges)
            if sheet.protected_ranges:
                item["protectedRanges"] = copy.deepcopy(sheet.protected_ranges)
            sheets_out.append(item)
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": copy.deepcopy(self.properties),
            "sheets": sheets_out,
            "spreadsheetUrl": GOOGLE_DOCS_URL % self.spreadsheet_id,
        }


class SheetsState:
    """All spreadsheets of one fake, plus a seeded random source for ids."""

    def __init__(self, seed: int = 0) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.rng = random.Random(seed)

    def new_spreadsheet_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "1" + "".join(self.rng.choice(alphabet) for _ in range(43))

    def new_sheet_id(self, spreadsheet: Spreadsheet) -> int:
        while True:
            candidate = self.rng.randrange(1, 2**31 - 1)
            if spreadsheet.sheet_by_id(candidate) is None:
                return candidate

    def new_protected_range_id(self) -> int:
        return self.rng.randrange(1, 2**31 - 1)

    def get(self, spreadsheet_id: str) -> Spreadsheet:
        try:
            return self.spreadsheets[spreadsheet_id]
        except KeyError:
            raise ApiError(404) from None
