"""`mktsync ledger mark-sent|forget`: what a repair changed, written as text.

The repair itself is the library's (``mktsync.ledger.tools.repair``); this module only prints.
"""

from __future__ import annotations

from typing import TextIO

from mktsync.errors import one_line
from mktsync.ledger.tools import RepairResult


def render_repair_text(result: RepairResult, out: TextIO) -> None:
    after = "sent" if result.action == "mark-sent" else "forgotten (the next apply triggers it)"
    out.write(
        f"{result.action}: {len(result.before)} record(s) in campaign {result.campaign_id};"
        f" run #{result.run_id} by {result.who}: {one_line(result.why)}\n"
    )
    out.writelines(f"  {one_line(key)}: {was} -> {after}\n" for key, was in result.before)
