"""Carrying out a plan: resolve leads, write lead fields, send the calls, record outcomes.

>>> report = apply_config(config, ledger, client)           # doctest: +SKIP
>>> report.exit_code                                        # doctest: +SKIP
0

- ``runner``: ``apply_config``, the executor (pending -> call -> sent / failed / unknown);
- ``result``: ``ApplyReport``, how a run ends, its exit code and verdict;
- ``resolve``: lead references to Marketo ids; ``fields``: lead fields written first;
- ``batch``: batch runs scheduled; ``settle``: unknown outcomes settled on evidence;
- ``baseline``: what was sent before mktsync, recorded without calls.
"""

from __future__ import annotations

from mktsync.apply.result import (
    ApplyReport,
    CampaignReport,
    MissingLead,
    ScheduleReport,
    StopRequest,
)
from mktsync.apply.runner import ApplyOptions, apply_config, check_binding

__all__ = [
    "ApplyOptions",
    "ApplyReport",
    "CampaignReport",
    "MissingLead",
    "ScheduleReport",
    "StopRequest",
    "apply_config",
    "check_binding",
]
