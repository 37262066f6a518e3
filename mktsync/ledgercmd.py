"""``mktsync ledger``: look at the ledger, export it, and repair items by hand.

The library functions open the ledger, return records and never print; the ``render_*``
functions write them; ``add_parser`` registers the ``ledger`` command for ``cli``.

>>> target = ledger_target(Path("campaigns.yaml"))
>>> ledger_status(target).campaigns
(CampaignCounts(campaign_id=1234, counts={'sent': 10, 'unknown': 2}),)
>>> repair(target, 1234, ["ann@example.com/w1"], action="mark-sent", who="ann",
...        why="checked in Marketo: activity log shows the trigger").run_id
14

Reading (``status``, ``show``, ``export``) opens with ``create=False``: nothing is created.
A repair takes the run lock, so it never races an ``apply`` (``Ledger.repair``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from mktsync.errors import EXIT_OK, MktsyncError, one_line
from mktsync.ledger import STATUSES, Ledger, LedgerRecord, RepairAction, RunRecord, open_ledger
from mktsync.ledger.records import whoami

# The export's columns, in order. Append new ones at the end; never reorder (warehouse loads).
EXPORT_COLUMNS = (
    "campaign_id", "key", "status", "lead", "lead_id", "attempts", "request_id", "error_code",
    "error_message", "run_id", "created_at", "updated_at", "token_hash", "tokens",
)  # fmt: skip
_LISTED = 20  # missing keys named in an error before "... and N more"


class KeysNotFound(MktsyncError):
    """Keys asked for are not in the ledger; for a repair, nothing was changed."""

    def __init__(self, campaign_id: int | None, keys: Sequence[str], *, repair: bool) -> None:
        self.campaign_id = campaign_id
        self.keys = tuple(keys)
        where = "any campaign" if campaign_id is None else f"campaign {campaign_id}"
        if not repair:
            self._lines = [f"no record with key {one_line(repr(keys[0]))} in {where}"]
        else:
            self._lines = [
                f"{len(keys)} key(s) not in the ledger for {where}; nothing was changed",
                *(f"  not found: {one_line(repr(k))}" for k in keys[:_LISTED]),
            ]
            if len(keys) > _LISTED:
                self._lines.append(f"  ... and {len(keys) - _LISTED} more")
        super().__init__("\n".join(self._lines))

    def lines(self) -> list[str]:
        return list(self._lines)


@dataclass(frozen=True, kw_only=True)
class LedgerTarget:
    """Which ledger to open: a URL, relative paths taken from ``base_dir`` (the config's folder)."""

    url: str
    base_dir: Path


def ledger_target(config_path: Path, ledger_url: str | None = None) -> LedgerTarget:
    """The config's ``ledger:`` (or ``ledger_url``), relative to the config file's folder.

    With ``ledger_url`` the config is not read, so a broken config never blocks a repair.
    """
    if ledger_url:
        return LedgerTarget(url=ledger_url, base_dir=config_path.absolute().parent)
    from mktsync.config import load_config

    config = load_config(config_path)
    return LedgerTarget(url=config.ledger.resolve(), base_dir=config.base_dir)


@contextmanager
def _reading(target: LedgerTarget) -> Iterator[Ledger]:
    with open_ledger(target.url, target.base_dir, create=False) as ledger:
        yield ledger


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
            ("error", error), ("run", "-" if rec.run_id is None else str(rec.run_id)),
            ("created", rec.created_at), ("updated", rec.updated_at),
        ]  # fmt: skip
        out.write(("\n" if i else "") + f"campaign {rec.campaign_id}  key {one_line(rec.key)}\n")
        out.writelines(f"  {label:<10} {one_line(value)}\n" for label, value in rows)


def export(target: LedgerTarget, out: TextIO, *, fmt: str, campaign_id: int | None = None) -> int:
    """Write every record (of one campaign) as ``csv`` or ``jsonl``, a page at a time.

    CSV: a header of ``EXPORT_COLUMNS``; an empty cell is null; tokens a JSON object.
    Returns the number of records written.
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
                writer.writerow(data.values())
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


# -- repairs ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RepairResult:
    """What a repair changed: each key with its status before (``forget`` deletes the record)."""

    action: RepairAction
    campaign_id: int
    run_id: int
    who: str
    why: str
    before: tuple[tuple[str, str], ...]  # (key, previous status), in the order asked


def default_who() -> str:
    """``$MKTSYNC_WHO``, else ``user@host``: the name recorded in ``runs`` for a repair."""
    return os.environ.get("MKTSYNC_WHO", "").strip() or whoami()


def read_keys(keys: Sequence[str], keys_from: Path | None = None) -> list[str]:
    """The keys given, then those of ``keys_from`` (one a line, blank lines skipped), deduplicated.

    Lines are taken exactly (only the line ending removed): keys may hold spaces.
    """
    found = list(keys)
    if keys_from is not None:
        try:
            text = keys_from.read_text(encoding="utf-8")
        except OSError as exc:
            raise MktsyncError(f"{keys_from}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise MktsyncError(f"{keys_from}: not UTF-8 text") from None
        found += [line.removesuffix("\r") for line in text.split("\n")]
    return list(dict.fromkeys(k for k in found if k))


def repair(
    target: LedgerTarget,
    campaign_id: int,
    keys: Sequence[str],
    *,
    action: RepairAction,
    who: str,
    why: str,
    lock_timeout: float = 30.0,
) -> RepairResult:
    """Mark ``keys`` sent, or forget them, recorded in ``runs`` with who and why.

    All or nothing: if any key is not in the ledger, ``KeysNotFound`` and no change.
    """
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise MktsyncError("no keys given: name them, or use --keys-from FILE")
    if not why.strip():
        raise MktsyncError("--why is required: say what you checked in Marketo")
    # Check read-only first, so that a wrong URL or key never creates a ledger file.
    with _reading(target) as ledger:
        _require(ledger.lookup(campaign_id, keys), campaign_id, keys)
    with (
        open_ledger(target.url, target.base_dir) as ledger,
        ledger.lock(command=f"repair {action}", timeout=lock_timeout),
    ):
        # Again under the lock: another repair may have forgotten a key in between.
        found = ledger.lookup(campaign_id, keys)
        _require(found, campaign_id, keys)
        ledger.repair(campaign_id, keys, action=action, who=who, why=why)
        run_id = ledger.runs(limit=1)[0].run_id  # ours: writers hold the lock we hold
    return RepairResult(
        action=action,
        campaign_id=campaign_id,
        run_id=run_id,
        who=who,
        why=why,
        before=tuple((k, found[k].status) for k in keys),
    )


def _require(found: Mapping[str, LedgerRecord], campaign_id: int, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in found]
    if missing:
        raise KeysNotFound(campaign_id, missing, repair=True)


def render_repair_text(result: RepairResult, out: TextIO) -> None:
    after = "sent" if result.action == "mark-sent" else "forgotten (the next apply triggers it)"
    out.write(
        f"{result.action}: {len(result.before)} record(s) in campaign {result.campaign_id};"
        f" run #{result.run_id} by {result.who}: {one_line(result.why)}\n"
    )
    out.writelines(f"  {one_line(key)}: {was} -> {after}\n" for key, was in result.before)


# -- the command line -------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register ``mktsync ledger`` and its actions on ``cli``'s subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    _target_options(common, default=argparse.SUPPRESS)  # also accepted after the action
    p = sub.add_parser("ledger", help="look at, export and repair the ledger")
    _target_options(p, default=None)
    actions = p.add_subparsers(dest="ledger_action", metavar="ACTION", required=True)

    s = actions.add_parser("status", parents=[common], help="records per campaign and status")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--runs", type=int, default=5, metavar="N", help="latest runs shown (5)")
    s.set_defaults(handler=_status)

    s = actions.add_parser("show", parents=[common], help="every record with a key")
    s.add_argument("key", metavar="KEY")
    s.add_argument("--campaign-id", type=int, metavar="N", help="only this campaign id")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(handler=_show)

    s = actions.add_parser("export", parents=[common], help="every record, as CSV or JSON lines")
    s.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    s.add_argument("--campaign-id", type=int, metavar="N", help="only this campaign id")
    s.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    s.set_defaults(handler=_export)

    for action, help_ in (
        ("mark-sent", "record items as sent, after checking in Marketo"),
        ("forget", "forget items, so that the next apply triggers them again"),
    ):
        s = actions.add_parser(action, parents=[common], help=help_)
        s.add_argument("keys", nargs="*", metavar="KEY")
        s.add_argument("--keys-from", type=Path, metavar="FILE", help="more keys, one a line")
        s.add_argument("--campaign-id", type=int, metavar="N", required=True)
        s.add_argument("--why", required=True, help='e.g. "checked in Marketo: ..."')
        s.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
        s.set_defaults(handler=_repair, repair_action=action)


def _target_options(p: argparse.ArgumentParser, *, default: Any) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=Path("campaigns.yaml") if default is None else default,
        help="the config naming the ledger (default: campaigns.yaml)",
    )
    p.add_argument(
        "--ledger", metavar="URL", default=default, help="ledger URL (default: the config's)"
    )


def _target(args: argparse.Namespace) -> LedgerTarget:
    return ledger_target(args.config, args.ledger)


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = ledger_status(_target(args), runs=args.runs)
    (render_status_json if args.format == "json" else render_status_text)(status, out)
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    records = show(_target(args), args.key, args.campaign_id)
    if args.format == "json":
        json.dump([record_dict(r) for r in records], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        render_records_text(records, out)
    return EXIT_OK


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = _target(args)
    if args.out is None:
        export(target, out, fmt=args.format, campaign_id=args.campaign_id)
        return EXIT_OK
    written = export_to_file(target, args.out, fmt=args.format, campaign_id=args.campaign_id)
    err.write(f"exported {written} record(s) to {args.out}\n")
    return EXIT_OK


def _repair(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    keys = read_keys(args.keys, args.keys_from)
    result = repair(
        _target(args),
        args.campaign_id,
        keys,
        action=args.repair_action,
        who=default_who(),
        why=args.why,
        lock_timeout=args.lock_timeout,
    )
    render_repair_text(result, out)
    return EXIT_OK
