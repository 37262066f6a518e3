"""Carrying out the batch part of a plan: each run scheduled once, its outcome ledgered.

>>> run_schedules(plan, ledger, client, run_id, report, stopping=lambda: False)  # doctest: +SKIP

Runs the plan found ``⊘ orphaned`` (still scheduled in Marketo for rows that are gone)
are not called for -- Marketo's REST API cannot unschedule -- but reported: the report
lists them and the run exits 3 (docs/exit-codes.md#orphaned-batch-runs).

The trigger rule holds (mktsync.apply): a run is ``pending`` as its call leaves (not while
it waits for its turn: ``apply.result.PendingMarks``), ``sent`` after Marketo's success,
``failed`` on a definite refusal, ``unknown`` when the answer was lost -- never blindly
resent, since a second call would schedule a second run.  Preflight
first checks each batch campaign (exists, is a batch campaign, has the tokens, on its
program or a folder above); a refused campaign's runs are not attempted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mktsync.apply.result import ApplyReport, PendingMarks, ScheduleReport
from mktsync.errors import MarketoError, PreflightError, QuotaExceeded
from mktsync.items import Item
from mktsync.ledger import Ledger
from mktsync.marketo import NotSent, OutcomeUnknown
from mktsync.plan import Plan
from mktsync.plan.batch import LEAD, PlannedSchedule


def run_schedules(
    plan: Plan,
    ledger: Ledger,
    client: Any,
    run_id: int,
    report: ApplyReport,
    *,
    stopping: Callable[[], bool],
    fail_fast: bool = False,
    emit: Callable[..., None] | None = None,
) -> None:
    for sp in plan.schedules:
        rep = ScheduleReport(name=sp.name, campaign_id=sp.campaign_id, changed=len(sp.changed))
        report.schedules.append(rep)
        # Nothing to call for these (REST cannot unschedule): they are reported, loudly.
        for o in sp.orphaned:
            rep.orphaned.append(f"{o.key} at {o.run_at or 'an unrecorded time'}")
            if emit:
                emit("orphaned", schedule=sp.name, campaign_id=sp.campaign_id, key=o.key,
                     run_at=o.run_at)  # fmt: skip
        if not sp.send:
            continue
        if stopping() or report.quota_stopped:
            rep.not_attempted += len(sp.send)
            continue
        names = sorted({n for p in sp.send for n, _ in p.item.tokens})
        try:
            reasons = client.preflight_batch(sp.campaign_id, names)
        except QuotaExceeded:
            report.quota_stopped = True
            rep.not_attempted += len(sp.send)
            continue
        except NotSent:  # stopped while preflight waited for its turn
            rep.not_attempted += len(sp.send)
            continue
        if reasons:
            reason = "; ".join(reasons)
            if fail_fast:
                raise PreflightError(f"preflight refused campaign {sp.campaign_id}: {reason}")
            rep.skipped, rep.not_attempted = reason, len(sp.send)
            if emit:
                emit("preflight_failed", campaign_id=sp.campaign_id, reason=reason)
            continue
        for planned in sp.send:
            if stopping() or report.quota_stopped:
                rep.not_attempted += 1
                continue
            _schedule_one(planned, ledger, client, run_id, report, rep, stopping)
            if emit:
                emit("schedule", schedule=sp.name, campaign_id=sp.campaign_id,
                     key=planned.item.key, run_at=planned.item.run_at)  # fmt: skip


def _schedule_one(
    planned: PlannedSchedule,
    ledger: Ledger,
    client: Any,
    run_id: int,
    report: ApplyReport,
    rep: ScheduleReport,
    stopping: Callable[[], bool],
) -> None:
    s = planned.item
    what = f"{s.key} at {s.run_at}"
    # The ledger's record of a run: lead 'batch', the token set with runAt and clone name.
    record = Item(
        campaign=s.schedule,
        campaign_id=s.campaign_id,
        key=s.key,
        lead_id=None,
        email=LEAD,
        tokens=s.stored,
        source=s.source or "",
        row=s.row or 0,
    )
    marks = PendingMarks(ledger, run_id, s.campaign_id, [record], stopping=stopping)
    try:
        result = client.schedule_campaign(
            s.campaign_id, s.run_at, list(s.tokens), s.clone_to_program, sending=marks
        )
    except NotSent:  # stopped while it waited for its turn: nothing scheduled, nothing marked
        rep.not_attempted += 1
        return
    except QuotaExceeded as exc:
        marks.mark()
        ledger.mark_failed(run_id, s.campaign_id, [s.key], code=exc.code, message=exc.message)
        report.quota_stopped = True
        rep.failed.append(f"{what}: {exc.code}: daily quota reached")
    except OutcomeUnknown as exc:
        ledger.mark_unknown(run_id, s.campaign_id, [s.key], reason=exc.message)
        rep.unknown.append(f"{what}: outcome unknown: {exc.message}")
    except MarketoError as exc:
        marks.mark()  # a refusal retried until the end put it back: record it
        code, message = getattr(exc, "code", None), getattr(exc, "message", str(exc))
        ledger.mark_failed(run_id, s.campaign_id, [s.key], code=code, message=message)
        rep.failed.append(f"{what}: {code}: {message}")
    else:
        ledger.mark_sent(run_id, s.campaign_id, [s.key], request_id=result.request_id)
        rep.scheduled.append(what)
