"""The write plan with the calendar import in it: new rows as appends, moved cells.

The rules decided the new bookings as rows after the last row read; the cells the
diff planned for those rows (Status, Sync note, a picked Package ID) become cells
of the appended rows, so each row is added whole, in the same atomic write as the
cycle's other cells, after whatever the tab's last row is by then.
"""

from __future__ import annotations

from collections import defaultdict

from sync.backends.base import (
    AppendedCell,
    CellChange,
    HeaderChange,
    RowAppend,
    Snapshot,
    WritePlan,
)
from sync.calendar.plan import EVENT, CalendarPlan


def with_bookings(plan: WritePlan, snapshot: Snapshot, made: CalendarPlan, title: str) -> WritePlan:
    """``plan`` (worked out on the tabs with the bookings in) as it is written onto the
    workbook as read (``snapshot``); ``title`` is the Sessions tab's."""
    first = len(snapshot.tables[title].rows) + 2
    kept: list[CellChange] = []
    added: dict[int, dict[int, AppendedCell]] = defaultdict(dict)
    for change in plan.cells:
        if change.tab != title or change.row < first:
            kept.append(change)
            continue
        added[change.row][change.col] = AppendedCell(
            change.col, change.new, change.kind, change.color
        )
    kept += made.updates
    appends = []
    for i, new in enumerate(made.rows):
        row = first + i
        cells = {col: AppendedCell(col, value, kind) for col, (value, kind) in new.cells.items()}
        cells.update(added.get(row, {}))
        appends.append(RowAppend(title, row, tuple(cells[c] for c in sorted(cells))))
    headers = list(plan.headers)
    if made.event_header is not None:
        headers.append(HeaderChange(title, made.event_header, EVENT))
        headers.sort(key=lambda h: (h.tab, h.col))
    return WritePlan(tuple(headers), tuple(kept), plan.tabs, plan.appends + tuple(appends))
