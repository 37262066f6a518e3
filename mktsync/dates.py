"""Dates in templates: ``today``, day arithmetic and the date filters.

>>> trial_end, today = as_day(date(2026, 12, 4)), as_day(date(2026, 12, 1))
>>> trial_end - today
3
>>> add_days(today, 3) == trial_end, days_until(today, "2026-12-04")
(True, 3)

A :class:`Day` is a ``datetime.date`` whose difference with another date is a whole
number of days (an ``int``), not a ``timedelta``: ``row.trial_end - today == 3`` is the
test a template wants.  ``today`` is the run's ``now`` as a UTC date, so every
template of a run sees one value and ``retrigger: on_change`` stays stable.

Filters (registered in :data:`FILTERS`): ``add_days(n)``, ``days_until(date)``,
``to_date`` and ``to_datetime`` (ISO 8601, or a ``strptime`` format given as argument).
``date(format)`` lives in ``mktsync.sandbox``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jinja2 import Undefined


class Day(date):
    """A date whose difference with another date is an ``int`` of days."""

    __slots__ = ()

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, datetime):
            return NotImplemented
        if isinstance(other, date):
            return date.toordinal(self) - date.toordinal(other)
        if isinstance(other, timedelta):
            return as_day(date.__sub__(self, other))
        return NotImplemented

    def __rsub__(self, other: Any) -> Any:
        if isinstance(other, date) and not isinstance(other, datetime):
            return date.toordinal(other) - date.toordinal(self)
        return NotImplemented

    def __add__(self, other: Any) -> Any:
        result = date.__add__(self, other)
        return as_day(result) if isinstance(result, date) else result

    __radd__ = __add__


def as_day(value: date) -> Day:
    """A ``Day`` for a date (a datetime gives its date)."""
    return Day(value.year, value.month, value.day)


def today_of(now: datetime) -> Day:
    """The run's ``today``: ``now``'s date in UTC."""
    return as_day(now.astimezone(UTC).date() if now.tzinfo else now.date())


def _fail_if_undefined(value: Any) -> None:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # "'row' has no attribute ...", not a type error


def to_date(value: Any, fmt: str | None = None) -> Day:
    """``{{ row.ends | to_date }}`` or ``to_date('%d/%m/%Y')``: a date from text (or a date)."""
    _fail_if_undefined(value)
    if isinstance(value, datetime):
        return as_day(value)
    if isinstance(value, date):
        return as_day(value)
    if not isinstance(value, str):
        raise TypeError(f"to_date: expected a date or text, got {type(value).__name__}")
    text = value.strip()
    try:
        if fmt is not None:
            return as_day(datetime.strptime(text, fmt))
        return as_day(datetime.fromisoformat(text))
    except ValueError:
        expected = f"format {fmt!r}" if fmt else "ISO 8601 (YYYY-MM-DD)"
        raise ValueError(f"to_date: {value!r} is not a date in {expected}") from None


def to_datetime(value: Any, fmt: str | None = None) -> datetime:
    """``{{ row.at | to_datetime }}``: an aware datetime (UTC when the text gives no zone)."""
    _fail_if_undefined(value)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = (
                datetime.strptime(value.strip(), fmt)
                if fmt is not None
                else datetime.fromisoformat(value.strip())
            )
        except ValueError:
            expected = f"format {fmt!r}" if fmt else "ISO 8601"
            raise ValueError(f"to_datetime: {value!r} is not a datetime in {expected}") from None
    else:
        raise TypeError(f"to_datetime: expected a datetime or text, got {type(value).__name__}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_days(value: Any, days: int) -> Any:
    """``{{ today | add_days(3) }}``: a date (or datetime) ``days`` later; text is read as ISO 8601."""
    _fail_if_undefined(value)
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"add_days: the number of days must be a whole number, got {days!r}")
    if isinstance(value, datetime):
        return value + timedelta(days=days)
    return to_date(value) + timedelta(days=days)


def days_until(value: Any, target: Any) -> int:
    """``{{ today | days_until(row.trial_end) }}``: whole days from the value to ``target``."""
    _fail_if_undefined(target)
    return int(to_date(target) - to_date(value))


FILTERS: dict[str, Callable[..., Any]] = {
    "add_days": add_days,
    "days_until": days_until,
    "to_date": to_date,
    "to_datetime": to_datetime,
}
