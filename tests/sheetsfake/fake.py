"""``FakeSheets``: the test-facing facade of the fake Google Sheets API.

It owns the state, answers requests (``handle``) for both transports (the ``responses``
adapter and the loopback HTTP server), logs every request, injects planned faults, runs
"between requests" hooks, and offers helpers to seed and inspect spreadsheets directly and
to make edits the way a human would in the Sheets UI.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import cellvalues
from .a1 import A1Error, cell_index, col_index, parse_cells
from .api import JSON_HEADERS, Api, ApiResponse
from .batch import apply_batch
from .faults import DELAY, DROP, STATUS, FaultPlan, kind_matches
from .state import ROWS, Sheet, SheetsState, Spreadsheet

if TYPE_CHECKING:
    import responses

    from .server import FakeServer

GOOGLE_BASE_URL = "https://sheets.googleapis.com"


@dataclass
class RequestRecord:
    """One request as the fake saw it (sizes in bytes; ``status`` None if dropped)."""

    index: int
    method: str
    path: str
    query: dict[str, list[str]]
    kind: str | None
    spreadsheet_id: str | None
    body_size: int
    response_size: int = 0
    status: int | None = None
    fault: str | None = None
    duration: float = 0.0


@dataclass
class Outcome:
    """What a transport must do: answer (status, headers, content), or drop, or time out."""

    status: int
    headers: dict[str, str]
    content: bytes
    dropped: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class CellView:
    """A cell seen from a test: effective value, shown text, formula and formats."""

    value: Any
    formatted: str | None
    formula: str | None
    background: dict[str, Any] | None
    number_format: dict[str, Any] | None
    data_validation: dict[str, Any] | None
    raw: dict[str, Any]


@dataclass
class _Hook:
    callback: Callable[..., Any]
    after: int | None
    kind: str | None
    remaining: int | None


def _call(callback: Callable[..., Any], fake: FakeSheets) -> None:
    try:
        wants_arg = bool(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        wants_arg = True
    if wants_arg:
        callback(fake)
    else:
        callback()


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return True


class FakeSheets:
    """A stateful, in-memory Google Sheets API v4.

    ``seed`` makes generated ids reproducible; ``require_auth`` answers 401 to requests
    without an ``Authorization`` header (off by default so anonymous credentials work).
    """

    def __init__(self, *, seed: int = 0, require_auth: bool = False) -> None:
        self.state = SheetsState(seed)
        self.api = Api(self.state, require_auth=require_auth)
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self._hooks: list[_Hook] = []
        self._lock = threading.RLock()

    # -- transports ------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        query_string: str = "",
        body: bytes | None = b"",
        headers: Mapping[str, str] | None = None,
        *,
        wait: Callable[[float], bool] = _sleep,
    ) -> Outcome:
        """Answer one request. ``wait(seconds)`` performs a delay fault and returns False if
        the client would have timed out meanwhile (the outcome is then ``timed_out``)."""
        query = parse_qs(query_string, keep_blank_values=True)
        kind, spreadsheet_id, is_read = Api.describe(method, path)
        with self._lock:
            record = RequestRecord(
                len(self.requests),
                method.upper(),
                path,
                query,
                kind,
                spreadsheet_id,
                len(body or b""),
            )
            self.requests.append(record)
            fault = self.faults.pick(record.index, kind, is_read)
        started = time.monotonic()
        timed_out = False
        if fault is not None:
            record.fault = fault.action
            if fault.action == DELAY:
                timed_out = not wait(fault.seconds)
        with self._lock:
            response: ApiResponse | None = None
            if fault is None or fault.action == DELAY or fault.applied:
                response = self.api.handle(method, path, query, body, headers or {})
            if fault is not None and fault.action == STATUS:
                error = fault.error(is_read)
                response = ApiResponse(
                    error.code,
                    error.body(),
                    {**JSON_HEADERS, **error.headers},
                    kind,
                    spreadsheet_id,
                )
            if fault is not None and fault.action == DROP:
                outcome = Outcome(0, {}, b"", dropped=True)
            else:
                assert response is not None
                content = response.content()
                outcome = Outcome(response.status, response.headers, content, timed_out=timed_out)
                record.status = response.status
                record.response_size = len(content)
            record.duration = time.monotonic() - started
            self._run_hooks(record)
        return outcome

    def mocked(
        self,
        rsps: responses.RequestsMock | None = None,
        *,
        base_urls: tuple[str, ...] = (GOOGLE_BASE_URL,),
    ) -> contextlib.AbstractContextManager[responses.RequestsMock]:
        """Route ``requests`` calls to ``base_urls`` + ``/v4/spreadsheets...`` to this fake."""
        from .responses_adapter import mocked

        return mocked(self, rsps, base_urls=base_urls)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """Start a threaded HTTP server on loopback; ``.url`` is its base URL, ``.close()``."""
        from .server import FakeServer

        return FakeServer(self, host, port).start()

    # -- request log and hooks -------------------------------------------------------------
    def between_requests(
        self,
        callback: Callable[..., Any],
        *,
        after: int | None = None,
        kind: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Run ``callback`` (with the fake as argument, or none) once a request completes and
        before the next one is answered: after request index ``after`` (0-based, as in
        ``requests``), or after the next ``times`` requests matching ``kind``, or (neither
        given) after the next request."""
        with self._lock:
            self._hooks.append(_Hook(callback, after, kind, 1 if after is not None else times))

    def _run_hooks(self, record: RequestRecord) -> None:
        due = []
        for hook in list(self._hooks):
            if hook.after is not None and hook.after != record.index:
                continue
            if not kind_matches(hook.kind, record.kind, record.method == "GET"):
                continue
            if hook.remaining is not None:
                hook.remaining -= 1
                if hook.remaining <= 0:
                    self._hooks.remove(hook)
            due.append(hook)
        for hook in due:
            _call(hook.callback, self)

    def reset_log(self) -> None:
        """Forget the request log (indexes restart at 0)."""
        with self._lock:
            self.requests.clear()

    def requests_of(self, kind: str) -> list[RequestRecord]:
        """Logged requests of a kind (``values.batchGet``, ``read``, ``write``, ...)."""
        return [r for r in self.requests if kind_matches(kind, r.kind, r.method == "GET")]

    # -- seeding and inspection ------------------------------------------------------------
    def create_spreadsheet(
        self,
        title: str = "Untitled spreadsheet",
        sheets: Mapping[str, list[list[Any]]] | None = None,
        *,
        spreadsheet_id: str | None = None,
        time_zone: str = "Europe/London",
        locale: str = "en_GB",
        row_count: int = 1000,
        column_count: int = 26,
        private: bool = False,
        value_input_option: str = "RAW",
    ) -> str:
        """Create a spreadsheet with tabs ``{title: rows}`` (first tab gets sheetId 0).

        Python dates/datetimes become serial numbers with a DATE/DATE_TIME format; with
        ``value_input_option="USER_ENTERED"`` strings are parsed as if typed in the UI.
        """
        with self._lock:
            sid = spreadsheet_id or self.state.new_spreadsheet_id()
            ss = Spreadsheet(sid, title, locale, time_zone)
            ss.private = private
            self.state.spreadsheets[sid] = ss
            for n, (tab, rows) in enumerate((sheets or {"Sheet1": []}).items()):
                self._add_sheet(
                    ss,
                    tab,
                    rows,
                    row_count,
                    column_count,
                    0 if n == 0 else None,
                    value_input_option,
                )
            return sid

    def add_sheet(
        self,
        spreadsheet_id: str,
        title: str,
        rows: list[list[Any]] | None = None,
        *,
        row_count: int = 1000,
        column_count: int = 26,
        value_input_option: str = "RAW",
    ) -> int:
        """Add a tab (at the end) and return its sheetId."""
        with self._lock:
            ss = self.state.get(spreadsheet_id)
            sheet = self._add_sheet(
                ss, title, rows or [], row_count, column_count, None, value_input_option
            )
            ss.revision += 1
            return sheet.sheet_id

    def _add_sheet(
        self,
        ss: Spreadsheet,
        title: str,
        rows: list[list[Any]],
        row_count: int,
        column_count: int,
        sheet_id: int | None,
        option: str,
    ) -> Sheet:
        if ss.sheet_by_title(title) is not None:
            raise ValueError(f"tab {title!r} already exists")
        new_id = self.state.new_sheet_id(ss) if sheet_id is None else sheet_id
        width = max((len(r) for r in rows), default=0)
        sheet = Sheet(new_id, title, max(row_count, len(rows)), max(column_count, width))
        ss.sheets.append(sheet)
        self._write_rows(ss, sheet, 0, 0, rows, option)
        return sheet

    @staticmethod
    def _write_rows(
        ss: Spreadsheet, sheet: Sheet, r0: int, c0: int, rows: list[list[Any]], option: str
    ) -> None:
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                entered, number_format = cellvalues.python_value(value, option, ss.locale)
                sheet.set_value(r0 + i, c0 + j, entered, number_format)

    def _sheet(self, spreadsheet_id: str, tab: str) -> tuple[Spreadsheet, Sheet]:
        ss = self.state.get(spreadsheet_id)
        sheet = ss.sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {spreadsheet_id}")
        return ss, sheet

    def values(
        self,
        spreadsheet_id: str,
        tab: str,
        *,
        render: str = "UNFORMATTED_VALUE",
        date_time_render: str = "SERIAL_NUMBER",
    ) -> list[list[Any]]:
        """A tab's values as the values API returns them (trailing blanks trimmed)."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            params = {"valueRenderOption": render, "dateTimeRenderOption": date_time_render}
            box = (0, 0, sheet.row_count, sheet.column_count)
            values: list[list[Any]] = self.api.value_range(ss, sheet, box, params).get("values", [])
            return values

    def cell(self, spreadsheet_id: str, tab: str, a1: str) -> CellView:
        """One cell: value, formatted text, formula, background colour, number format."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            stored = sheet.cell(*cell_index(a1)) or {}
            fmt = stored.get("userEnteredFormat") or {}
            entered = stored.get("userEnteredValue") or {}
            return CellView(
                value=cellvalues.python_effective(stored),
                formatted=cellvalues.formatted_value(stored, ss.locale),
                formula=entered.get("formulaValue"),
                background=fmt.get("backgroundColor"),
                number_format=fmt.get("numberFormat"),
                data_validation=stored.get("dataValidation"),
                raw=dict(stored),
            )

    def metadata(self, spreadsheet_id: str) -> dict[str, Any]:
        """The spreadsheet resource without grid data (what ``spreadsheets.get`` returns)."""
        with self._lock:
            return self.state.get(spreadsheet_id).to_json()

    def sheet_properties(self, spreadsheet_id: str, tab: str) -> dict[str, Any]:
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            return sheet.properties_json(ss.index_of(sheet))

    def protected_ranges(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(p) for p in self._sheet(spreadsheet_id, tab)[1].protected_ranges]

    def revision(self, spreadsheet_id: str) -> int:
        """Bumped by every successful write, API or human."""
        with self._lock:
            return self.state.get(spreadsheet_id).revision

    def set_private(self, spreadsheet_id: str, private: bool = True) -> None:
        """Private spreadsheets answer 403 PERMISSION_DENIED."""
        with self._lock:
            self.state.get(spreadsheet_id).private = private

    def set_values(
        self,
        spreadsheet_id: str,
        tab: str,
        start: str,
        rows: list[list[Any]],
        *,
        value_input_option: str = "RAW",
    ) -> None:
        """Write a block of values from cell ``start`` (grows the grid if needed)."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            r0, c0 = cell_index(start)
            width = max((len(r) for r in rows), default=0)
            sheet.grid["rowCount"] = max(sheet.row_count, r0 + len(rows))
            sheet.grid["columnCount"] = max(sheet.column_count, c0 + width)
            self._write_rows(ss, sheet, r0, c0, rows, value_input_option)
            ss.revision += 1

    def format_cells(
        self,
        spreadsheet_id: str,
        tab: str,
        cells: str,
        *,
        background: dict[str, float] | None = None,
        number_format: dict[str, str] | None = None,
    ) -> None:
        """Colour / number-format a range such as ``A2:C2`` (as a human would)."""
        fmt: dict[str, Any] = {}
        fields = []
        if background is not None:
            fmt["backgroundColor"] = background
            fields.append("userEnteredFormat.backgroundColor")
        if number_format is not None:
            fmt["numberFormat"] = number_format
            fields.append("userEnteredFormat.numberFormat")
        r0, c0, r1, c1 = parse_cells(cells)
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            grid = {
                "sheetId": sheet.sheet_id,
                "startRowIndex": r0 or 0,
                "startColumnIndex": c0 or 0,
            }
            if r1 is not None:
                grid["endRowIndex"] = r1
            if c1 is not None:
                grid["endColumnIndex"] = c1
            request = {
                "repeatCell": {
                    "range": grid,
                    "cell": {"userEnteredFormat": fmt},
                    "fields": ",".join(fields),
                }
            }
            self._apply_human(ss, [request])

    # -- human edits (as in the Sheets UI) -------------------------------------------------
    def _apply_human(self, ss: Spreadsheet, requests: list[dict[str, Any]]) -> None:
        updated, _ = apply_batch(ss, self.state, requests)
        updated.revision += 1
        self.state.spreadsheets[ss.spreadsheet_id] = updated

    def insert_rows(
        self,
        spreadsheet_id: str,
        tab: str,
        before_row: int,
        n: int = 1,
        *,
        inherit_from_before: bool | None = None,
    ) -> None:
        """Insert ``n`` blank rows above 1-based row ``before_row`` (formats are inherited
        from the row above, or from the row below when inserting above row 1)."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            before = before_row > 1 if inherit_from_before is None else inherit_from_before
            rng = {
                "sheetId": sheet.sheet_id,
                "dimension": ROWS,
                "startIndex": before_row - 1,
                "endIndex": before_row - 1 + n,
            }
            self._apply_human(
                ss, [{"insertDimension": {"range": rng, "inheritFromBefore": before}}]
            )

    def delete_rows(self, spreadsheet_id: str, tab: str, start_row: int, n: int = 1) -> None:
        """Delete ``n`` rows starting at 1-based row ``start_row``."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            rng = {
                "sheetId": sheet.sheet_id,
                "dimension": ROWS,
                "startIndex": start_row - 1,
                "endIndex": start_row - 1 + n,
            }
            self._apply_human(ss, [{"deleteDimension": {"range": rng}}])

    def sort_rows(
        self,
        spreadsheet_id: str,
        tab: str,
        key_col: str | int,
        start_row: int = 2,
        *,
        descending: bool = False,
        end_row: int | None = None,
    ) -> None:
        """Sort rows ``start_row``..``end_row`` (1-based, default: last row with data) by a
        column given as a letter or a 1-based number; blank keys sort last, as in Sheets."""
        col = col_index(key_col) if isinstance(key_col, str) else key_col - 1
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            last = end_row if end_row is not None else sheet.data_rows()
            if last < start_row:
                return
            rng = {
                "sheetId": sheet.sheet_id,
                "startRowIndex": start_row - 1,
                "endRowIndex": last,
                "startColumnIndex": 0,
                "endColumnIndex": sheet.column_count,
            }
            order = "DESCENDING" if descending else "ASCENDING"
            spec = {"dimensionIndex": col, "sortOrder": order}
            self._apply_human(ss, [{"sortRange": {"range": rng, "sortSpecs": [spec]}}])

    def edit_cell(
        self,
        spreadsheet_id: str,
        tab: str,
        a1: str,
        value: Any,
        *,
        value_input_option: str = "USER_ENTERED",
    ) -> None:
        """Type ``value`` into a cell (None or "" clears it); parsed like the UI does."""
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            ss = ss.clone()
            found = ss.sheet_by_id(sheet.sheet_id)
            assert found is not None
            sheet = found
            row, col = cell_index(a1)
            if row >= sheet.row_count or col >= sheet.column_count:
                raise A1Error(f"{a1} is outside the grid of {tab!r}")
            entered, number_format = cellvalues.python_value(value, value_input_option, ss.locale)
            sheet.set_value(row, col, entered, number_format)
            ss.revision += 1
            self.state.spreadsheets[ss.spreadsheet_id] = ss

    def rename_sheet(self, spreadsheet_id: str, tab: str, new_title: str) -> None:
        with self._lock:
            ss, sheet = self._sheet(spreadsheet_id, tab)
            props = {"sheetId": sheet.sheet_id, "title": new_title}
            self._apply_human(
                ss, [{"updateSheetProperties": {"properties": props, "fields": "title"}}]
            )

    # -- whole-state export / import (used by the CLI server) ------------------------------
    def export(self, spreadsheet_id: str) -> dict[str, Any]:
        """Title, revision and every tab's values (UNFORMATTED_VALUE / SERIAL_NUMBER)."""
        with self._lock:
            ss = self.state.get(spreadsheet_id)
            return {
                "spreadsheetId": spreadsheet_id,
                "title": ss.properties["title"],
                "revision": ss.revision,
                "sheets": {s.title: self.values(spreadsheet_id, s.title) for s in ss.sheets},
            }

    def load_seed(self, seed: Mapping[str, Any] | list[Any]) -> list[str]:
        """Create spreadsheets from JSON: ``{"spreadsheets": [{"id", "title", "sheets":
        {tab: rows}, "timeZone", "locale", "private", "valueInputOption"}]}``."""
        items = seed["spreadsheets"] if isinstance(seed, Mapping) else seed
        ids = []
        for item in items:
            ids.append(
                self.create_spreadsheet(
                    item.get("title", "Untitled spreadsheet"),
                    item.get("sheets") or None,
                    spreadsheet_id=item.get("id"),
                    time_zone=item.get("timeZone", "Europe/London"),
                    locale=item.get("locale", "en_GB"),
                    private=bool(item.get("private", False)),
                    value_input_option=item.get("valueInputOption", "RAW"),
                )
            )
        return ids


def iter_records(records: list[RequestRecord]) -> Iterator[dict[str, Any]]:
    """Request records as JSON-friendly dicts."""
    for r in records:
        yield dict(r.__dict__)
