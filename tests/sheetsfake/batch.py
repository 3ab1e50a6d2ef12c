"""``spreadsheets.batchUpdate``: one handler per request kind, applied atomically.

``apply_batch`` runs every request against a *copy* of the spreadsheet and returns it with
one reply per request; the caller swaps the copy in only when all requests succeeded, so a
single invalid request leaves the spreadsheet untouched (Google's all-or-nothing rule).
Errors read like Google's: ``Invalid requests[1].updateCells: No grid with id: 7``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import cellvalues, discovery, fieldmask
from .a1 import col_letters
from .errors import ApiError, invalid_argument
from .state import COLUMNS, ROWS, Sheet, SheetsState, Spreadsheet, grid_limits_error

Reply = dict[str, Any]
_NO_OP_KINDS = {"autoResizeDimensions", "updateBorders"}


def _strip_zero_channels(color: Any) -> None:
    if isinstance(color, dict):
        for channel in ("red", "green", "blue"):
            if color.get(channel) == 0:
                del color[channel]


def _sync_colors(holder: dict[str, Any], color: str, style: str) -> None:
    """Google stores a colour twice (``backgroundColor`` and ``backgroundColorStyle.rgbColor``)."""
    if holder.get(color) is not None and holder.get(style) is None:
        holder[style] = {"rgbColor": copy.deepcopy(holder[color])}
    elif (holder.get(style) or {}).get("rgbColor") is not None and holder.get(color) is None:
        holder[color] = copy.deepcopy(holder[style]["rgbColor"])
    _strip_zero_channels(holder.get(color))
    _strip_zero_channels((holder.get(style) or {}).get("rgbColor"))


def _sync_mask(tree: fieldmask.Mask, color: str, style: str) -> None:
    if color in tree and style not in tree:
        tree[style] = None
    elif style in tree and color not in tree:
        tree[color] = None


class RequestError(Exception):
    """An invalid request; the batch loop prefixes ``Invalid requests[i].kind: ``."""


class Batch:
    """Context for one batch: the spreadsheet copy being changed and the id source."""

    def __init__(self, spreadsheet: Spreadsheet, state: SheetsState) -> None:
        self.ss = spreadsheet
        self.state = state

    # -- helpers ---------------------------------------------------------------------------
    def sheet(self, sheet_id: Any) -> Sheet:
        sheet = self.ss.sheet_by_id(int(sheet_id or 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {int(sheet_id or 0)}")
        return sheet

    def grid_box(self, rng: dict[str, Any] | None) -> tuple[Sheet, tuple[int, int, int, int]]:
        """GridRange -> (tab, box), checked against the grid like Google."""
        rng = rng or {}
        sheet = self.sheet(rng.get("sheetId"))
        r0 = int(rng.get("startRowIndex") or 0)
        c0 = int(rng.get("startColumnIndex") or 0)
        r1 = int(rng["endRowIndex"]) if rng.get("endRowIndex") is not None else sheet.row_count
        c1 = (
            int(rng["endColumnIndex"])
            if rng.get("endColumnIndex") is not None
            else sheet.column_count
        )
        if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
            raise RequestError("Invalid range: start index must be less than the end index.")
        self.check_grid(sheet, (r0, c0, max(r1, r0 + 1), max(c1, c0 + 1)))
        return sheet, (r0, c0, r1, c1)

    @staticmethod
    def check_grid(sheet: Sheet, box: tuple[int, int, int, int]) -> None:
        _, _, r1, c1 = box
        if r1 > sheet.row_count or c1 > sheet.column_count:
            error = grid_limits_error(sheet.title, box, sheet.row_count, sheet.column_count)
            raise RequestError(error.message)

    def dimension(self, rng: dict[str, Any]) -> tuple[Sheet, str, int, int]:
        sheet = self.sheet(rng.get("sheetId"))
        dim = rng.get("dimension")
        if dim not in (ROWS, COLUMNS):
            raise RequestError("range.dimension must be ROWS or COLUMNS.")
        start = int(rng.get("startIndex") or 0)
        end = int(rng["endIndex"]) if rng.get("endIndex") is not None else sheet.count(dim)
        if start < 0 or end <= start:
            raise RequestError("range.startIndex must be less than range.endIndex.")
        return sheet, dim, start, end

    @staticmethod
    def mask(text: str | None, schema: str) -> fieldmask.Mask:
        if not text:
            raise RequestError("At least one field must be specified in 'fields'.")
        try:
            tree = fieldmask.parse(text)
        except fieldmask.FieldMaskError:
            raise RequestError(f"Invalid field mask: {text}") from None
        bad = discovery.unknown_mask_paths(schema, tree)
        if bad:
            raise RequestError(f"Invalid field: {bad[0]}")
        return tree

    @staticmethod
    def normalize_cell(cell: dict[str, Any] | None, tree: fieldmask.Mask) -> tuple[dict, dict]:
        """Keep ``*Color`` and ``*ColorStyle`` in step, as Google does; widen the mask to match."""
        cell = copy.deepcopy(cell or {})
        tree = copy.deepcopy(tree)
        value = cell.get("userEnteredValue")
        if value:
            if len(value) > 1:
                raise RequestError("Only one of userEnteredValue's fields may be set.")
            if "numberValue" in value:
                value["numberValue"] = cellvalues.normalize_number(float(value["numberValue"]))
        fmt = cell.get("userEnteredFormat")
        if isinstance(fmt, dict):
            _sync_colors(fmt, "backgroundColor", "backgroundColorStyle")
            if isinstance(fmt.get("textFormat"), dict):
                _sync_colors(fmt["textFormat"], "foregroundColor", "foregroundColorStyle")
        fmt_tree = tree.get("userEnteredFormat") if "*" not in tree else None
        if isinstance(fmt_tree, dict):
            _sync_mask(fmt_tree, "backgroundColor", "backgroundColorStyle")
            if isinstance(fmt_tree.get("textFormat"), dict):
                _sync_mask(fmt_tree["textFormat"], "foregroundColor", "foregroundColorStyle")
        return cell, tree

    def write_cell(
        self, sheet: Sheet, row: int, col: int, data: dict, tree: fieldmask.Mask
    ) -> None:
        current = sheet.cell(row, col) or {}
        sheet.put(row, col, fieldmask.apply_update(current, data, tree))

    # -- request kinds ---------------------------------------------------------------------
    def update_cells(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "CellData")
        rows = req.get("rows") or []
        width = max((len(r.get("values") or []) for r in rows), default=0)
        if req.get("start") is not None and req.get("range") is not None:
            raise RequestError("Only one of start or range may be set.")
        if req.get("range") is not None:
            sheet, (r0, c0, r1, c1) = self.grid_box(req["range"])
            if len(rows) > r1 - r0:
                raise RequestError(
                    f"Attempting to write row: {r0 + len(rows) - 1}, beyond the last "
                    f"requested row of: {r1 - 1}"
                )
            if width > c1 - c0:
                raise RequestError(
                    f"Attempting to write column: {c0 + width - 1}, beyond the last "
                    f"requested column of: {c1 - 1}"
                )
            targets = [(r, c) for r in range(r0, r1) for c in range(c0, c1)]
        else:
            start = req.get("start") or {}
            sheet = self.sheet(start.get("sheetId"))
            r0, c0 = int(start.get("rowIndex") or 0), int(start.get("columnIndex") or 0)
            if rows and width:
                self.check_grid(sheet, (r0, c0, r0 + len(rows), c0 + width))
            targets = []
        written = set()
        for i, row in enumerate(rows):
            for j, data in enumerate(row.get("values") or []):
                cell, cell_tree = self.normalize_cell(data, tree)
                self.write_cell(sheet, r0 + i, c0 + j, cell, cell_tree)
                written.add((r0 + i, c0 + j))
        for r, c in targets:
            if (r, c) not in written:
                self.write_cell(sheet, r, c, {}, tree)
        return {}

    def repeat_cell(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "CellData")
        sheet, (r0, c0, r1, c1) = self.grid_box(req.get("range"))
        cell, cell_tree = self.normalize_cell(req.get("cell"), tree)
        for r in range(r0, r1):
            for c in range(c0, c1):
                self.write_cell(sheet, r, c, cell, cell_tree)
        return {}

    def add_sheet(self, req: dict[str, Any]) -> Reply:
        props = copy.deepcopy(req.get("properties") or {})
        title = props.get("title")
        if title is None:
            n = len(self.ss.sheets) + 1
            while self.ss.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if self.ss.sheet_by_title(title) is not None:
            raise RequestError(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = self.state.new_sheet_id(self.ss)
        elif self.ss.sheet_by_id(int(sheet_id)) is not None:
            raise RequestError(f"Sheet with id {sheet_id} already exists.")
        grid = props.get("gridProperties") or {}
        sheet = Sheet(
            int(sheet_id), title, int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26))
        )
        for key, value in props.items():
            if key not in ("sheetId", "title", "index", "gridProperties") and value is not None:
                sheet.props[key] = value
        for key, value in grid.items():
            if key not in ("rowCount", "columnCount") and value is not None:
                sheet.grid[key] = value
        index = props.get("index")
        position = len(self.ss.sheets) if index is None else min(int(index), len(self.ss.sheets))
        self.ss.sheets.insert(position, sheet)
        return {"addSheet": {"properties": sheet.properties_json(position)}}

    def delete_sheet(self, req: dict[str, Any]) -> Reply:
        sheet = self.ss.sheet_by_id(int(req.get("sheetId") or 0))
        if sheet is None:
            raise RequestError(f"No sheet with id: {int(req.get('sheetId') or 0)}")
        if len(self.ss.sheets) == 1:
            raise RequestError("You can't remove all the sheets in a document.")
        self.ss.sheets.remove(sheet)
        return {}

    def update_sheet_properties(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "SheetProperties")
        props = req.get("properties") or {}
        sheet = self.ss.sheet_by_id(int(props.get("sheetId") or 0))
        if sheet is None:
            raise RequestError(f"No grid with id: {int(props.get('sheetId') or 0)}")
        old_rows, old_cols = sheet.row_count, sheet.column_count
        updated = fieldmask.apply_update(sheet.props, props, tree)
        updated["sheetId"] = sheet.sheet_id
        title = updated.get("title")
        if not title:
            raise RequestError("The sheet name cannot be empty.")
        clash = self.ss.sheet_by_title(title)
        if clash is not None and clash is not sheet:
            raise RequestError(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        grid = updated.setdefault("gridProperties", {})
        grid.setdefault("rowCount", old_rows)
        grid.setdefault("columnCount", old_cols)
        if grid["rowCount"] < 1 or grid["columnCount"] < 1:
            raise RequestError("Sheets must have at least one row and one column.")
        if int(grid.get("frozenRowCount") or 0) >= grid["rowCount"]:
            raise RequestError("You can't freeze all visible rows on the sheet.")
        if int(grid.get("frozenColumnCount") or 0) >= grid["columnCount"]:
            raise RequestError("You can't freeze all visible columns on the sheet.")
        index = updated.pop("index", None)
        sheet.props = updated
        sheet.set_count(ROWS, int(grid["rowCount"]))
        if index is not None and "index" in tree:
            self.ss.sheets.remove(sheet)
            self.ss.sheets.insert(min(int(index), len(self.ss.sheets)), sheet)
        return {}

    def update_spreadsheet_properties(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "SpreadsheetProperties")
        self.ss.properties = fieldmask.apply_update(self.ss.properties, req.get("properties"), tree)
        return {}

    def append_dimension(self, req: dict[str, Any]) -> Reply:
        sheet = self.sheet(req.get("sheetId"))
        dim, length = req.get("dimension"), int(req.get("length") or 0)
        if dim not in (ROWS, COLUMNS) or length <= 0:
            raise RequestError("length must be positive and dimension ROWS or COLUMNS.")
        sheet.grid["rowCount" if dim == ROWS else "columnCount"] = sheet.count(dim) + length
        return {}

    def insert_dimension(self, req: dict[str, Any]) -> Reply:
        rng = req.get("range") or {}
        sheet = self.sheet(rng.get("sheetId"))
        dim = rng.get("dimension")
        if dim not in (ROWS, COLUMNS):
            raise RequestError("range.dimension must be ROWS or COLUMNS.")
        start, end = int(rng.get("startIndex") or 0), int(rng.get("endIndex") or 0)
        if end <= start:
            raise RequestError("range.startIndex must be less than range.endIndex.")
        if start > sheet.count(dim):
            raise RequestError(
                f"range.startIndex ({start}) must be less than or equal to the number of "
                f"{dim.lower()} in the grid ({sheet.count(dim)})."
            )
        before = bool(req.get("inheritFromBefore"))
        if before and start == 0:
            raise RequestError("Cannot inherit properties from before the first row or column.")
        sheet.insert(dim, start, end - start, before)
        return {}

    def delete_dimension(self, req: dict[str, Any]) -> Reply:
        sheet, dim, start, end = self.dimension(req.get("range") or {})
        noun = "row" if dim == ROWS else "column"
        if end > sheet.count(dim):
            raise RequestError(
                f"Cannot delete a {noun} that doesn't exist. Tried to delete {noun} index "
                f"{end - 1} but there are only {sheet.count(dim)} {noun}s."
            )
        remaining = sheet.count(dim) - (end - start)
        if remaining <= 0:
            raise RequestError(f"You can't delete all the {noun}s on the sheet.")
        frozen = int(sheet.grid.get("frozenRowCount" if dim == ROWS else "frozenColumnCount") or 0)
        if frozen and remaining <= frozen:
            raise RequestError(f"Sorry, it is not possible to delete all non-frozen {noun}s.")
        sheet.delete(dim, start, end)
        if frozen and start < frozen:
            key = "frozenRowCount" if dim == ROWS else "frozenColumnCount"
            sheet.grid[key] = frozen - (min(end, frozen) - start)
        return {}

    def update_dimension_properties(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "DimensionProperties")
        if req.get("range") is None:
            raise RequestError("range must be set.")
        sheet, dim, start, end = self.dimension(req["range"])
        if end > sheet.count(dim):
            raise RequestError(f"Invalid range: {dim.lower()} index {end - 1} is out of the grid.")
        meta = sheet.row_meta if dim == ROWS else sheet.col_meta
        for i in range(start, end):
            meta[i] = fieldmask.apply_update(meta.get(i, {}), req.get("properties"), tree)
        return {}

    def set_data_validation(self, req: dict[str, Any]) -> Reply:
        sheet, (r0, c0, r1, c1) = self.grid_box(req.get("range"))
        rule = req.get("rule")
        if rule is not None and not (rule.get("condition") or {}).get("type"):
            raise RequestError("Invalid data validation rule: condition.type must be set.")
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = dict(sheet.cell(r, c) or {})
                if rule is None:
                    cell.pop("dataValidation", None)
                else:
                    cell["dataValidation"] = copy.deepcopy(rule)
                sheet.put(r, c, cell)
        return {}

    def add_protected_range(self, req: dict[str, Any]) -> Reply:
        given = {k: v for k, v in (req.get("protectedRange") or {}).items() if v is not None}
        sheet, _ = self.grid_box(given.get("range"))
        if given.get("warningOnly") and given.get("editors"):
            raise RequestError("Editors cannot be set on a warning-only protected range.")
        protected_id = given.get("protectedRangeId") or self.state.new_protected_range_id()
        rng = {k: v for k, v in given["range"].items() if v is not None}
        rng["sheetId"] = sheet.sheet_id
        stored: dict[str, Any] = {"protectedRangeId": protected_id, "range": rng}
        for key in ("description", "warningOnly"):
            if given.get(key):
                stored[key] = given[key]
        stored["requestingUserCanEdit"] = True
        stored["editors"] = copy.deepcopy(given.get("editors") or {})
        sheet.protected_ranges.append(stored)
        reply = copy.deepcopy(stored)
        if reply["range"].get("sheetId") == 0:
            del reply["range"]["sheetId"]
        return {"addProtectedRange": {"protectedRange": reply}}

    def delete_protected_range(self, req: dict[str, Any]) -> Reply:
        wanted = int(req.get("protectedRangeId") or 0)
        for sheet in self.ss.sheets:
            for protected in sheet.protected_ranges:
                if protected["protectedRangeId"] == wanted:
                    sheet.protected_ranges.remove(protected)
                    return {}
        raise RequestError(f"No protected range with id: {wanted}")

    def sort_range(self, req: dict[str, Any]) -> Reply:
        sheet, box = self.grid_box(req.get("range"))
        specs = []
        for spec in req.get("sortSpecs") or []:
            col = int(spec.get("dimensionIndex") or 0)
            if not box[1] <= col < box[3]:
                raise RequestError(f"sortSpecs dimensionIndex {col} is outside the sort range.")
            specs.append((col, spec.get("sortOrder") == "DESCENDING"))
        if not specs:
            raise RequestError("At least one sort spec must be given.")
        sheet.sort(box, specs)
        return {}

    def merge_cells(self, req: dict[str, Any]) -> Reply:
        sheet, (r0, c0, r1, c1) = self.grid_box(req.get("range"))
        merge_type = req.get("mergeType") or "MERGE_ALL"
        if merge_type == "MERGE_ROWS":
            groups = [(r, r + 1, c0, c1) for r in range(r0, r1)]
        elif merge_type == "MERGE_COLUMNS":
            groups = [(r0, r1, c, c + 1) for c in range(c0, c1)]
        else:
            groups = [(r0, r1, c0, c1)]
        for g0, g1, h0, h1 in groups:
            for r in range(g0, g1):
                for c in range(h0, h1):
                    if (r, c) != (g0, h0):
                        sheet.set_value(r, c, None, None)
            sheet.merges.append(
                {
                    "sheetId": sheet.sheet_id,
                    "startRowIndex": g0,
                    "endRowIndex": g1,
                    "startColumnIndex": h0,
                    "endColumnIndex": h1,
                }
            )
        return {}

    def unmerge_cells(self, req: dict[str, Any]) -> Reply:
        sheet, (r0, c0, r1, c1) = self.grid_box(req.get("range"))
        sheet.merges = [
            m
            for m in sheet.merges
            if m["endRowIndex"] <= r0
            or m["startRowIndex"] >= r1
            or m["endColumnIndex"] <= c0
            or m["startColumnIndex"] >= c1
        ]
        return {}

    def append_cells(self, req: dict[str, Any]) -> Reply:
        tree = self.mask(req.get("fields"), "CellData")
        sheet = self.sheet(req.get("sheetId"))
        rows = req.get("rows") or []
        width = max((len(r.get("values") or []) for r in rows), default=0)
        if width > sheet.column_count:
            raise RequestError(
                f"Attempting to write column: {width - 1}, beyond the last requested column "
                f"of: {sheet.column_count - 1}"
            )
        start = sheet.data_rows()
        if start + len(rows) > sheet.row_count:
            sheet.grid["rowCount"] = start + len(rows)
        for i, row in enumerate(rows):
            for j, data in enumerate(row.get("values") or []):
                cell, cell_tree = self.normalize_cell(data, tree)
                self.write_cell(sheet, start + i, j, cell, cell_tree)
        return {}


_HANDLERS: dict[str, Callable[[Batch, dict[str, Any]], Reply]] = {
    "updateCells": Batch.update_cells,
    "repeatCell": Batch.repeat_cell,
    "addSheet": Batch.add_sheet,
    "deleteSheet": Batch.delete_sheet,
    "updateSheetProperties": Batch.update_sheet_properties,
    "updateSpreadsheetProperties": Batch.update_spreadsheet_properties,
    "appendDimension": Batch.append_dimension,
    "insertDimension": Batch.insert_dimension,
    "deleteDimension": Batch.delete_dimension,
    "updateDimensionProperties": Batch.update_dimension_properties,
    "setDataValidation": Batch.set_data_validation,
    "addProtectedRange": Batch.add_protected_range,
    "deleteProtectedRange": Batch.delete_protected_range,
    "sortRange": Batch.sort_range,
    "mergeCells": Batch.merge_cells,
    "unmergeCells": Batch.unmerge_cells,
    "appendCells": Batch.append_cells,
}

SUPPORTED_KINDS = frozenset(_HANDLERS) | _NO_OP_KINDS


def apply_batch(
    spreadsheet: Spreadsheet, state: SheetsState, requests: list[dict[str, Any]]
) -> tuple[Spreadsheet, list[Reply]]:
    """Apply all requests to a copy; raise ApiError (nothing applied) if any is invalid."""
    if not requests:
        raise invalid_argument("Must specify at least one request.")
    batch = Batch(spreadsheet.clone(), state)
    replies: list[Reply] = []
    for i, request in enumerate(requests):
        kinds = [k for k, v in (request or {}).items() if v is not None]
        if len(kinds) != 1:
            raise invalid_argument(
                f"Invalid requests[{i}]: exactly one kind of request must be set, got {len(kinds)}."
            )
        kind = kinds[0]
        if kind in _NO_OP_KINDS:
            replies.append({})
            continue
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise ApiError(
                501,
                f"requests[{i}].{kind} is not implemented by the sheetsfake test double.",
            )
        try:
            replies.append(handler(batch, request[kind]))
        except RequestError as error:
            raise invalid_argument(f"Invalid requests[{i}].{kind}: {error}") from None
        except ApiError as error:
            raise invalid_argument(f"Invalid requests[{i}].{kind}: {error.message}") from None
    return batch.ss, replies


def column_name(index: int) -> str:
    """Exposed for messages and tests: 0 -> 'A'."""
    return col_letters(index)
