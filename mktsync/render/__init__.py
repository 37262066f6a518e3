"""Rendering rows into items with sandboxed Jinja templates.

>>> from mktsync.render import iter_items, check_invalid_limit
>>> invalid = 0
>>> for result in iter_items(config, campaign):              # doctest: +SKIP
...     invalid += isinstance(result, InvalidItem)
>>> check_invalid_limit(campaign, invalid)                    # doctest: +SKIP

- ``iter_items(config, campaign, *, now=None, keys=None)``: one ``Item``,
  ``InvalidItem`` or ``FilteredRow`` per row of ``config.sources[campaign.source]``,
  streaming (``now`` defaults to the wall clock, held in the config's ``timezone:``;
  templates see it as ``now``;
  ``keys`` is the duplicate-key check, ``FirstRows``, ``KeyLog`` or ``SuspectKeys``, see ``render.keys``).
- ``iter_runs(config, schedule, now)``: a batch campaign's (``schedules:``) rows rendered
  into runs the same way: one ``ScheduleItem``, ``InvalidItem`` or None (filtered) per row.
- ``WhenValues``/``WhenMiss``: what rows hold in the columns a ``when`` compares with
  literals, and each literal no row holds (``iter_items(when_misses=...)``).
- ``check_invalid_limit(campaign, invalid_count)``: ``PlanError`` past ``max_invalid``.
- ``make_environment()``: the cached sandbox, for ``validate``; ``CONTEXT_NAMES``:
  the only variables a template may use (``row``, ``now``).
- ``compile_template(text)``: ``(row, now) -> str``, Jinja or a fast path with the same output.
"""

from __future__ import annotations

from mktsync.render.batch import iter_runs
from mktsync.render.campaign import FALSE_RENDERINGS, CompiledCampaign
from mktsync.render.fast import Render, compile_template, fast_path
from mktsync.render.items import check_invalid_limit, iter_items
from mktsync.render.keys import FirstRows, KeyCheck, KeyLog, SuspectKeys
from mktsync.render.values import WhenMiss, WhenValues
from mktsync.row import Row
from mktsync.sandbox import (
    CONTEXT_NAMES,
    FILTERS,
    SAFE_GLOBALS,
    format_date,
    html_escape,
    make_environment,
)

__all__ = [
    "CONTEXT_NAMES",
    "FALSE_RENDERINGS",
    "FILTERS",
    "SAFE_GLOBALS",
    "CompiledCampaign",
    "FirstRows",
    "KeyCheck",
    "KeyLog",
    "Render",
    "Row",
    "SuspectKeys",
    "WhenMiss",
    "WhenValues",
    "check_invalid_limit",
    "compile_template",
    "fast_path",
    "format_date",
    "html_escape",
    "iter_items",
    "iter_runs",
    "make_environment",
]
