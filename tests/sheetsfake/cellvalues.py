"""Cell values: input parsing (RAW / USER_ENTERED), a tiny formula evaluator, and rendering.

A stored cell is a dict in the API's own JSON form (``CellData``): ``userEnteredValue`` holds
one of ``numberValue`` / ``stringValue`` / ``boolValue`` / ``formulaValue``; the effective value
is computed on read. Dates are serial numbers (days since 1899-12-30) with a DATE number format.
There is no real formula engine: literal arithmetic, string literals, TRUE/FALSE and
``HYPERLINK`` are evaluated; any other formula evaluates to the error ``#ERROR!``.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from decimal import Decimal
from typing import Any

EPOCH = dt.datetime(1899, 12, 30)

ERROR_STRINGS = {
    "ERROR": "#ERROR!",
    "NULL_VALUE": "#NULL!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "LOADING": "Loading...",
}

DATE_TYPES = ("DATE", "TIME", "DATE_TIME")

_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_ISO_DATE = re.compile(
    r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_LOCAL_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_CURRENCY = re.compile(r"^(-?)([£$€])\s?(.+)$")


def normalize_number(value: float | int | Decimal) -> float | int:
    """Whole numbers become ints so they print as ``2`` (as Google's JSON does), not ``2.0``."""
    f = float(value)
    if math.isfinite(f) and f.is_integer() and abs(f) < 2**53:
        return int(f)
    return f


def to_serial(value: dt.date | dt.datetime) -> float | int:
    """Python date/datetime -> Sheets serial number."""
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        delta = naive - EPOCH
        return normalize_number(delta.days + delta.seconds / 86400 + delta.microseconds / 864e8)
    return (value - EPOCH.date()).days


def from_serial(serial: float) -> dt.datetime:
    """Sheets serial number -> naive datetime (rounded to the second)."""
    return EPOCH + dt.timedelta(seconds=round(serial * 86400))


def python_value(value: Any, input_option: str, locale: str) -> tuple[dict | None, dict | None]:
    """A Python/JSON value -> (userEnteredValue or None for an empty cell, numberFormat or None)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return {"boolValue": value}, None
    if isinstance(value, int | float | Decimal):
        return {"numberValue": normalize_number(value)}, None
    if isinstance(value, dt.datetime):
        return {"numberValue": to_serial(value)}, {
            "type": "DATE_TIME",
            "pattern": "yyyy-mm-dd hh:mm:ss",
        }
    if isinstance(value, dt.date):
        return {"numberValue": to_serial(value)}, {"type": "DATE", "pattern": "yyyy-mm-dd"}
    if not isinstance(value, str):
        raise TypeError(f"unsupported cell value {value!r}")
    if value == "":
        return None, None
    if input_option == "USER_ENTERED":
        return parse_user_entered(value, locale)
    return {"stringValue": value}, None


def parse_user_entered(text: str, locale: str) -> tuple[dict | None, dict | None]:
    """What the Sheets UI makes of typed text: formulas, numbers, percents, dates, booleans."""
    if text.startswith("'"):
        return ({"stringValue": text[1:]} if len(text) > 1 else None), None
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}, None
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return {"boolValue": stripped.upper() == "TRUE"}, None
    if _NUMBER.match(stripped) and any(ch.isdigit() for ch in stripped):
        return {"numberValue": normalize_number(float(stripped.replace(",", "")))}, None
    if stripped.endswith("%"):
        body = stripped[:-1].strip()
        if _NUMBER.match(body) and any(ch.isdigit() for ch in body):
            decimals = len(body.split(".")[1]) if "." in body else 0
            pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
            number = float(body.replace(",", "")) / 100
            return {"numberValue": normalize_number(round(number, 12))}, {
                "type": "PERCENT",
                "pattern": pattern,
            }
    currency = _CURRENCY.match(stripped)
    if (
        currency
        and _NUMBER.match(currency.group(3))
        and any(c.isdigit() for c in currency.group(3))
    ):
        number = float(currency.group(3).replace(",", ""))
        if currency.group(1):
            number = -number
        return {"numberValue": normalize_number(number)}, {
            "type": "CURRENCY",
            "pattern": f'"{currency.group(2)}"#,##0.00',
        }
    parsed = _parse_date(stripped, locale)
    if parsed is not None:
        return parsed
    return {"stringValue": text}, None


def _parse_date(text: str, locale: str) -> tuple[dict, dict] | None:
    m = _ISO_DATE.match(text)
    try:
        if m:
            year, sep, month, day = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
            date_pattern = f"yyyy{sep}mm{sep}dd"
            if m.group(5) is not None:
                when = dt.datetime(
                    year, month, day, int(m.group(5)), int(m.group(6)), int(m.group(7) or 0)
                )
                return {"numberValue": to_serial(when)}, {
                    "type": "DATE_TIME",
                    "pattern": f"{date_pattern} hh:mm:ss",
                }
            serial = to_serial(dt.date(year, month, day))
            return {"numberValue": serial}, {"type": "DATE", "pattern": date_pattern}
        m = _LOCAL_DATE.match(text)
        if m:
            first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if locale == "en_US":
                return {"numberValue": to_serial(dt.date(year, first, second))}, {
                    "type": "DATE",
                    "pattern": "M/d/yyyy",
                }
            return {"numberValue": to_serial(dt.date(year, second, first))}, {
                "type": "DATE",
                "pattern": "dd/MM/yyyy",
            }
    except ValueError:
        return None
    return None


# --- formulas -----------------------------------------------------------------------------

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_HYPERLINK = re.compile(
    r'^HYPERLINK\(\s*"((?:[^"]|"")*)"\s*(?:[,;]\s*"((?:[^"]|"")*)"\s*)?\)$', re.I
)
_STRING_LITERAL = re.compile(r'^"((?:[^"]|"")*)"$')


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError("not literal arithmetic")


def evaluate_formula(formula: str) -> dict:
    """Effective value of a formula, as an ExtendedValue dict."""
    body = formula[1:].strip()
    link = _HYPERLINK.match(body)
    if link:
        label = link.group(2) if link.group(2) is not None else link.group(1)
        return {"stringValue": label.replace('""', '"')}
    literal = _STRING_LITERAL.match(body)
    if literal:
        return {"stringValue": literal.group(1).replace('""', '"')}
    if body.upper() in ("TRUE", "FALSE", "TRUE()", "FALSE()"):
        return {"boolValue": body.upper().startswith("TRUE")}
    if re.fullmatch(r"[0-9.+\-*/^() eE]+", body):
        try:
            tree = ast.parse(body.replace("^", "**"), mode="eval")
            return {"numberValue": normalize_number(_arith(tree))}
        except ZeroDivisionError:
            return {
                "errorValue": {
                    "type": "DIVIDE_BY_ZERO",
                    "message": "Function DIVIDE parameter 2 cannot be zero.",
                }
            }
        except (ValueError, SyntaxError, OverflowError):
            pass
    return {
        "errorValue": {
            "type": "ERROR",
            "message": "Formula parse error (the sheetsfake does not evaluate this formula).",
        }
    }


def effective_value(cell: dict | None) -> dict | None:
    """The computed value of a stored cell (None when the cell has no value)."""
    if not cell:
        return None
    entered = cell.get("userEnteredValue")
    if not entered:
        return None
    if "formulaValue" in entered:
        return evaluate_formula(entered["formulaValue"])
    return dict(entered)


# --- rendering ----------------------------------------------------------------------------


def format_general(number: float | int) -> str:
    """Sheets' automatic number format: 2 -> '2', 0.12 -> '0.12', 1/3 -> '0.3333333333'."""
    number = normalize_number(number)
    if isinstance(number, int):
        return str(number)
    text = f"{number:.10g}"
    return text.replace("e+", "E+").replace("e-", "E-")


def _format_number_pattern(number: float, pattern: str) -> str:
    section = pattern.split(";")[0]
    section = re.sub(r"\[\$([^-\]]*)(?:-[0-9A-Fa-f]+)?\]", r'"\1"', section)
    core = re.search(r"[#0,]*[#0](?:\.[#0]+)?", section)
    if not core:
        return format_general(number)
    percent = "%" in section
    value = abs(number) * (100 if percent else 1)
    spec = core.group(0)
    decimals = len(spec.split(".")[1]) if "." in spec else 0
    grouped = "," in spec.split(".")[0]
    text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"

    def literal(part: str) -> str:
        return re.sub(r'"([^"]*)"|\\(.)', lambda m: m.group(1) or m.group(2) or "", part)

    prefix, suffix = literal(section[: core.start()]), literal(section[core.end() :])
    sign = "-" if number < 0 and round(value, decimals) != 0 else ""
    return f"{sign}{prefix}{text}{suffix}"


_DATE_TOKENS = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|[^"\\]',
    re.IGNORECASE,
)
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def format_date_pattern(serial: float, pattern: str) -> str:
    """Render a serial number with a Sheets date/time pattern such as ``dd/MM/yyyy HH:mm``."""
    when = from_serial(serial)
    tokens = _DATE_TOKENS.findall(pattern)
    lowered = [t.lower() for t in tokens]
    twelve_hour = any(t in ("am/pm", "a/p") for t in lowered)
    out = []
    for i, (token, low) in enumerate(zip(tokens, lowered, strict=True)):
        if low in ("m", "mm"):
            before = [t for t in lowered[:i] if t[0] in "hmsdy"]
            after = [t for t in lowered[i + 1 :] if t[0] in "hmsdy"]
            is_minute = (before and before[-1] in ("h", "hh")) or (
                after and after[0] in ("s", "ss")
            )
            number = when.minute if is_minute else when.month
            out.append(f"{number:02d}" if low == "mm" else str(number))
        elif low == "yyyy":
            out.append(f"{when.year:04d}")
        elif low == "yy":
            out.append(f"{when.year % 100:02d}")
        elif low == "mmmm":
            out.append(_MONTHS[when.month - 1])
        elif low == "mmm":
            out.append(_MONTHS[when.month - 1][:3])
        elif low == "dddd":
            out.append(_DAYS[when.weekday()])
        elif low == "ddd":
            out.append(_DAYS[when.weekday()][:3])
        elif low in ("dd", "d"):
            out.append(f"{when.day:02d}" if low == "dd" else str(when.day))
        elif low in ("hh", "h"):
            hour = (when.hour % 12 or 12) if twelve_hour else when.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("ss", "s"):
            out.append(f"{when.second:02d}" if low == "ss" else str(when.second))
        elif low == "am/pm":
            out.append("AM" if when.hour < 12 else "PM")
        elif low == "a/p":
            out.append("A" if when.hour < 12 else "P")
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        else:
            out.append(token)
    return "".join(out)


def default_date_pattern(kind: str, locale: str) -> str:
    us = locale == "en_US"
    date = "M/d/yyyy" if us else "dd/MM/yyyy"
    time = "h:mm:ss am/pm" if us else "HH:mm:ss"
    return {"DATE": date, "TIME": time}.get(kind, f"{date} {time}")


def number_format_of(cell: dict | None) -> dict | None:
    if not cell:
        return None
    return (cell.get("userEnteredFormat") or {}).get("numberFormat")


def formatted_value(cell: dict | None, locale: str) -> str | None:
    """The text the cell shows in the UI (FORMATTED_VALUE)."""
    value = effective_value(cell)
    if value is None:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return "TRUE" if value["boolValue"] else "FALSE"
    if "errorValue" in value:
        return ERROR_STRINGS.get(value["errorValue"].get("type", "ERROR"), "#ERROR!")
    number = value.get("numberValue", 0)
    fmt = number_format_of(cell) or {}
    kind, pattern = fmt.get("type"), fmt.get("pattern")
    if kind in DATE_TYPES:
        return format_date_pattern(number, pattern or default_date_pattern(kind, locale))
    if pattern and kind in ("NUMBER", "PERCENT", "CURRENCY", "SCIENTIFIC"):
        return _format_number_pattern(number, pattern)
    if kind == "PERCENT":
        return _format_number_pattern(number, "0.00%")
    if kind == "CURRENCY":
        return _format_number_pattern(number, '"£"#,##0.00' if locale == "en_GB" else '"$"#,##0.00')
    return format_general(number)


def render(cell: dict | None, value_render: str, date_render: str, locale: str) -> Any:
    """One cell as the values API returns it; None for an empty cell."""
    value = effective_value(cell)
    if value is None:
        return None
    if value_render == "FORMATTED_VALUE":
        return formatted_value(cell, locale)
    entered = (cell or {}).get("userEnteredValue") or {}
    if value_render == "FORMULA" and "formulaValue" in entered:
        return entered["formulaValue"]
    if "numberValue" in value:
        fmt = number_format_of(cell) or {}
        if fmt.get("type") in DATE_TYPES and date_render == "FORMATTED_STRING":
            return formatted_value(cell, locale)
        return normalize_number(value["numberValue"])
    if "errorValue" in value:
        return ERROR_STRINGS.get(value["errorValue"].get("type", "ERROR"), "#ERROR!")
    return value.get("stringValue", value.get("boolValue"))


def python_effective(cell: dict | None) -> Any:
    """Effective value as a plain Python value (number, str, bool, error string or None)."""
    return render(cell, "UNFORMATTED_VALUE", "SERIAL_NUMBER", "en_US")
