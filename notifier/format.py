"""How numbers, money and dates read in emails: one place, shared by every template.

>>> from decimal import Decimal
>>> money(Decimal("1234.5"), "GBP")
'£1,234.50'
>>> money(Decimal("90"), "CHF")
'90.00 CHF'
>>> nice_date(date(2026, 11, 23))
'Mon 23 Nov 2026'
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rules.words import plural

__all__ = ["money", "month_label", "nice_date", "one_line", "plural"]

#: Currencies written with a symbol in front; any other code is written after the amount.
SYMBOLS = {
    "GBP": "£",
    "EUR": "€",
    "USD": "$",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "JPY": "¥",
    "INR": "₹",
}
#: Currencies without minor units.
WHOLE = frozenset({"JPY", "KRW", "ISK"})


def money(amount: Decimal | int | float, currency: str) -> str:
    """An amount as a practitioner writes it: ``£1,234.50``, ``€90.00``, ``90.00 CHF``."""
    places = Decimal(1) if currency in WHOLE else Decimal("0.01")
    value = Decimal(str(amount)).quantize(places, rounding=ROUND_HALF_UP)
    digits = f"{abs(value):,.0f}" if currency in WHOLE else f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def nice_date(day: date | str | None, *, this_year: int | None = None) -> str:
    """``Mon 23 Nov 2026``: unambiguous whatever the reader's day/month order.

    With ``this_year``, a date in that year is written without it (``Mon 23 Nov``).
    """
    if day is None or day == "":
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if day.year == this_year:
        return f"{day:%a} {day.day} {day:%b}"
    return f"{day:%a} {day.day} {day:%b %Y}"


def short_date(day: date | str) -> str:
    """``Tue 8 Dec``: a date close enough to today that its year goes without saying."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day:%a} {day.day} {day:%b}"


def month_label(month: str) -> str:
    """``2026-11`` -> ``Nov 2026``."""
    year, number = month.split("-")
    return f"{date(int(year), int(number), 1):%b} {year}"


def one_line(text: str, limit: int = 180) -> str:
    """Text fit for a header: whitespace (newlines too) collapsed, long text cut."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
