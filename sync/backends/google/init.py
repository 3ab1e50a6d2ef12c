"""The one batchUpdate ``init`` sends, carrying out the shared setup plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from rules.schema import Tab
from rules.tabs import column_letter
from rules.values import key
from sync.backends.base import (
    Layout,
)
from sync.backends.google.cells import (
    BACKGROUND,
    NUMBER_FORMAT,
    VALUE,
    blocks,
    effective,
    typed,
    with_color,
)
from sync.backends.google.metadata import Metadata, TabInfo, quote_title
from sync.backends.google.write_requests import add_sheet_request, width_requests
from sync.backends.looks import HEADER_COLOR, pixels
from sync.backends.setup import TabFound, TabSetup, plan_setup

PROTECTED_NOTE = "creditsheet writes this column; edits here are replaced by the next sync"


class InitRequests:
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
            header = [effective(c) for c in (grid[:1] or [[]])[0]]
            below = grid[1] if len(grid) > 1 else []
            found[key(tab.name)] = TabFound(
                info.title,
                header,
                info.frozen_rows > 0,
                frozenset(at for at, c in enumerate(below) if c.get("dataValidation")),
                any(effective(c) not in (None, "") for row in grid[1:] for c in row),
            )
        return found

    def _tab(self, setup: TabSetup) -> None:
        info = self.meta.find(setup.name)
        if info is None:
            taken = {t.sheet_id for t in self.meta.tabs} | {t.sheet_id for t in self.tabs.values()}
            width = len(setup.columns)
            info = TabInfo(self.new_id(taken), setup.name, 1000, max(26, width), frozen_rows=1)
            self.requests.append(add_sheet_request(info))
        self.tabs[setup.name] = info
        added: dict[int, dict[str, Any]] = {}
        widths: dict[int, int] = {}
        for column in setup.columns:
            cell = with_color(typed(column.name, "text")[0], HEADER_COLOR)
            cell["userEnteredFormat"]["textFormat"] = {"bold": True}
            added[column.col] = cell
            widths[column.col] = pixels(column.width)
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
        fields = f"{VALUE},userEnteredFormat.textFormat.bold,{BACKGROUND}"
        cells = {(0, col): cell for col, cell in added.items()}
        self.requests += [b.request() for b in blocks(info.sheet_id, fields, cells)]
        self.requests += width_requests(info.sheet_id, widths)
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
        fields = f"{VALUE},{NUMBER_FORMAT}"
        info = self.tabs[setup.name]
        cells = {(c.row - 1, c.col): typed(c.value, c.kind)[0] for c in setup.demo}
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
