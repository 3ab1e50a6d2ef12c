"""How the sheet looks, decided once for both backends, and a value's cell kind.

Each backend carries these out in its own terms: the xlsx backend writes widths
in characters and the date format as a number format code; Google takes widths
in pixels (:func:`pixels`) and the same pattern in a ``numberFormat``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rules.schema import CellKind

#: The background color of the header cells ``init`` writes.
HEADER_COLOR = "#EFEFEF"
#: How a date cell the sync writes shows its date.
DATE_PATTERN = "yyyy-mm-dd"
#: The Dashboard's column widths in characters, by 0-based column: the labels, then values.
DASHBOARD_WIDTHS: dict[int, int] = {0: 44, 1: 16, 2: 16, 3: 16, 4: 16}
#: Pixels per character of a column's width (Google Sheets takes widths in pixels).
PIXELS_PER_CHARACTER = 7


def pixels(characters: float) -> int:
    """A width in characters as Google Sheets' pixels."""
    return round(characters * PIXELS_PER_CHARACTER)


def kind_of(value: object) -> CellKind:
    """The kind of cell a value is written as: a date, a number (never a bool), or text."""
    if isinstance(value, date):
        return "date"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "number"
    return "text"
