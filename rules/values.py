"""Reading the values a practitioner types: names, dates, whole numbers, money.

Every parser takes the raw cell value exactly as a backend read it (``str``,
``int``, ``float``, ``bool``, ``datetime``/``date`` or ``None``) and either
returns a clean Python value or raises :class:`BadValue` with a sentence a
practitioner can act on. The caller turns that into a row problem.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

DateOrder = Literal["DMY", "MDY"]

#: Google Sheets (and Excel) day zero: serial 1 is 1899-12-31, 25569 is 1970-01-01.
SERIAL_EPOCH = date(1899, 12, 30)
#: Whole numbers beyond this are refused as typos rather than carried into sums.
MAX_WHOLE = 100_000
MAX_MONEY = Decimal("1000000000")
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


class BadValue(ValueError):
    """A cell value that cannot be read; the message is for the practitioner."""


def is_blank(raw: object) -> bool:
    """True for an empty cell: ``None`` or text that is only white space."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def text(raw: object) -> str:
    """The cell as display text, trimmed; numbers typed as names lose a ``.0``."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw).strip()


@functools.lru_cache(maxsize=1 << 16)
def key(name: str) -> str:
    """The comparison key for names, IDs and outcomes: case-insensitive, trimmed.

    Unicode is normalised (NFC) first so that the same name typed on two
    keyboards compares equal. Cached: a sheet repeats the same names a lot.
    """
    return unicodedata.normalize("NFC", name).strip().casefold()


def quote(raw: object, limit: int = 40) -> str:
    """A short quoted rendering of a typed value for notes."""
    shown = text(raw).replace("\n", " ")
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"'{shown}'"


# --- dates -----------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})$")


def _checked(d: date, raw: object) -> date:
    if not EARLIEST <= d <= LATEST:
        raise BadValue(f"{quote(raw)} is not a plausible date")
    return d


def serial_to_date(serial: float) -> date:
    """A spreadsheet serial day number as a date (fractions are the time of day)."""
    return SERIAL_EPOCH + timedelta(days=int(serial // 1))


def date_to_serial(d: date) -> int:
    return (d - SERIAL_EPOCH).days


def parse_date(raw: object, *, numbers_are_dates: bool, date_order: DateOrder | None) -> date:
    """Read a date cell.

    Accepted: a real date cell; ISO text ``2026-11-20`` (a time after it is
    ignored); day/month/year or month/day/year text with ``/``, ``.`` or ``-``
    when ``date_order`` is configured; a serial number where the backend
    delivers dates as numbers (Google).
    """
    if isinstance(raw, datetime):
        return _checked(raw.date(), raw)
    if isinstance(raw, date):
        return _checked(raw, raw)
    if isinstance(raw, bool):
        raise BadValue(f"{quote(raw)} is not a date")
    if isinstance(raw, int | float):
        if not numbers_are_dates:
            raise BadValue(
                f"{quote(raw)} is a number, not a date: type the date as 2026-11-20 "
                "or format the cell as a date"
            )
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise BadValue(f"{quote(raw)} is not a date")
        try:
            return _checked(serial_to_date(float(raw)), raw)
        except OverflowError:
            raise BadValue(f"{quote(raw)} is not a plausible date") from None
    typed = text(raw)
    match = _ISO.match(typed)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return _make_date(year, month, day, raw)
    match = _NUMERIC.match(typed)
    if match:
        first, _, second, year_text = match.groups()
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        if date_order is None:
            raise BadValue(_ambiguous_date_hint(typed, int(first), int(second), year))
        if date_order == "DMY":
            return _make_date(year, int(second), int(first), raw)
        return _make_date(year, int(first), int(second), raw)
    raise BadValue(f"{quote(raw)} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20")


def _make_date(year: int, month: int, day: int, raw: object) -> date:
    try:
        made = date(year, month, day)
    except ValueError:
        raise BadValue(f"{quote(raw)} is not a real date") from None
    return _checked(made, raw)


def _ambiguous_date_hint(typed: str, first: int, second: int, year: int) -> str:
    readings = []
    for month, day in ((second, first), (first, second)):
        try:
            readings.append(date(year, month, day).isoformat())
        except ValueError:
            continue
    unique = sorted(set(readings))
    if len(unique) == 1:
        how = f"write it as {unique[0]}"
    elif unique:
        how = f"write it as {unique[0]} or {unique[1]} (year-month-day)"
    else:
        how = "write it as YYYY-MM-DD"
    return f"'{typed}' could be read more than one way: {how}, or set date_order in the config"


# --- numbers ---------------------------------------------------------------


def _decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(raw))
    if isinstance(raw, str):
        try:
            value = Decimal(raw.strip().replace("\u00a0", "").replace(" ", ""))
        except InvalidOperation:
            return None
        return value if value.is_finite() else None
    return None


def parse_whole(raw: object, *, minimum: int | None = 1, maximum: int = MAX_WHOLE) -> int:
    """A whole number: ``10``, ``10.0`` or ``"10"``; at least ``minimum`` when given."""
    value = _decimal(raw)
    if value is None or value != value.to_integral_value():
        want = "a whole number" + (f" of {minimum} or more" if minimum is not None else "")
        raise BadValue(f"{quote(raw)} is not {want}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise BadValue(f"must be {minimum} or more (got {number})")
    if abs(number) > maximum:
        raise BadValue(f"{number} is more than {maximum}: is that a typo?")
    return number


_CURRENCY = re.compile(r"[$€£¥₹₩₽₺₪₫฿₱]|\b[A-Za-z]{3}\b|kr|zł|Fr\.?|R\$")


def parse_money(raw: object) -> Decimal:
    """An amount paid: a number, or text such as ``$1,200.50``, ``120 €``, ``£90``."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = _decimal(raw)
    elif isinstance(raw, str):
        value = _decimal(_money_text(raw))
    else:
        value = None
    if value is None:
        raise BadValue(f"{quote(raw)} is not an amount of money")
    if value < 0:
        raise BadValue(f"must be 0 or more (got {quote(raw)})")
    if value > MAX_MONEY:
        raise BadValue(f"{quote(raw)} is more than {MAX_MONEY:,}: is that a typo?")
    return value


def _money_text(typed: str) -> str:
    bare = _CURRENCY.sub("", typed).replace("\u00a0", "").replace("'", "").replace(" ", "")
    if not re.fullmatch(r"-?[\d.,]+", bare):
        return typed  # leave it to fail as typed
    if "," in bare and "." in bare:
        # The separator that comes last is the decimal point: 1,200.50 / 1.200,50
        if bare.rfind(",") > bare.rfind("."):
            bare = bare.replace(".", "").replace(",", ".")
        else:
            bare = bare.replace(",", "")
    elif "," in bare:
        whole, _, tail = bare.rpartition(",")
        # 1,200 and 12,000,000 are thousands; 12,5 and 12,50 are decimals.
        thousands = len(tail) == 3 and bool(whole)
        bare = bare.replace(",", "") if thousands else whole.replace(",", "") + "." + tail
    elif bare.count(".") > 1:
        bare = bare.replace(".", "")
    return bare
