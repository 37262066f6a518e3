"""``mktsync ledger``: look at the ledger, export it, and repair items by hand.

The library functions open the ledger, return records and never print; the ``render_*``
functions write them; ``add_parser`` registers the ``ledger`` command for ``cli``.

>>> target = ledger_target(Path("campaigns.yaml"))
>>> ledger_status(target).campaigns
(CampaignCounts(campaign_id=1234, counts={'sent': 10, 'unknown': 2}),)
>>> repair(target, 1234, ["ann@example.com/w1"], action="mark-sent", who="ann",
...        why="checked in Marketo: activity log shows the trigger").run_id
14

Modules: ``target`` (which ledger), ``query`` (status, show, export), ``repair``
(mark-sent, forget) and ``args`` (the command line).

Reading (``status``, ``show``, ``export``) opens with ``create=False``: nothing is created.
A repair takes the run lock, so it never races an ``apply`` (``Ledger.repair``).
"""

from __future__ import annotations

from mktsync.cli.ledger.args import add_parser
from mktsync.cli.ledger.query import (
    EXPORT_COLUMNS,
    CampaignCounts,
    LedgerStatus,
    export,
    export_to_file,
    ledger_status,
    record_dict,
    render_records_text,
    render_status_json,
    render_status_text,
    show,
)
from mktsync.cli.ledger.repair import (
    RepairResult,
    default_who,
    read_keys,
    render_repair_text,
    repair,
)
from mktsync.cli.ledger.target import KeysNotFound, LedgerTarget, ledger_target

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
