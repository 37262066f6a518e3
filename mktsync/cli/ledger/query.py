"""`mktsync ledger status|show|export`: read the ledger, never create it."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from mktsync.cli.ledger.target import (
    KeysNotFound,
    LedgerTarget,
    _reading,
)
from mktsync.errors import MktsyncError, one_line
from mktsync.ledger import STATUSES, LedgerRecord, RunRecord
from mktsync.ledger.csvcells import EXPORT_COLUMNS as EXPORT_COLUMNS  # its home before
from mktsync.ledger.csvcells import neutralise


# -- status -----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CampaignCounts:
    campaign_id: int
    counts: Mapping[str, int]  # status -> records; statuses absent are 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, kw_only=True)
class LedgerStatus:
    """Records per campaign and status, and the latest runs (newest first)."""

    ledger: str
    campaigns: tuple[CampaignCounts, ...]
    runs: tuple[RunRecord, ...]


def ledger_status(target: LedgerTarget, *, runs: int = 5) -> LedgerStatus:
    with _reading(target) as ledger:
        by_campaign: dict[int, dict[str, int]] = {}
        for campaign_id, status, count in ledger.status_counts():
            by_campaign.setdefault(campaign_id, {})[status] = count
        return LedgerStatus(
            ledger=ledger.name,
            campaigns=tuple(
                CampaignCounts(campaign_id=c, counts=n) for c, n in by_campaign.items()
            ),
            runs=tuple(ledger.runs(limit=runs)),
        )


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


# -- show and export --------------------------------------------------------------------------
def show(target: LedgerTarget, key: str, campaign_id: int | None = None) -> list[LedgerRecord]:
    """Every record of ``key`` (in one campaign, or all); ``KeysNotFound`` when there is none."""
    with _reading(target) as ledger:
        records = ledger.get(campaign_id, key)
    if not records:
        raise KeysNotFound(campaign_id, [key], repair=False)
    return records


def record_dict(rec: LedgerRecord) -> dict[str, Any]:
    """A record as JSON-ready data, in ``EXPORT_COLUMNS`` order; tokens as an object."""
    data = {name: getattr(rec, name) for name in EXPORT_COLUMNS}
    data["tokens"] = dict(rec.tokens)
    return data


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


def export(target: LedgerTarget, out: TextIO, *, fmt: str, campaign_id: int | None = None) -> int:
    """Write every record (of one campaign) as ``csv`` or ``jsonl``, a page at a time.

    CSV: a header of ``EXPORT_COLUMNS``; an empty cell is null; tokens a JSON object; a
    cell a spreadsheet would run as a formula gets a quote in front (``ledger.csvcells``),
    which ``ledger import`` takes off again.  Returns the number of records written.
    """
    if fmt not in ("csv", "jsonl"):
        raise MktsyncError(f"unknown export format {fmt!r}: use csv or jsonl")
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(EXPORT_COLUMNS)
    written = 0
    with _reading(target) as ledger:
        for rec in ledger.iter_records(campaign_id):
            data = record_dict(rec)
            if writer:
                data["tokens"] = json.dumps(data["tokens"], ensure_ascii=False)
                writer.writerow(["" if v is None else neutralise(str(v)) for v in data.values()])
            else:
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
            written += 1
    return written


def export_to_file(
    target: LedgerTarget, path: Path, *, fmt: str, campaign_id: int | None = None
) -> int:
    """``export`` into ``path``, which appears only when complete (a temp file, then a rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            written = export(target, f, fmt=fmt, campaign_id=campaign_id)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
