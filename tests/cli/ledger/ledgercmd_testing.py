"""Build ledger records with the library, as ``apply`` would (imported by name)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mktsync import cli
from mktsync.items import Item
from mktsync.ledger import Ledger, LedgerRecord, open_ledger

URL = "sqlite:///state/ledger.db"

Run = Callable[..., tuple[int, str, str]]  # the `run` fixture: (exit code, stdout, stderr)


def cli_knows_ledger() -> bool:
    try:
        cli.build_parser().parse_args(["ledger", "status"])
    except cli.UsageError:
        return False
    return True


def item(key: str, *, campaign_id: int = 1234, title: str = "Webinar 1") -> Item:
    return Item(
        campaign="reminder",
        campaign_id=campaign_id,
        key=key,
        lead_id=None,
        email=key.split("/")[0],
        tokens=(("{{my.Link}}", "https://example.com/j/1"), ("{{my.Title}}", title)),
        source="regs",
        row=1,
    )


def seed(
    project: Path,
    *,
    sent: Sequence[str] = (),
    failed: Sequence[str] = (),
    unknown: Sequence[str] = (),
    campaign_id: int = 1234,
    url: str = URL,
) -> None:
    """One finished ``apply`` run leaving these keys sent, failed and unknown."""
    with open_ledger(url, project) as ledger, ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply", who="ci@runner-1")
        keys = [*sent, *failed, *unknown]
        ledger.mark_pending(run, [item(k, campaign_id=campaign_id) for k in keys])
        ledger.mark_sent(run, campaign_id, list(sent), request_id="e42b#1")
        ledger.mark_failed(run, campaign_id, list(failed), code="1003", message="not active")
        ledger.mark_unknown(run, campaign_id, list(unknown), reason="read timeout")
        counts = {"sent": len(sent), "failed": len(failed), "unknown": len(unknown)}
        ledger.finish_run(run, counts=counts, exit_status=3 if failed or unknown else 0)


def snapshot(project: Path, url: str = URL) -> tuple[list[LedgerRecord], int, str]:
    """Every record, the number of runs and the fingerprint: to show nothing changed."""
    ledger: Ledger
    with open_ledger(url, project, create=False) as ledger:
        return list(ledger.iter_records()), len(ledger.runs(limit=1000)), ledger.fingerprint()
