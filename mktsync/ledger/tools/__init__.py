"""The library of ``mktsync ledger``: look at a ledger, export it, repair items by hand.

>>> target = ledger_target(Path("campaigns.yaml"))                   # doctest: +SKIP
>>> ledger_status(target).campaigns                                   # doctest: +SKIP
(CampaignCounts(campaign_id=1234, counts={'sent': 10, 'unknown': 2}),)
>>> repair(target, 1234, ["ann@example.com/w1"], action="mark-sent", who="ann",
...        why="checked in Marketo: activity log shows the trigger").run_id  # doctest: +SKIP
14

Unlike the rest of ``mktsync.ledger``, which is handed an open ``Ledger``, these tools
open the ledger themselves from a ``LedgerTarget`` (a URL, or the config's ``ledger:``),
and return records: they never print (``cli.ledger`` writes them).

- ``target``: ``LedgerTarget``, ``ledger_target``, ``config_target``, ``opening`` and
  ``reading`` (every error names the ledger as written), and ``KeysNotFound``;
- ``status``: records per campaign and status, the latest runs, one key's records;
- ``export``: every record as CSV or JSON lines, or an SQLite copy;
- ``repair``: mark-sent and forget, with who and why.

Reading (``status``, ``show``, ``export``) opens with ``create=False``: nothing is created.
A repair takes the run lock, so it never races an ``apply`` (``Ledger.repair``).
"""

from __future__ import annotations

from mktsync.ledger.tools.export import (
    EXPORT_COLUMNS,
    export,
    export_sqlite,
    export_to_file,
    record_dict,
)
from mktsync.ledger.tools.repair import RepairResult, default_who, read_keys, repair
from mktsync.ledger.tools.status import CampaignCounts, LedgerStatus, ledger_status, show
from mktsync.ledger.tools.target import (
    KeysNotFound,
    LedgerTarget,
    config_target,
    ledger_target,
    opening,
    reading,
)

__all__ = [
    "EXPORT_COLUMNS",
    "CampaignCounts",
    "KeysNotFound",
    "LedgerStatus",
    "LedgerTarget",
    "RepairResult",
    "config_target",
    "default_who",
    "export",
    "export_sqlite",
    "export_to_file",
    "ledger_status",
    "ledger_target",
    "opening",
    "read_keys",
    "reading",
    "record_dict",
    "repair",
    "show",
]
