"""The requests of one write, in order: tabs and columns first, then cells."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rules.model import Value
from rules.values import is_blank
from sync.backends.base import (
    CellChange,
    HeaderChange,
    RowAppend,
    TabContent,
    WithheldIds,
)
from sync.backends.google.cells import (
    BACKGROUND,
    CELL_BITS,
    NUMBER_FORMAT,
    VALUE,
    Request,
    blocks,
    cell_json,
    encoded_blocks,
    entered_value,
    typed,
    with_color,
)
from sync.backends.google.landing import Restore, cell_at
from sync.backends.google.metadata import Metadata, TabInfo
from sync.backends.google.verify import SafeRows
from sync.backends.looks import DASHBOARD_WIDTHS, kind_of, pixels


class WriteRequests:
    """The requests of one write, in order: tabs and columns first, then cells."""

    def __init__(self, meta: Metadata, new_id: Callable[[set[int]], int]) -> None:
        self.meta = meta
        self.new_id = new_id
        self.requests: list[Request] = []
        self.written = 0
        self.skipped_rows: set[tuple[str, int]] = set()
        self.added: list[TabInfo] = []
        self.widths: dict[int, int] = {}  # sheet id -> columns after this write
        self.heights: dict[int, int] = {}  # sheet id -> rows after this write, where grown
        self.touched: set[int] = set()
        #: The blank input cells this write fills, and every cell it writes by tab.
        self.filled: list[CellChange] = []
        self.cells_written: dict[str, list[CellChange]] = {}
        self.headers_written: dict[str, dict[int, str]] = {}
        #: New packages' IDs this write leaves out (see :meth:`cells`).
        self.withheld = WithheldIds()

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
                self.requests.append(add_sheet_request(info))
                self.requests += width_requests(
                    info.sheet_id, {c: pixels(w) for c, w in DASHBOARD_WIDTHS.items()}
                )
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
                    self.heights[info.sheet_id] = height
            columns = self.widths.get(info.sheet_id, info.columns)
            rows = self.heights.get(info.sheet_id, info.rows)
            self.requests.append(owned_tab_request(info, rows, columns, content.rows))
            self.written += sum(len(r) for r in content.rows)

    def headers(self, headers: Sequence[HeaderChange], verified: SafeRows) -> None:
        cells: dict[int, dict[tuple[int, int], dict[str, Any]]] = {}
        for header in headers:
            info = self.meta.find(header.tab)
            if info is None or not verified.header_ok.get(header.tab):
                self.skipped_rows.add((header.tab, 1))
                continue
            self._columns(info, header.col + 1)
            cells.setdefault(info.sheet_id, {})[(0, header.col)] = typed(header.name, "text")[0]
            self.written += 1
            self.headers_written.setdefault(header.tab, {})[header.col] = header.name
        for sheet_id, found in cells.items():
            self.requests += [b.request() for b in blocks(sheet_id, VALUE, found)]

    def cells(self, changes: Sequence[CellChange], verified: SafeRows) -> None:
        grouped: dict[tuple[int, str], dict[int, str]] = {}  # cells by (sheet id, fields)
        # A new package's ID is given in the same write as the sessions that name it: when
        # the package row is left alone, so are they (see WithheldIds).
        for change in changes:
            if change.input_fill and not self._writable(change, verified):
                self.withheld.withhold(change)
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
                or (change.input_fill and not self._fillable(change, verified))
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

    def appends(self, rows: Sequence[RowAppend], verified: SafeRows) -> None:
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
                    if self.withheld.holds_back_appended(c.value, c.kind):
                        continue  # a new package's ID left out with its package row
                    cells[c.col] = with_color(typed(c.value, c.kind)[0], c.color)
                    self.written += 1
                data.append({"values": cells})
            self.requests.append(
                {
                    "appendCells": {
                        "sheetId": info.sheet_id,
                        "rows": data,
                        "fields": f"{VALUE},{NUMBER_FORMAT},{BACKGROUND}",
                    }
                }
            )

    def _fillable(self, change: CellChange, verified: SafeRows) -> bool:
        """A blank input cell to fill is writable, and not a session's new package ID
        whose package row is left alone."""
        if not self._writable(change, verified):
            return False
        return not self.withheld.holds_back(change)

    def _writable(self, change: CellChange, verified: SafeRows) -> bool:
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


def width_requests(sheet_id: int, pixels: Mapping[int, int]) -> list[dict[str, Any]]:
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


def owned_tab_request(
    info: TabInfo, height: int, columns: int, rows: Sequence[Sequence[Value]]
) -> dict[str, Any]:
    """Clear the whole tab and write ``rows``; title rows (the first, and any after a blank
    row) in bold, as the xlsx backend does."""
    out = []
    title_row = True
    for row in rows:
        values = []
        for value in row:
            data, _ = typed(value, kind_of(value))
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
                "endRowIndex": height,
                "startColumnIndex": 0,
                "endColumnIndex": columns,
            },
            "rows": out,
            "fields": "userEnteredValue,userEnteredFormat",
        }
    }


# --- init ----------------------------------------------------------------------------


def add_sheet_request(info: TabInfo) -> dict[str, Any]:
    """The ``addSheet`` request for a new tab (its frozen rows too, when it has any)."""
    grid: dict[str, int] = {"rowCount": info.rows, "columnCount": info.columns}
    if info.frozen_rows:
        grid["frozenRowCount"] = info.frozen_rows
    return {
        "addSheet": {
            "properties": {"sheetId": info.sheet_id, "title": info.title, "gridProperties": grid}
        }
    }


def put_back_requests(restore: Sequence[Restore], meta: Metadata) -> list[Request]:
    """The requests that put back the input cells a write filled on rows that had moved
    under it (see :mod:`sync.backends.google.landing`)."""
    requests_: list[Request] = []
    for cell in restore:
        info = meta.find(cell.tab)
        if info is None:
            continue
        data = {} if cell.value is None else {VALUE: entered_value(cell.value)}
        fields = f"{VALUE},{BACKGROUND}" if cell.clear_color else VALUE
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
    return requests_
