"""Carrying out a plan: resolve leads, write lead fields, send the calls, record outcomes.

>>> report = apply_config(config, ledger, client)           # doctest: +SKIP
>>> report.exit_code                                        # doctest: +SKIP
0

- ``runner``: ``apply_config``, the executor (pending -> call -> sent / failed / unknown);
- ``result``: ``ApplyReport``, how a run ends; ``verdict``: its exit code and last line,
  decided once (``ApplyReport.verdict``);
- ``instance``: ``bound``, a ledger belongs to one Marketo instance; ``admission``: what
  must hold before a run sends (a saved plan's place and instant, a new ledger, consent);
- ``resolve``: lead references to Marketo ids; ``fields``: lead fields written first;
- ``batch``: batch runs scheduled; ``settle``: unknown outcomes settled on evidence;
- ``baseline``: what was sent before mktsync, recorded without calls.
"""

from __future__ import annotations

from mktsync.apply.instance import bound
from mktsync.apply.result import (
    ApplyReport,
    CampaignReport,
    MissingLead,
    ScheduleReport,
    StopRequest,
)
from mktsync.apply.runner import ApplyOptions, apply_config, check_binding
from mktsync.apply.verdict import Verdict

__all__ = [
    "ApplyOptions",
    "ApplyReport",
    "CampaignReport",
    "MissingLead",
    "ScheduleReport",
    "StopRequest",
    "Verdict",
    "apply_config",
    "bound",
    "check_binding",
]
