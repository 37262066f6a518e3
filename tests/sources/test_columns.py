"""Declared ``columns:``: values converted to their types, or the row's reason to be invalid."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mktsync.dates import Day
from mktsync.errors import shown_personal
from mktsync.row import Row
from mktsync.sources.columns import convert, declared


def one(type_: str, value: object, **extra: object) -> object:
    columns = declared({"columns": {"c": {"type": type_, **extra}}})
    assert columns is not None
    result = convert(Row(c=value), columns)
    return result if isinstance(result, str) else result["c"]


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("string", " x ", " x "),
        ("string", 5, "5"),
        ("integer", " 3 ", 3),
        ("integer", "-12", -12),
        ("integer", 4.0, 4),
        ("number", "2.5", 2.5),
        ("number", "7", 7),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("boolean", False, False),
        ("date", "2026-12-04", date(2026, 12, 4)),
        ("datetime", "2026-12-04T09:00:00", datetime(2026, 12, 4, 9, tzinfo=UTC)),
        ("datetime", "2026-12-04T09:00:00Z", datetime(2026, 12, 4, 9, tzinfo=UTC)),
        ("email", " ada@example.com ", "ada@example.com"),
    ],
)
def test_values_convert(type_: str, value: object, expected: object) -> None:
    assert one(type_, value) == expected


def test_a_date_column_minus_a_date_is_days() -> None:
    value = one("date", "2026-12-04")
    assert isinstance(value, Day)
    assert value - date(2026, 12, 1) == 3
    assert date(2026, 12, 1) - value == -3


def test_a_date_in_a_given_format() -> None:
    assert one("date", "04/12/2026", format="%d/%m/%Y") == date(2026, 12, 4)
    assert one("date", "2026-12-04", format="%d/%m/%Y") == (
        "column 'c': '2026-12-04' is not a date (%d/%m/%Y)"
    )


@pytest.mark.parametrize(
    ("type_", "value", "reason"),
    [
        ("integer", "three", "column 'c': 'three' is not an integer"),
        ("integer", "3.5", "column 'c': '3.5' is not an integer"),
        ("integer", True, "column 'c': True is not an integer"),
        ("number", "nan", "column 'c': 'nan' is not a number"),
        (
            "boolean",
            "maybe",
            "column 'c': 'maybe' is not a boolean (expected true/false, yes/no or 1/0)",
        ),
        ("date", "2026-13-01", "column 'c': '2026-13-01' is not a date (expected YYYY-MM-DD)"),
        ("email", "Ada Lovelace", "column 'c': 'A***' is not an email address"),
        ("integer", "ada@example.com", "column 'c': 'a***@example.com' is not an integer"),
        ("integer", "", "column 'c': empty, but required (integer)"),
        ("email", "  ", "column 'c': empty, but required (email)"),
        ("string", {"a": 1}, "column 'c': {'a': 1} is not text"),
        ("string", ["x" * 80], "column 'c': ['" + "x" * 55 + "... is not text"),
    ],
)
def test_values_that_do_not_convert_name_column_value_and_type(
    type_: str, value: object, reason: str
) -> None:
    # As every display shows it by default: a personal value masked (issue 22).
    assert shown_personal(str(one(type_, value)), show_pii=False) == reason


def test_optional_columns_may_be_empty_or_missing() -> None:
    columns = declared(
        {
            "columns": {
                "n": {"type": "integer", "required": False},
                "s": {"type": "string", "required": False},
            }
        }
    )
    assert columns is not None
    assert convert(Row(n=""), columns) == {"n": None, "s": ""}


def test_a_required_column_missing_from_the_row() -> None:
    columns = declared({"columns": {"n": "integer"}})
    assert columns is not None
    assert convert(Row(), columns) == "column 'n': missing, but required (integer)"


def test_a_personal_value_is_marked_in_clear_and_masked_only_when_shown() -> None:
    columns = declared({"columns": {"email": "email", "n": "integer"}})
    assert columns is not None
    reason = convert(Row(email="evelyn.private@", n="ada@example.com"), columns)
    assert isinstance(reason, str)
    assert shown_personal(reason, show_pii=True) == (
        "column 'email': 'evelyn.private@' is not an email address; "
        "column 'n': 'ada@example.com' is not an integer"
    )
    assert shown_personal(reason, show_pii=False) == (
        "column 'email': 'e***@' is not an email address; "
        "column 'n': 'a***@example.com' is not an integer"
    )
