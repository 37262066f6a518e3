"""A project to plan and a ledger as earlier runs left it, for the plan and report tests.

``write_project`` writes campaign 1234 (``reminder``) for the registered rows of
``regs.csv``; ``record`` puts rendered items into the project's ledger with a status.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mktsync.config import load_config
from mktsync.config.model import Config
from mktsync.items import Item
from mktsync.ledger import open_ledger
from mktsync.render import iter_items
from testing import project
from testing.project import LEAD_BY_EMAIL, csv_source, csv_text

COLUMNS = ["email", "webinar", "code", "status"]


REMINDER = {
    "campaign_id": 1234,
    "source": "regs",
    "when": "{{ row.status == 'registered' }}",
    "lead": LEAD_BY_EMAIL,
    "key": "{{ row.email }}/{{ row.webinar }}",
    "retrigger": "on_change",
    "tokens": {
        "my.Link": "https://example.com/j/{{ row.code }}",
        "my.Webinar": "{{ row.webinar }}",
    },
}


def write_project(
    tmp_path: Path,
    rows: Sequence[dict[str, str]],
    *,
    retrigger: str = "on_change",
    extra: str = "",
    **sections: Any,
) -> Path:
    """Campaign 1234 (``reminder``) on ``regs.csv`` holding ``rows``, for registered rows;
    ``sections`` and ``extra`` as ``testing.project`` takes them."""
    return project.write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": {**REMINDER, "retrigger": retrigger}},
        extra=extra,
        files={"regs.csv": csv_text(rows, COLUMNS)},
        **sections,
    )


def row(
    email: str, webinar: str = "w1", code: str = "c", status: str = "registered"
) -> dict[str, str]:
    return {"email": email, "webinar": webinar, "code": code, "status": status}


def items_of(config: Config, name: str = "reminder") -> list[Item]:
    return [i for i in iter_items(config, config.campaigns[name]) if isinstance(i, Item)]


def record(config_path: Path, status: str, items: Sequence[Item]) -> None:
    """Put items into the project's ledger with a status, as an earlier apply would have."""
    config = load_config(config_path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        with ledger.lock(command="test", timeout=5):
            run = ledger.start_run(command="test", config_digest=config.digest)
            ledger.mark_pending(run, list(items))
            keys = [i.key for i in items]
            by_campaign: dict[int, list[str]] = {}
            for i in items:
                by_campaign.setdefault(i.campaign_id, []).append(i.key)
            for cid, ks in by_campaign.items():
                if status == "sent":
                    ledger.mark_sent(run, cid, ks, request_id="e42b#1")
                elif status == "failed":
                    ledger.mark_failed(run, cid, ks, code="1003", message="Invalid data")
                elif status == "unknown":
                    ledger.mark_unknown(run, cid, ks, reason="timeout")
            assert keys
            if status == "pending":
                return  # leave them pending, as a killed run would (lock released on exit)
            ledger.finish_run(run, counts={status: len(items)}, exit_status=0)
