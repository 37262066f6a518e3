"""Adopting mktsync: record what was sent before it, without calling Marketo.

>>> result = record_only(config, ledger, why="sent by hand before mktsync")  # doctest: +SKIP
>>> result = import_sent(config, ledger, "webinar-reminder", Path("sent.csv"),
...                      why="export of the old script's log")              # doctest: +SKIP

Two ways to take a baseline (docs/ledger.md, "Adopting mktsync"):

- ``record_only`` makes the plan ``apply`` would make (under the run lock) and records
  every item it would send as ``sent``, with the reason in the run's note, the run id on
  each record and who ran it.  No credentials, no Marketo call.
- ``import_sent`` reads an export of earlier sends (a ``key`` column, optional
  ``sent_at`` and My Token columns; or the ledger's own CSV export) for one campaign.
  **The rule for keys:** the campaign is rendered against its own source as ``plan``
  would render it, and only the keys it produces are accepted -- a key the template
  could never produce (a typo, the wrong campaign, another key format) could never match
  a plan, so recording it would be silent noise.  One impossible key refuses the whole
  file; nothing is written.  Token columns (``my.Name``) record the values really sent,
  so a later plan shows the difference; without them the values the config renders now
  are recorded.

An import streams, whatever its size (a million rows peak under 150 MB,
benchmarks/bench_import.py): ``ledger.importfile.SentFile`` checks each row and keeps
the rows in a temporary SQLite database; the campaign is rendered row by row and each
batch of rendered keys is looked up there (``_match``), the records to write going
back to disk; the keys of the file never found are then counted with one query.  Only
then is the ledger opened and locked (``check_import`` touches no ledger: a refused
file never creates one), and the records are written in one transaction
(``record_sent``): a kill at any moment leaves none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Self

from mktsync.apply.fields import check_saved_fields
from mktsync.config.model import Campaign, Config
from mktsync.errors import MktsyncError, PlanError, one_line
from mktsync.items import Item, Tokens, recorded_tokens
from mktsync.ledger import Ledger, SentRecord, record_sent
from mktsync.ledger.importfile import PROGRESS_EVERY, SentFile
from mktsync.plan import Plan, make_plan

SHOWN = 20  # refused keys named in an error before "... and N more"
_BATCH = 500  # rendered items looked up in the import file at once
_BATCH_CHARS = 4 << 20  # ... or fewer, when their tokens reach 4 MB of text


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
        if saved is not None:
            check_saved_fields(config, saved, name="the saved plan")
        plan = saved or make_plan(
            config, ledger, campaigns=campaigns, retry_unknown=retry_unknown, now=now
        )
        records = [
            _record(p.item, p.item.recorded, None)  # its written fields too (issue 15)
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


@dataclass(frozen=True, kw_only=True)
class ImportProgress:
    """How far ``ledger import`` is, for a progress line.

    ``phase``: ``read`` (``done`` rows of the file read), ``check`` (``done`` rows of the
    campaign's source rendered, ``matched`` keys of the file found among them) or
    ``record`` (``done`` of ``total`` records written to the ledger).
    """

    phase: Literal["read", "check", "record"]
    done: int
    total: int | None = None
    matched: int = 0


@dataclass(frozen=True, kw_only=True)
class ImportResult(BaselineResult):
    """What ``ledger import`` read and recorded (``offered``: the distinct keys)."""

    rows: int  # data rows of the file
    rendered: int  # rows of the campaign's source rendered to check the keys
    skipped: Mapping[str, int]  # the ledger's own export: records not 'sent', by status


def import_sent(
    config: Config,
    ledger: Ledger,
    campaign: str,
    path: Path,
    *,
    why: str,
    who: str | None = None,
    lock_timeout: float = 30.0,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportResult:
    """Record the sends listed in ``path`` (CSV) for ``campaign`` (see the module docstring)."""
    with check_import(config, campaign, path, why=why, progress=progress) as checked:
        return checked.record(ledger, who=who, lock_timeout=lock_timeout)


def check_import(
    config: Config,
    campaign: str,
    path: Path,
    *,
    why: str,
    progress: Callable[[ImportProgress], None] | None = None,
) -> CheckedImport:
    """Read ``path`` and check every key against the campaign's rendering, touching no ledger.

    Raises ``MktsyncError`` for a bad file and ``ImpossibleKeys`` for keys the campaign
    never produces; use the result in a ``with`` block (it holds a temporary database).
    """
    _need_reason(why)
    if campaign not in config.campaigns:
        raise MktsyncError(f"no campaign named {campaign!r} in {config.path.name}")
    spec = config.campaigns[campaign]

    def read(rows: int) -> None:
        if progress is not None:
            progress(ImportProgress(phase="read", done=rows))

    sends = SentFile(path, spec, max_value_bytes=config.max_value_bytes, progress=read)
    try:
        rendered = _match(config, spec, sends, progress)
        count, first = sends.refused(SHOWN)
        if count:
            raise ImpossibleKeys(_refusal(path, spec, count, first))
    except BaseException:
        sends.close()
        raise
    return CheckedImport(
        sends=sends, why=why, rendered=rendered, digest=config.digest, progress=progress
    )


class CheckedImport:
    """An import file read and checked, waiting in a temporary database to be recorded.

    >>> with check_import(config, "webinar-reminder", Path("sent.csv"), why="old log") as checked:
    ...     with open_ledger(url, base_dir) as ledger:                   # doctest: +SKIP
    ...         result = checked.record(ledger, who="ann@example.com")
    """

    def __init__(
        self,
        *,
        sends: SentFile,
        why: str,
        rendered: int,
        digest: str,
        progress: Callable[[ImportProgress], None] | None = None,
    ) -> None:
        self._sends, self._why, self._digest, self._progress = sends, why, digest, progress
        self.campaign = sends.campaign
        self.rows = sends.rows  # data rows of the file
        self.rendered = rendered  # rows of the campaign's source rendered
        self.skipped = dict(sends.skipped)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sends.close()

    def record(
        self,
        ledger: Ledger,
        *,
        who: str | None = None,
        lock_timeout: float = 30.0,
    ) -> ImportResult:
        """Write every accepted key as ``sent`` under one run, in one transaction."""
        total = self._sends.accepted_count()
        progress = self._progress

        def recorded(done: int) -> None:
            if progress is not None:
                progress(ImportProgress(phase="record", done=done, total=total))

        with ledger.lock(command="ledger import", timeout=lock_timeout):
            run_id = ledger.start_run(
                command=f"ledger import {self.campaign.name}", config_digest=self._digest, who=who
            )
            written = record_sent(
                ledger, run_id, self._sends.accepted(), why=self._why, progress=recorded
            )
            ledger.finish_run(
                run_id, counts={"recorded": written}, exit_status=0, note=f"import: {self._why}"
            )
        return ImportResult(
            run_id=run_id,
            written=written,
            offered=total,
            rows=self.rows,
            rendered=self.rendered,
            skipped=self.skipped,
        )


def _match(
    config: Config,
    spec: Campaign,
    sends: SentFile,
    progress: Callable[[ImportProgress], None] | None,
) -> int:
    """Render the campaign's source and accept each key of the file it produces; return
    how many rows were rendered.  The first row with a key wins, as in ``plan``.

    Neither side is held: the rendered items go by in batches, each batch's keys are
    looked up in the file's table, and the records to write go back to disk.
    """
    from mktsync.render import iter_items

    rendered = matched = held = 0
    batch: list[Item] = []

    def flush() -> None:
        nonlocal matched, held
        found = sends.first_rows(list({item.key for item in batch}))
        records = []
        for item in batch:
            first = found.pop(item.key, None)  # popped: a later row with the key loses
            if first is None:
                continue
            sent_at, given = first
            records.append(_record(item, _recorded_tokens(item, given), sent_at))
        sends.accept(records)
        matched += len(records)
        batch.clear()
        held = 0

    # No duplicate-key index: the file's table decides which row is first (memory flat).
    for result in iter_items(config, spec, keys=_every_key):
        rendered += 1
        if isinstance(result, Item):
            batch.append(result)
            held += sum(len(v) for _, v in result.tokens)
            if len(batch) >= _BATCH or held >= _BATCH_CHARS:  # per-lead HTML: a few MB
                flush()
        if progress is not None and rendered % PROGRESS_EVERY == 0:
            progress(ImportProgress(phase="check", done=rendered, matched=matched))
    flush()
    if progress is not None:
        progress(ImportProgress(phase="check", done=rendered, matched=matched))
    return rendered


def _every_key(key: str, row: int) -> str | None:
    return None  # a render.keys.KeyCheck that holds nothing: every key counts as new


def _recorded_tokens(item: Item, given: Mapping[str, str]) -> Tokens:
    """What the ledger records for an imported key (``Item.recorded``) with the values the
    file says were sent (My Tokens; lead fields from the ledger's own export) in place of
    those rendered now."""
    if not given:
        return item.recorded
    tokens = item.tokens
    mine = {n: v for n, v in given.items() if not n.startswith("lead.")}
    if mine:
        tokens = tuple(sorted({**dict(tokens), **mine}.items()))
    recorded = recorded_tokens(tokens, item.synced)  # the lead fields written, lead.<name>
    if item.synced and len(mine) < len(given):
        recorded = tuple((n, given.get(n, v)) for n, v in recorded)
    return recorded


def _refusal(path: Path, spec: Campaign, count: int, first: list[tuple[int, str]]) -> str:
    lines = [
        f"{path.name}: {count} key(s) that campaign '{spec.name}' never produces "
        f"from source '{spec.source}' (its key template is "
        f"{one_line(repr(spec.key.text if spec.key else 'the lead'))}); nothing was recorded",
        *(f"  line {n}: {one_line(repr(k))}" for n, k in first),
    ]
    if count > len(first):
        lines.append(f"  ... and {count - len(first)} more")
    return "\n".join(lines)


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
    from mktsync.plan.batch import SchedulePlan

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
