"""Reading typed values: dates, whole numbers, money, names."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from rules.values import BadValue, key, parse_date, parse_money, parse_whole


@pytest.mark.parametrize(
    ("raw", "order", "numbers", "expected"),
    [
        (date(2026, 11, 20), None, False, date(2026, 11, 20)),
        (datetime(2026, 11, 20, 14, 30), None, False, date(2026, 11, 20)),
        ("2026-11-20", None, False, date(2026, 11, 20)),
        (" 2026-11-20 ", None, False, date(2026, 11, 20)),
        ("2026-11-20 10:30", None, False, date(2026, 11, 20)),
        ("2026-11-20T10:30:00", None, False, date(2026, 11, 20)),
        ("20/11/2026", "DMY", False, date(2026, 11, 20)),
        ("20.11.2026", "DMY", False, date(2026, 11, 20)),
        ("20-11-2026", "DMY", False, date(2026, 11, 20)),
        ("03/04/2026", "DMY", False, date(2026, 4, 3)),
        ("03/04/2026", "MDY", False, date(2026, 3, 4)),
        ("11/20/26", "MDY", False, date(2026, 11, 20)),
        (46346, None, True, date(2026, 11, 20)),  # a Google serial number
        (46346.75, None, True, date(2026, 11, 20)),
    ],
)
def test_dates_read(raw: object, order: str | None, numbers: bool, expected: date) -> None:
    assert parse_date(raw, numbers_are_dates=numbers, date_order=order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "order", "numbers", "message"),
    [
        (
            "20/11/2026",
            None,
            False,
            "'20/11/2026' could be read more than one way: write it as 2026-11-20, or set "
            "date_order in the config",
        ),
        (
            "03/04/2026",
            None,
            False,
            "'03/04/2026' could be read more than one way: write it as 2026-03-04 or 2026-04-03 "
            "(year-month-day), or set date_order in the config",
        ),
        ("31/02/2026", "DMY", False, "'31/02/2026' is not a real date"),
        ("2026-13-01", None, False, "'2026-13-01' is not a real date"),
        (
            "next week",
            None,
            False,
            "'next week' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20",
        ),
        (
            46346,
            None,
            False,
            "'46346' is a number, not a date: type the date as 2026-11-20 "
            "or format the cell as a date",
        ),
        (True, None, True, "'TRUE' is not a date"),
        (1e12, None, True, "'1000000000000' is not a plausible date"),
        ("1066-10-14", None, False, "'1066-10-14' is not a plausible date"),
    ],
)
def test_dates_refused(raw: object, order: str | None, numbers: bool, message: str) -> None:
    with pytest.raises(BadValue) as err:
        parse_date(raw, numbers_are_dates=numbers, date_order=order)  # type: ignore[arg-type]
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"), [(10, 10), (10.0, 10), ("10", 10), (" 10 ", 10), ("10.0", 10)]
)
def test_whole_numbers(raw: object, expected: int) -> None:
    assert parse_whole(raw) == expected


@pytest.mark.parametrize("raw", [10.5, "ten", True, "", "1e", float("nan"), float("inf"), 0, -1])
def test_whole_numbers_refused(raw: object) -> None:
    with pytest.raises(BadValue):
        parse_whole(raw)


def test_adjust_may_be_negative() -> None:
    assert parse_whole("-3", minimum=None) == -3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (120, "120"),
        (120.5, "120.5"),
        ("$1,200.50", "1200.50"),
        ("120 €", "120"),
        ("£90", "90"),
        ("1.200,50 €", "1200.50"),
        ("12,50", "12.50"),
        ("EUR 75", "75"),
        ("0", "0"),
        ("1,000,000", "1000000"),
    ],
)
def test_money(raw: object, expected: str) -> None:
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["-5", "$-5", "free", True, "12 apples", "1e999"])
def test_money_refused(raw: object) -> None:
    with pytest.raises(BadValue):
        parse_money(raw)


def test_names_compare_case_insensitively_with_spaces_trimmed() -> None:
    assert key("  John Smith ") == key("JOHN SMITH")
    assert key("Zoë") == key("Zoe\u0308")  # the same name typed on two keyboards
