"""Batch runs: a ``schedules:`` entry's rows rendered into runs, as a campaign's into items.

>>> for result in iter_runs(config, config.schedules["webinar-starts-soon"], now):  # doctest: +SKIP
...     print(result)
ScheduleItem(schedule='webinar-starts-soon', campaign_id=3001, key='wb-101', ...)

One result per row of the schedule's source (one in all without ``source``: its
templates see an empty ``row``): a ``ScheduleItem``, an ``InvalidItem``, or None when
``when`` leaves the row out.  The rows, the templates and ``when`` are a campaign's:
rows from ``source_rows`` (declared columns converted), templates compiled once per
text through ``config.compiled`` and the fast path (``compile_located``), ``when`` the
same condition (``condition``, ``filtered_by``), a repeated key found by ``FirstRows``.

What differs from an item: every value is stripped; ``key`` defaults to the schedule's
name; ``run_at`` must be ISO 8601 with a UTC offset; a row is invalid with every failing
field named ``field: message`` (Jinja's message as it is), joined by ``; ``.  Schedules are
few rows (one per webinar session), so there is no generated happy path here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from mktsync.config.batch import parse_run_at
from mktsync.config.model import Config, Schedule
from mktsync.items import InvalidItem, ScheduleItem
from mktsync.render.campaign import compile_located, condition, filtered_by
from mktsync.render.fast import Render
from mktsync.render.items import source_rows
from mktsync.render.keys import FirstRows
from mktsync.render.values import WhenMiss, WhenValues
from mktsync.row import Row


def iter_runs(
    config: Config,
    schedule: Schedule,
    now: datetime,
    *,
    when_misses: Callable[[list[WhenMiss]], None] | None = None,
) -> Iterator[ScheduleItem | InvalidItem | None]:
    """One result per row (one in all without ``source``): a run, invalid, or None (filtered).

    ``when_misses``: as ``iter_items``'s, called once the last row is read."""
    when = compile_located(condition(schedule.when)) if schedule.when else None
    key = compile_located(schedule.key) if schedule.key else None
    run_at = compile_located(schedule.run_at)
    clone = compile_located(schedule.clone_to_program) if schedule.clone_to_program else None
    tokens = [(t.name, compile_located(t.template)) for t in schedule.tokens]
    rows: Iterator[tuple[int | None, Row | str]]
    if schedule.source is None:
        rows = iter([(None, Row({}))])
    else:
        rows = source_rows(config.sources[schedule.source])
    first_row = FirstRows()
    watched = watch = None
    if when_misses is not None and schedule.when is not None and schedule.source is not None:
        watched = watch = WhenValues.of(schedule.name, schedule.when.text, None)
    for number, row in rows:
        if isinstance(row, str):
            yield _invalid(schedule, number, row)
            continue
        if watch is not None and watch.see(row):
            watch = None  # every literal met
        errors: list[str] = []

        def render(field: str, fn: Render, row: Row = row, errors: list[str] = errors) -> str:
            try:
                return fn(row, now).strip()
            except Exception as exc:
                errors.append(f"{field}: {str(exc).strip() or type(exc).__name__}")
                return ""

        if when is not None and filtered_by(render("when", when)) and not errors:
            yield None
            continue
        the_key = render("key", key) if key else schedule.name
        moment = render("run_at", run_at)
        if moment and parse_run_at(moment) is None:
            errors.append(f"run_at: {moment!r} is not ISO 8601 with a UTC offset")
        values = tuple(sorted((name, render(f"tokens.{name}", fn)) for name, fn in tokens))
        clone_name = render("clone_to_program", clone) if clone else None
        if not the_key and not errors:
            errors.append("key: renders empty")
        if not errors:  # only a valid row claims its key: the first valid row wins
            first = first_row(the_key, number or 0)
            if first is not None:
                errors.append(f"duplicate key, first seen at {first}")
        if errors:
            yield _invalid(schedule, number, "; ".join(errors))
            continue
        yield ScheduleItem(
            schedule=schedule.name,
            campaign_id=schedule.campaign_id,
            key=the_key,
            run_at=moment,
            tokens=values,
            clone_to_program=clone_name or None,
            source=schedule.source,
            row=number,
        )
    if when_misses is not None:
        when_misses(watched.misses() if watched is not None else [])


def _invalid(schedule: Schedule, number: int | None, reason: str) -> InvalidItem:
    return InvalidItem(
        campaign=schedule.name,
        campaign_id=schedule.campaign_id,
        source=schedule.source or "",
        row=number or 0,
        reason=reason,
    )
