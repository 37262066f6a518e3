"""Adopting mktsync: record what was sent before it, without calling Marketo.

>>> result = record_only(config, ledger, why="sent by hand before mktsync")  # doctest: +SKIP
>>> result = import_sent(config, ledger, "webinar-reminder", Path("sent.csv"),
...                      why="export of the old script's log")              # doctest: +SKIP

Two ways to take a baseline (docs/ledger.md, "Adopting mktsync"):

- ``record_only`` makes the plan ``apply`` would make (under the run lock) and records
  every item it would send as ``sent``, with the reason in the run's note, the run id on
  each record and who ran it.  No credentials, no Marketo call.
- ``import_sent`` reads an export of earlier sends (a ``key`` column, optional
  ``sent_at`` and My Token columns) for one campaign.  **The rule for keys:** the
  campaign is rendered against its own source as ``plan`` would render it, and only the
  keys it produces are accepted -- a key the template could never produce (a typo, the
  wrong campaign, another key format) could never match a plan, so recording it would be
  silent noise.  One impossible key refuses the whole file; nothing is written.
  Token columns (``my.Name``) record the values really sent, so a later plan shows the
  difference; without them the values the config renders now are recorded.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mktsync.config.model import Config
from mktsync.config.validate import normalise_token_name
from mktsync.errors import MktsyncError, PlanError, one_line
from mktsync.fieldsync import as_recorded
from mktsync.items import Item
from mktsync.ledger import Ledger
from mktsync.ledger.baseline import SentRecord, record_sent
from mktsync.plan import Plan, make_plan

SHOWN = 20  # refused keys named in an error before "... and N more"


@dataclass(frozen=True, kw_only=True)
class BaselineResult:
    """What a baseline recorded: the run that holds its reason, and the records written."""

    run_id: int
    written: int  # records now 'sent' (records already 'sent' are not counted)
    offered: int  # items or rows the baseline covered
    plan: Plan | None = None


class ImpossibleKeys(MktsyncError):
    """Keys in an import file that the campaign's key template does not produce."""


def record_only(
    config: Config,
    ledger: Ledger,
    *,
    why: str,
    campaigns: Sequence[str] | None = None,
    retry_unknown: bool = False,
    saved: Plan | None = None,
    who: str | None = None,
    git_commit: str | None = None,
    lock_timeout: float = 30.0,
    now: datetime | None = None,
) -> BaselineResult:
    """Record what the plan would send as ``sent``; ``saved``: the plan shown and agreed to;
    ``now``: the instant to plan at (``--now``), when there is no saved plan."""
    _need_reason(why)
    with ledger.lock(command="apply --record-only", timeout=lock_timeout):
        if saved is not None and saved.ledger_fingerprint != ledger.fingerprint():
            raise PlanError("the ledger changed since the plan was shown; run it again")
        plan = saved or make_plan(
            config, ledger, campaigns=campaigns, retry_unknown=retry_unknown, now=now
        )
        records = [
            _record(p.item, as_recorded(config, p.item).tokens, None)  # fields too (issue 15)
            for cp in plan.campaigns
            for call in cp.calls
            for p in call.items
        ]
        records += [r for sp in plan.schedules for r in _schedule_records(sp)]
        run_id = ledger.start_run(
            command="apply --record-only",
            config_digest=config.digest,
            git_commit=git_commit,
            who=who,
        )
        written = record_sent(ledger, run_id, records, why=why)
        ledger.finish_run(
            run_id, counts={"recorded": written}, exit_status=0, note=f"record-only: {why}"
        )
    return BaselineResult(run_id=run_id, written=written, offered=len(records), plan=plan)


def import_sent(
    config: Config,
    ledger: Ledger,
    campaign: str,
    path: Path,
    *,
    why: str,
    who: str | None = None,
    lock_timeout: float = 30.0,
) -> BaselineResult:
    """Record the sends listed in ``path`` (CSV) for ``campaign`` (see the module docstring)."""
    from mktsync.render import iter_items

    _need_reason(why)
    if campaign not in config.campaigns:
        raise MktsyncError(f"no campaign named {campaign!r} in {config.path.name}")
    spec = config.campaigns[campaign]
    rows = list(_read_export(path, {t.name for t in spec.tokens}))
    produced = {
        x.key: x for x in iter_items(config, spec) if isinstance(x, Item)
    }  # the keys the template gives for the source's rows today
    refused = [(line, key) for line, key, _, _ in rows if key not in produced]
    if refused:
        lines = [
            f"{path.name}: {len(refused)} key(s) that campaign '{campaign}' never produces "
            f"from source '{spec.source}' (its key template is "
            f"{one_line(repr(spec.key.text if spec.key else 'the lead'))}); nothing was recorded",
            *(f"  line {n}: {one_line(repr(k))}" for n, k in refused[:SHOWN]),
        ]
        if len(refused) > SHOWN:
            lines.append(f"  ... and {len(refused) - SHOWN} more")
        raise ImpossibleKeys("\n".join(lines))
    records = []
    seen: set[str] = set()
    for _, key, sent_at, tokens in rows:
        if key in seen:
            continue
        seen.add(key)
        item = produced[key]
        merged = dict(item.tokens)
        merged.update(tokens)
        recorded = as_recorded(
            config, dataclasses.replace(item, tokens=tuple(sorted(merged.items())))
        )
        records.append(_record(item, recorded.tokens, sent_at))
    with ledger.lock(command="ledger import", timeout=lock_timeout):
        run_id = ledger.start_run(
            command=f"ledger import {campaign}", config_digest=config.digest, who=who
        )
        written = record_sent(ledger, run_id, records, why=why)
        ledger.finish_run(
            run_id, counts={"recorded": written}, exit_status=0, note=f"import: {why}"
        )
    return BaselineResult(run_id=run_id, written=written, offered=len(records))


def _record(item: Item, tokens: Iterable[tuple[str, str]], sent_at: str | None) -> SentRecord:
    return SentRecord(
        campaign_id=item.campaign_id,
        key=item.key,
        lead=item.lead,
        lead_id=item.lead_id,
        tokens=tuple(tokens),
        sent_at=sent_at,
    )


def _schedule_records(schedule_plan: object) -> list[SentRecord]:
    from mktsync.schedules import SchedulePlan

    assert isinstance(schedule_plan, SchedulePlan)
    return [
        SentRecord(
            campaign_id=p.item.campaign_id,
            key=p.item.key,
            lead=p.item.lead,
            lead_id=None,
            tokens=p.item.stored,
        )
        for p in schedule_plan.send
    ]


def _need_reason(why: str) -> None:
    if not why.strip():
        raise MktsyncError("--why needs a reason: say where the earlier sends are recorded")


def _read_export(
    path: Path, token_names: set[str]
) -> Iterable[tuple[int, str, str | None, dict[str, str]]]:
    """(line, key, sent_at, tokens given) per row of the export, checked."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MktsyncError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise MktsyncError(f"{path.name}: not UTF-8 text") from None
    if text:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header or "key" not in header:
            raise MktsyncError(f"{path.name}:1: the export needs a 'key' column")
        columns: dict[int, str] = {}
        for i, name in enumerate(header):
            if name in ("key", "sent_at"):
                continue
            try:
                token = normalise_token_name(name)
            except ValueError:
                raise MktsyncError(
                    f"{path.name}:1: column {name!r} is not key, sent_at or a My Token (my.Name)"
                ) from None
            if token not in token_names:
                raise MktsyncError(
                    f"{path.name}:1: column {name!r}: the campaign sends no token {token}"
                )
            columns[i] = token
        key_at = header.index("key")
        sent_at = header.index("sent_at") if "sent_at" in header else None
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise MktsyncError(
                    f"{path.name}:{line}: {len(cells)} cells, the header has {len(header)}"
                )
            key = cells[key_at].strip()
            if not key:
                raise MktsyncError(f"{path.name}:{line}: the key is empty")
            when = _sent_at(cells[sent_at], path.name, line) if sent_at is not None else None
            tokens = {columns[i]: cells[i] for i in columns if cells[i] != ""}
            yield line, key, when, tokens


def _sent_at(text: str, name: str, line: int) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MktsyncError(
            f"{name}:{line}: sent_at {one_line(repr(text))} is not an ISO 8601 date or time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # an export without offset: taken as UTC
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
