"""``mktsync ledger``: look at the ledger, export it, and repair items by hand.

The library functions (``mktsync.ledger.tools``, named here too) open the ledger, return
records and never print; the ``render_*`` functions write them; ``add_parser`` registers
the ``ledger`` command for ``cli``.

>>> target = ledger_target(Path("campaigns.yaml"))
>>> ledger_status(target).campaigns
(CampaignCounts(campaign_id=1234, counts={'sent': 10, 'unknown': 2}),)
>>> repair(target, 1234, ["ann@example.com/w1"], action="mark-sent", who="ann",
...        why="checked in Marketo: activity log shows the trigger").run_id
14

Modules: ``args`` (the command line and its handlers), ``target`` (the campaign options),
``query`` (status and show printed), ``repair`` (a repair printed), ``settlecmd`` and
``importcmd`` (``ledger settle`` and ``ledger import``).

Reading (``status``, ``show``, ``export``) opens with ``create=False``: nothing is created.
A repair takes the run lock, so it never races an ``apply`` (``Ledger.repair``).
"""

from __future__ import annotations

from mktsync.cli.ledger.args import add_parser
from mktsync.cli.ledger.query import render_records_text, render_status_json, render_status_text
from mktsync.cli.ledger.repair import render_repair_text
from mktsync.ledger.tools import (
    EXPORT_COLUMNS,
    CampaignCounts,
    KeysNotFound,
    LedgerStatus,
    LedgerTarget,
    RepairResult,
    default_who,
    export,
    export_to_file,
    ledger_status,
    ledger_target,
    read_keys,
    record_dict,
    repair,
    show,
)

__all__ = [
    "EXPORT_COLUMNS",
    "CampaignCounts",
    "KeysNotFound",
    "LedgerStatus",
    "LedgerTarget",
    "RepairResult",
    "add_parser",
    "default_who",
    "export",
    "export_to_file",
    "ledger_status",
    "ledger_target",
    "read_keys",
    "record_dict",
    "render_records_text",
    "render_repair_text",
    "render_status_json",
    "render_status_text",
    "repair",
    "show",
]
