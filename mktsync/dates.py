"""Dates in templates: ``today``, day arithmetic and the date filters.

>>> trial_end, today = as_day(date(2026, 12, 4)), as_day(date(2026, 12, 1))
>>> trial_end - today
3
>>> add_days(today, 3) == trial_end, days_until(today, "2026-12-04")
(True, 3)

A :class:`Day` is a ``datetime.date`` whose difference with another date is a whole
number of days (an ``int``), not a ``timedelta``: ``row.trial_end - today == 3`` is the
test a template wants.

The run's instant (issue 21): ``now`` is one value per run, taken once (``instant``):
the wall clock to the second, or the time pinned with ``--now`` / ``MKTSYNC_NOW``
(``parse_now``), or the instant a saved plan recorded.  It is held in the config's
``timezone:`` (IANA, default UTC), and ``today`` is its date there, so every template of a
run sees one value, ``retrigger: on_change`` stays stable, and a plan made at 23:30 in New
York means the 5th, not the 6th.

>>> at = instant(parse_now("2026-12-05T23:30:00-05:00"), "America/New_York")
>>> at.isoformat(), today_of(at), today_of(instant(at, "UTC"))
('2026-12-05T23:30:00-05:00', Day(2026, 12, 5), Day(2026, 12, 6))
>>> instant(parse_now("2026-12-05"), "America/New_York").isoformat()
'2026-12-05T00:00:00-05:00'

A pinned instant is held to ``EARLIEST`` .. ``LATEST`` (``held``): two days inside
Python's years 1..9999 on each side, so it can be put in any zone without leaving them
(a wall time read in UTC+14 and shown in UTC-12 moves 26 hours); ``0001-01-01T00:00:00+05:00`` is refused with the rule, never
an ``OverflowError``.

Filters (registered in :data:`FILTERS`): ``add_days(n)``, ``days_until(date)``,
``to_date`` and ``to_datetime`` (ISO 8601, or a ``strptime`` format given as argument).
``date(format)`` lives in ``mktsync.sandbox``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
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
    """The run's ``today``: ``now``'s date where it is held (``instant`` puts it in the
    config's ``timezone:``)."""
    return as_day(now.date())


DEFAULT_ZONE = "UTC"


@functools.cache
def zone(name: str) -> tzinfo:
    """The ``tzinfo`` of an IANA zone name (``UTC`` without reading the zone database);
    raises ``ValueError`` naming it when there is no such zone (``zone_problem``)."""
    if name == DEFAULT_ZONE:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a key at all ("../x")
        raise ValueError(zone_problem(name)) from None


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not a time zone mktsync knows, with the nearest names; None if it is."""
    if name == DEFAULT_ZONE:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(name)
        return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    import difflib

    near = difflib.get_close_matches(name, sorted(available_timezones()), n=3, cutoff=0.7)
    hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
    return (
        f"unknown time zone {name!r}{hint}; write an IANA name such as 'UTC', "
        "'Europe/Berlin' or 'America/New_York'"
    )


EARLIEST = datetime(1, 1, 3)  # an instant held (in UTC; a naive one as written) is
LATEST = datetime(9999, 12, 29, 23, 59, 59)  # within these: any zone keeps it in 1..9999


def parse_now(text: str) -> datetime:
    """``--now`` / ``MKTSYNC_NOW``: ISO 8601 with an offset (``2026-12-05T09:00:00Z``), a
    time without one (``2026-12-05T09:00``: read in the config's zone by ``instant``), or a
    date (``2026-12-05``: that day's midnight there).  Raises ``ValueError`` with the rule."""
    value = text.strip()
    try:
        if len(value) == 10 and value[4:5] == "-":  # a date alone: midnight
            return held(datetime.combine(date.fromisoformat(value), datetime.min.time()))
        return held(datetime.fromisoformat(value))
    except OutOfRange as exc:
        raise ValueError(f"{text!r} {exc}") from None
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time: write 2026-12-05T09:00:00Z (with an offset), "
            "2026-12-05T09:00 (in the config's timezone) or 2026-12-05 (its midnight)"
        ) from None


class OutOfRange(ValueError):
    """An instant too near the ends of years 1..9999 to be put in every zone."""


def held(moment: datetime) -> datetime:
    """``moment`` if it lies within ``EARLIEST`` .. ``LATEST`` (an aware one in UTC),
    else ``OutOfRange`` saying so: converting it to a zone could leave years 1..9999."""
    try:
        utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise OutOfRange(
            f"is outside the instants mktsync can hold: write a time between "
            f"{EARLIEST.date().isoformat()} and {LATEST.date().isoformat()}"
        )
    return moment


def instant(now: datetime | None, timezone: str = DEFAULT_ZONE) -> datetime:
    """The run's ``now`` in ``timezone``: the wall clock to the second when ``now`` is None;
    a naive ``now`` is a wall time in that zone (at a daylight-saving change, the first of
    two; a time the change skips is read with the offset before it)."""
    where = zone(timezone)
    if now is None:
        return datetime.now(UTC).replace(microsecond=0).astimezone(where)
    if now.tzinfo is None:
        return now.replace(tzinfo=where)
    return now.astimezone(where)


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
