"""`mktsync ledger status|show`: their records written as text or JSON.

The records come from the library (``mktsync.ledger.tools``); this module only prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from mktsync.errors import one_line
from mktsync.ledger import STATUSES, LedgerRecord
from mktsync.ledger.tools import LedgerStatus


def render_status_text(status: LedgerStatus, out: TextIO) -> None:
    out.write(f"ledger: {status.ledger}\n")
    if not status.campaigns:
        out.write("no records\n")
    else:
        out.write(f"{'campaign':>10}" + "".join(f"{s:>9}" for s in (*STATUSES, "total")) + "\n")
        for c in status.campaigns:
            cells = [c.counts.get(s, 0) for s in STATUSES] + [c.total]
            out.write(f"{c.campaign_id:>10}" + "".join(f"{n:>9}" for n in cells) + "\n")
    out.write(f"\nlast {len(status.runs)} run(s):\n" if status.runs else "\nno runs\n")
    for run in status.runs:
        state = "running or died" if run.exit_status is None else f"exit {run.exit_status}"
        counts = " ".join(f"{k}={v}" for k, v in sorted(run.counts.items()) if v) or "-"
        note = f"  ({one_line(run.note)})" if run.note else ""
        out.write(
            f"  #{run.run_id} {run.command}  by {run.who}  {run.started_at}  {state}"
            f"  {counts}{note}\n"
        )


def render_status_json(status: LedgerStatus, out: TextIO) -> None:
    data = {
        "ledger": status.ledger,
        "campaigns": [
            {
                "campaign_id": c.campaign_id,
                **{s: c.counts.get(s, 0) for s in STATUSES},
                "total": c.total,
            }
            for c in status.campaigns
        ],
        "runs": [asdict(run) for run in status.runs],
    }
    json.dump(data, out, indent=2, ensure_ascii=False)
    out.write("\n")


def render_records_text(records: Sequence[LedgerRecord], out: TextIO) -> None:
    for i, rec in enumerate(records):
        lead = rec.lead if rec.lead_id is None else f"{rec.lead} (lead id {rec.lead_id})"
        error = " ".join(x for x in (rec.error_code, rec.error_message) if x) or "-"
        tokens = [f"{name} = {value}" for name, value in rec.tokens] or ["-"]
        rows = [
            ("status", rec.status), ("lead", lead), ("tokens", tokens[0]),
            *(("", t) for t in tokens[1:]),
            ("attempts", str(rec.attempts)), ("requestId", rec.request_id or "-"),
            # A sent record's message is the evidence `ledger settle` found, not an error.
            ("note" if rec.status == "sent" and rec.error_message else "error", error),
            ("run", "-" if rec.run_id is None else str(rec.run_id)),
            ("created", rec.created_at), ("updated", rec.updated_at),
        ]  # fmt: skip
        out.write(("\n" if i else "") + f"campaign {rec.campaign_id}  key {one_line(rec.key)}\n")
        out.writelines(f"  {label:<10} {one_line(value)}\n" for label, value in rows)
