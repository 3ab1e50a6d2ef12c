"""Request routing and handlers of the Sheets v4 REST API, free of any transport.

``Api.handle(method, path, query, body, headers)`` takes a percent-encoded path such as
``/v4/spreadsheets/ID/values/%27Tab%27%21A1`` and returns an ``ApiResponse`` (status,
headers, JSON body). The caller (``FakeSheets``) holds the lock, injects faults and logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import batch, cellvalues, discovery, fieldmask
from .a1 import A1Range, col_letters, format_range
from .errors import ApiError, invalid_argument
from .state import COLUMNS, ROWS, Sheet, SheetsState, Spreadsheet, grid_limits_error

JSON_HEADERS = {
    "Content-Type": "application/json; charset=UTF-8",
    "Vary": "Origin, X-Origin, Referer",
    "Server": "ESF",
    "Cache-Control": "private",
    "X-Content-Type-Options": "nosniff",
}
Box = tuple[int, int, int, int]


@dataclass
class ApiResponse:
    """What the API answers: status, JSON body, headers, and what was asked (for the log)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    kind: str | None = None
    spreadsheet_id: str | None = None
    pretty: bool = True

    def content(self) -> bytes:
        if self.pretty:
            text = json.dumps(self.body, indent=2, ensure_ascii=False) + "\n"
        else:
            text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")


def _transpose(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    return [[r[i] if i < len(r) else None for r in rows] for i in range(width)]


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(["" if v is None else v for v in row])
    while out and not out[-1]:
        out.pop()
    return out


def _normalize_json(value: Any) -> Any:
    """Google treats ``null`` members as absent (nulls inside lists, i.e. ``values``, are
    kept: they mean "leave this cell alone") and accepts snake_case member names."""
    if isinstance(value, dict):
        return {discovery.camel(k): _normalize_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normalize_json(v) for v in value]
    return value


def _selects_grid_data(tree: fieldmask.Mask) -> bool:
    if "*" in tree or "sheets" not in tree:
        return "*" in tree
    sheets = tree["sheets"]
    return sheets is None or "*" in sheets or "data" in sheets


class Api:
    """The REST surface over a ``SheetsState``."""

    def __init__(self, state: SheetsState, require_auth: bool = False) -> None:
        self.state = state
        self.require_auth = require_auth
        self._handlers: dict[str, Callable[..., dict[str, Any]]] = {
            "spreadsheets.get": self.spreadsheets_get,
            "spreadsheets.create": self.spreadsheets_create,
            "spreadsheets.batchUpdate": self.spreadsheets_batch_update,
            "spreadsheets.values.get": self.values_get,
            "spreadsheets.values.batchGet": self.values_batch_get,
            "spreadsheets.values.update": self.values_update,
            "spreadsheets.values.batchUpdate": self.values_batch_update,
            "spreadsheets.values.append": self.values_append,
            "spreadsheets.values.clear": self.values_clear,
            "spreadsheets.values.batchClear": self.values_batch_clear,
        }

    # -- entry point -----------------------------------------------------------------------
    @staticmethod
    def describe(method: str, path: str) -> tuple[str | None, str | None, bool]:
        """(kind, spreadsheet id, is_read) of a request, without handling it."""
        routed = discovery.route(method, path)
        if routed is None:
            return None, None, method.upper() == "GET"
        found, params = routed
        return found.kind, params.get("spreadsheetId"), found.is_read

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> ApiResponse:
        kind = spreadsheet_id = None
        pretty = True
        try:
            routed = discovery.route(method, path)
            if routed is None:
                raise ApiError(404, f"Method not found: {method} {path}")
            found, path_params = routed
            kind, spreadsheet_id = found.kind, path_params.get("spreadsheetId")
            params = discovery.validate_query(found, dict(query))
            pretty = params.get("prettyPrint", True) is not False
            if params.get("alt", "json") != "json":
                raise ApiError(501, "Only alt=json is implemented by the sheetsfake.")
            payload = self._json_body(body) if found.request_schema else None
            discovery.validate_body(found, payload)
            payload = _normalize_json(payload)
            lowered = {k.lower(): v for k, v in headers.items()}
            if self.require_auth and "authorization" not in lowered and "key" not in params:
                raise ApiError(401)
            tree = self._response_mask(params.get("fields"), found.response_schema)
            handler = self._handlers.get(found.kind)
            if handler is None:
                raise ApiError(501, f"{found.kind} is not implemented by the sheetsfake.")
            result = handler(path_params, params, payload if payload is not None else {}, tree)
            if tree is not None:
                result = fieldmask.select(result, tree)
            return ApiResponse(200, result, kind=kind, spreadsheet_id=spreadsheet_id, pretty=pretty)
        except ApiError as error:
            return ApiResponse(
                error.code,
                error.body(),
                {**JSON_HEADERS, **error.headers},
                kind=kind,
                spreadsheet_id=spreadsheet_id,
                pretty=pretty,
            )

    @staticmethod
    def _json_body(body: bytes | None) -> Any:
        if not body or not body.strip():
            return {}
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise invalid_argument("Invalid JSON payload received. Unexpected token.") from None

    @staticmethod
    def _response_mask(text: str | None, schema: str | None) -> fieldmask.Mask | None:
        if not text:
            return None
        try:
            tree = fieldmask.parse(text)
        except fieldmask.FieldMaskError:
            raise invalid_argument(f"Invalid FieldMask '{text}'.") from None
        bad = discovery.unknown_mask_paths(schema, tree) if schema else []
        if bad:
            raise invalid_argument(f"Invalid field selection {bad[0]}")
        return tree

    def _open(self, spreadsheet_id: str) -> Spreadsheet:
        spreadsheet = self.state.get(spreadsheet_id)
        if spreadsheet.private:
            raise ApiError(403)
        return spreadsheet

    def _commit(self, spreadsheet: Spreadsheet) -> None:
        spreadsheet.revision += 1
        self.state.spreadsheets[spreadsheet.spreadsheet_id] = spreadsheet

    # -- spreadsheets ----------------------------------------------------------------------
    def spreadsheets_get(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"])
        include = bool(params.get("includeGridData"))
        if tree is not None:
            include = _selects_grid_data(tree)
        ranges = None
        if params.get("ranges"):
            ranges = []
            for text in params["ranges"]:
                sheet, a1 = ss.resolve(text)
                ranges.append((sheet, sheet.box(a1)))
        return ss.to_json(include_grid=include, ranges=ranges)

    def spreadsheets_create(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        props = body.get("properties") or {}
        spreadsheet_id = self.state.new_spreadsheet_id()
        ss = Spreadsheet(
            spreadsheet_id,
            props.get("title") or "Untitled spreadsheet",
            props.get("locale") or "en_US",
            props.get("timeZone") or "Europe/London",
        )
        sheets = body.get("sheets") or [{"properties": {"sheetId": 0, "title": "Sheet1"}}]
        requests = [{"addSheet": {"properties": s.get("properties") or {}}} for s in sheets]
        ss, _ = batch.apply_batch(ss, self.state, requests)
        self.state.spreadsheets[spreadsheet_id] = ss
        return ss.to_json()

    def spreadsheets_batch_update(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"])
        updated, replies = batch.apply_batch(ss, self.state, body.get("requests") or [])
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            ranges = None
            if body.get("responseRanges"):
                ranges = []
                for text in body["responseRanges"]:
                    # A range past the grid fails the whole call: a batchUpdate is one
                    # transaction, so nothing is committed then.
                    sheet, a1 = updated.resolve(text)
                    ranges.append((sheet, sheet.box(a1)))
            include = bool(body.get("responseIncludeGridData"))
            result["updatedSpreadsheet"] = updated.to_json(include, ranges)
        self._commit(updated)
        return result

    # -- values: reading -------------------------------------------------------------------
    def read(self, ss: Spreadsheet, text: str, params: dict[str, Any]) -> dict[str, Any]:
        """One ValueRange, shaped exactly like Google's (clipped range, trimmed blanks)."""
        sheet, a1 = ss.resolve(text)
        box = sheet.box(a1)
        return self.value_range(ss, sheet, box, params)

    def value_range(
        self, ss: Spreadsheet, sheet: Sheet, box: Box, params: dict[str, Any]
    ) -> dict[str, Any]:
        major = params.get("majorDimension") or ROWS
        if major == "DIMENSION_UNSPECIFIED":
            major = ROWS
        value_render = params.get("valueRenderOption") or "FORMATTED_VALUE"
        date_render = params.get("dateTimeRenderOption") or "SERIAL_NUMBER"
        rows = [
            [cellvalues.render(cell, value_render, date_render, ss.locale) for cell in row]
            for row in sheet.matrix(box)
        ]
        if major == COLUMNS:
            rows = _transpose(rows) if rows else []
        out: dict[str, Any] = {"range": format_range(sheet.title, *box), "majorDimension": major}
        values = _trim(rows)
        if values:
            out["values"] = values
        return out

    def values_get(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"])
        return self.read(ss, path["range"], params)

    def values_batch_get(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"])
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if params.get("ranges"):
            result["valueRanges"] = [self.read(ss, text, params) for text in params["ranges"]]
        return result

    # -- values: writing -------------------------------------------------------------------
    @staticmethod
    def _input_option(value: str | None) -> str:
        if value in (None, "INPUT_VALUE_OPTION_UNSPECIFIED"):
            raise invalid_argument("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        return str(value)

    def write(
        self,
        ss: Spreadsheet,
        text: str,
        data: dict[str, Any],
        option: str,
        *,
        at_row: int | None = None,
        grow_rows: bool = False,
    ) -> dict[str, Any]:
        """values.update semantics on ``ss`` (changed in place); returns UpdateValuesResponse."""
        sheet, a1 = ss.resolve(text)
        rows = [list(r) for r in data.get("values") or []]
        if data.get("majorDimension") == COLUMNS:
            rows = _transpose(rows)
        single = a1.end_row == (a1.start_row or 0) + 1 and a1.end_col == (a1.start_col or 0) + 1
        if at_row is None:
            sheet.box(a1)  # the range itself must lie on the grid
        r0 = at_row if at_row is not None else a1.start_row or 0
        c0 = a1.start_col or 0
        height, width = len(rows), max((len(r) for r in rows), default=0)
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if not height or not width:
            result["updatedRange"] = format_range(sheet.title, r0, c0, r0 + 1, c0 + 1)
            return result
        if not single and at_row is None:
            self._check_within(sheet, a1, r0, c0, height, width)
        if r0 + height > sheet.row_count:
            if not grow_rows:
                raise grid_limits_error(
                    sheet.title,
                    (max(r0, sheet.row_count), c0, r0 + height, c0 + width),
                    sheet.row_count,
                    sheet.column_count,
                )
            sheet.grid["rowCount"] = r0 + height
        if c0 + width > sheet.column_count:
            raise grid_limits_error(
                sheet.title,
                (r0, max(c0, sheet.column_count), r0 + height, c0 + width),
                sheet.row_count,
                sheet.column_count,
            )
        touched: set[tuple[int, int]] = set()
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dict | list):
                    kind = "struct_value" if isinstance(value, dict) else "list_value"
                    raise invalid_argument(f"Invalid values[{i}][{j}]: {kind}")
                entered, number_format = cellvalues.python_value(value, option, ss.locale)
                sheet.set_value(r0 + i, c0 + j, entered, number_format)
                touched.add((i, j))
        result.update(
            {
                "updatedRange": format_range(sheet.title, r0, c0, r0 + height, c0 + width),
                "updatedRows": len({i for i, _ in touched}),
                "updatedColumns": len({j for _, j in touched}),
                "updatedCells": len(touched),
            }
        )
        result["_touched"] = {(sheet.sheet_id, r0 + i, c0 + j) for i, j in touched}
        return result

    @staticmethod
    def _check_within(sheet: Sheet, a1: A1Range, r0: int, c0: int, height: int, width: int) -> None:
        r1 = a1.end_row if a1.end_row is not None else sheet.row_count
        c1 = a1.end_col if a1.end_col is not None else sheet.column_count
        requested = format_range(sheet.title, r0, c0, r1, c1)
        if a1.end_row is not None and r0 + height > a1.end_row:
            raise invalid_argument(
                f"Requested writing within range [{requested}], but tried writing to row "
                f"[{a1.end_row + 1}]"
            )
        if a1.end_col is not None and c0 + width > a1.end_col:
            raise invalid_argument(
                f"Requested writing within range [{requested}], but tried writing to column "
                f"[{col_letters(a1.end_col)}]"
            )

    def _updated_data(
        self, ss: Spreadsheet, result: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        render = {
            "valueRenderOption": params.get("responseValueRenderOption"),
            "dateTimeRenderOption": params.get("responseDateTimeRenderOption"),
        }
        return self.read(ss, result["updatedRange"], render)

    def values_update(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"]).clone()
        option = self._input_option(params.get("valueInputOption"))
        result = self.write(ss, path["range"], body, option)
        result.pop("_touched", None)
        if params.get("includeValuesInResponse"):
            result["updatedData"] = self._updated_data(ss, result, params)
        self._commit(ss)
        return result

    def values_batch_update(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"]).clone()
        option = self._input_option(body.get("valueInputOption"))
        responses = []
        touched: set[tuple[int, int, int]] = set()
        for i, data in enumerate(body.get("data") or []):
            if not data.get("range"):
                raise invalid_argument(f"Invalid data[{i}]: range is required")
            try:
                response = self.write(ss, data["range"], data, option)
            except ApiError as error:
                raise invalid_argument(f"Invalid data[{i}]: {error.message}") from None
            touched |= response.pop("_touched", set())
            if body.get("includeValuesInResponse"):
                response["updatedData"] = self._updated_data(ss, response, body)
            responses.append(response)
        self._commit(ss)
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if responses:
            result.update(
                {
                    "totalUpdatedRows": len({(s, r) for s, r, _ in touched}),
                    "totalUpdatedColumns": len({(s, c) for s, _, c in touched}),
                    "totalUpdatedCells": len(touched),
                    "totalUpdatedSheets": len({s for s, _, _ in touched}),
                    "responses": responses,
                }
            )
        return result

    def values_append(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"]).clone()
        option = self._input_option(params.get("valueInputOption"))
        sheet, a1 = ss.resolve(path["range"])
        r0, c0, r1, c1 = sheet.box(a1)
        data_rows = [
            (r, c)
            for (r, c), cell in sheet.cells.items()
            if r0 <= r < r1 and c0 <= c < c1 and cell.get("userEnteredValue")
        ]
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        next_row = r0
        if data_rows:
            top, bottom = min(r for r, _ in data_rows), max(r for r, _ in data_rows) + 1
            left, right = min(c for _, c in data_rows), max(c for _, c in data_rows) + 1
            result["tableRange"] = format_range(sheet.title, top, min(left, c0), bottom, right)
            next_row = bottom
        rows = body.get("values") or []
        height = (
            len(rows)
            if body.get("majorDimension") != COLUMNS
            else max((len(r) for r in rows), default=0)
        )
        if params.get("insertDataOption") == "INSERT_ROWS" and height:
            sheet.insert(ROWS, next_row, height, inherit_from_before=next_row > 0)
        update = self.write(ss, path["range"], body, option, at_row=next_row, grow_rows=True)
        update.pop("_touched", None)
        if params.get("includeValuesInResponse") and "updatedCells" in update:
            update["updatedData"] = self._updated_data(ss, update, params)
        result["updates"] = update
        self._commit(ss)
        return result

    def _clear(self, ss: Spreadsheet, text: str) -> str:
        sheet, a1 = ss.resolve(text)
        r0, c0, r1, c1 = sheet.box(a1)
        for r, c in list(sheet.cells):
            if r0 <= r < r1 and c0 <= c < c1:
                sheet.set_value(r, c, None, None)
        return format_range(sheet.title, r0, c0, r1, c1)

    def values_clear(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"]).clone()
        cleared = self._clear(ss, path["range"])
        self._commit(ss)
        return {"spreadsheetId": ss.spreadsheet_id, "clearedRange": cleared}

    def values_batch_clear(
        self, path: dict[str, str], params: dict[str, Any], body: Any, tree: Any
    ) -> dict[str, Any]:
        ss = self._open(path["spreadsheetId"]).clone()
        cleared = [self._clear(ss, text) for text in body.get("ranges") or []]
        self._commit(ss)
        result: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id}
        if cleared:
            result["clearedRanges"] = cleared
        return result
