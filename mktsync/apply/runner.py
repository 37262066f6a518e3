"""Carrying out a plan: exactly the calls it lists, each outcome written to the ledger.

>>> report = apply_config(config, ledger, client)                     # doctest: +SKIP
>>> report.exit_code                                                   # doctest: +SKIP
0

The outcome rule (DESIGN.md, "never twice, never lost"):

1. under the ledger's run lock (which turns the ``pending`` records of a dead run into
   ``unknown``), the plan is made -- or a saved plan is checked against the ledger;
2. as a call leaves -- it holds its limiter slot and goes out next, never while it waits
   for the rate window, a backoff or a token -- its items are committed as ``pending``
   (``apply.result.PendingMarks``); if Marketo refuses it unsent (606, 615, no connection)
   they are put back as they were before it is retried;
3. after Marketo's success they are ``sent`` with its requestId; after a definite refusal
   ``failed`` (tried again next run); when the request left but no answer came back,
   ``unknown`` (never resent unless asked).

A kill at any moment therefore leaves each item new, ``pending`` (read as unknown) only
if its call was on the wire, or settled.  607 (daily quota) stops new calls; what was sent
stays sent, the rest is left for the next run.  Before its first call a run reads today's
usage of the instance and holds itself to the room ``quota_reserve`` leaves the other API
users (``plan.quota``): when its preparation and a first send do not fit it sends nothing,
else no call past the room leaves (``marketo.CallBudget``); either way exit 4, the rest
waits for the next run.  So does a ``StopRequest`` (the CLI sets it
on SIGINT, SIGTERM or SIGHUP, and the client waits on it): no new call starts, a call
still waiting for its turn returns at once, *not attempted*, its items untouched; calls in
flight finish and are recorded, and the report says what was not attempted.

A lead Marketo does not know (email or id not found) is a *missing lead*: reported per
item with its source row, never marked in the ledger, so it is tried again next run.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from mktsync.apply.batch import run_schedules
from mktsync.apply.fields import check_saved_fields, field_refusals, needs_fields, write_fields
from mktsync.apply.resolve import Resolution, resolve_leads
from mktsync.apply.result import (
    ApplyReport,
    CampaignReport,
    MissingLead,
    PendingMarks,
    StopRequest,
)
from mktsync.config.model import Config
from mktsync.errors import (
    EXIT_ERROR,
    ForeignPlan,
    MarketoError,
    PreflightError,
    QuotaExceeded,
    StalePlan,
)
from mktsync.items import Item, Tokens
from mktsync.ledger import Ledger
from mktsync.marketo import CallBudget, MarketoClient, NotSent, OutcomeUnknown, Qualification
from mktsync.plan import Action, Call, CampaignPlan, Plan, check_budget, make_plan
from mktsync.plan.filecalls import FileCalls, ReviewedSet
from mktsync.plan.notes import deferred_words
from mktsync.plan.qualify import CampaignSeen, campaign_risk, load_seen, save_seen
from mktsync.plan.quota import QuotaRoom, needed_calls
from mktsync.plan.records import SpilledCalls

Outcome = Literal["sent", "failed", "unknown", "quota", "not_attempted"]
DEFERRALS_LISTED = 50  # deferred rows a campaign's report names (all are counted)
Event = Mapping[str, Any]


# How old a reviewed plan may be (``apply --reviewed --max-age DAYS``; docs/ci.md): a
# week covers a review over a weekend or a holiday, and bounds how long an approval of
# one day's rows (``when: row.day == today``) can be replayed.
REVIEWED_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class ApplyOptions:
    retry_unknown: bool = False
    fail_fast: bool = False
    lock_timeout: float = 30.0
    campaigns: tuple[str, ...] | None = None
    git_commit: str | None = None
    on_event: Callable[[Event], None] | None = None  # progress and per-call log lines
    # Where preflight records each campaign's qualification rule and call count, for
    # plan's warnings and estimate (qualify.campaign_info_path); None: not recorded.
    campaign_info: Path | None = None
    stop: StopRequest | None = None  # set (by a signal handler) to stop in order
    note: str | None = None  # kept in the run's row from its start (apply --new-ledger)
    now: datetime | None = None  # the instant to plan at (--now); default: the clock
    plan_name: str = "the saved plan"  # how refusals name a saved or reviewed plan (its file)
    reviewed_max_age: timedelta = REVIEWED_MAX_AGE  # apply --reviewed --max-age DAYS


def apply_config(
    config: Config,
    ledger: Ledger,
    client: MarketoClient,
    options: ApplyOptions | None = None,
    *,
    saved: Plan | None = None,
    reviewed: Plan | None = None,
) -> ApplyReport:
    """Plan under the run lock (or check ``saved`` against the ledger), then send it.

    ``reviewed`` (``apply --reviewed``): plan again at the reviewed plan's instant, and
    send only what it also sends; the rest due is held (``_held``), not marked."""
    options = options or ApplyOptions()
    with ledger.lock(command="apply", timeout=options.lock_timeout):
        if saved is not None:
            _check_saved(saved, config, ledger, name=options.plan_name)
            plan = saved
        else:
            hold = None
            if reviewed is not None:
                # Bound like a saved plan, but to the ledger's identity, not its state:
                # what moved since the review is what the matching is for.
                check_binding(reviewed, config, ledger, name=options.plan_name)
                _check_reviewed_instant(reviewed, options.plan_name, options.reviewed_max_age)
                hold = ReviewedSet.of(reviewed)
            try:
                plan = make_plan(
                    config,
                    ledger,
                    campaigns=options.campaigns,
                    retry_unknown=options.retry_unknown,
                    config_path=config.path.name,
                    preflight_calls={
                        cid: s.preflight_calls
                        for cid, s in load_seen(options.campaign_info).items()
                        if s.preflight_calls > 0
                    },
                    now=reviewed.now if reviewed is not None else options.now,
                    hold=hold,
                )
                if hold is not None:
                    plan = _held(plan, hold)
            finally:
                if hold is not None:
                    hold.close()
        check_budget(plan, config)
        run_id = ledger.start_run(
            command="apply",
            config_digest=config.digest,
            git_commit=options.git_commit,
            note=options.note,
        )
        report = ApplyReport(run_id=run_id, plan=plan, campaigns=[])
        status = EXIT_ERROR  # what the runs table says if something below raises
        runner: _Runner | None = None
        try:
            runner = _Runner(config, plan, ledger, client, options, run_id, report)
            runner.run()
            run_schedules(plan, ledger, client, run_id, report, stopping=runner.stopping,
                          fail_fast=options.fail_fast, emit=runner.emit)  # fmt: skip
            runner.blame_limiter()
            runner.note_reserve()  # before the verdict: a call kept home makes it exit 4
            status = report.exit_code
        except KeyboardInterrupt:
            report.interrupted = True
            status = 130
            raise
        finally:
            if runner is not None:
                runner.note_reserve()
            report.stats = _stats(client)
            ledger.finish_run(run_id, counts=report.counts(), exit_status=status)
    return report


def _check_saved(plan: Plan, config: Config, ledger: Ledger, *, name: str) -> None:
    """A saved plan applies where it was made (``check_binding``), to the config it was
    made from, and to the ledger as it was: nothing is rendered again, so its instant
    is replayed as it is."""
    check_binding(plan, config, ledger, name=name)
    if plan.config_digest != config.digest:
        raise StalePlan(
            f"{config.path.name} changed since the plan was made; run 'mktsync plan' again"
        )
    if plan.ledger_fingerprint != ledger.fingerprint():
        raise StalePlan(
            "the ledger changed since the plan was made (another apply ran?); "
            "run 'mktsync plan' again"
        )
    check_saved_fields(config, plan, name=name)


def check_binding(plan: Plan, config: Config, ledger: Ledger, *, name: str) -> None:
    """Refuse a saved or reviewed plan made for another environment, Marketo instance or
    ledger than this run's (issue 21), or one that does not say (an older plan file).

    The instance is compared with the one the ledger is bound to (``bound`` bound it to
    this run's before): a plan made without the base URL's variable is held to it through
    its ledger id.  A plan made before its ledger existed has no id to compare; a saved
    one then needs a ledger without records (its fingerprint, ``_check_saved``)."""
    from mktsync.ledger import instance_of

    bound = plan.binding
    if bound is None or plan.now is None:
        raise ForeignPlan(
            f"{name} does not say where and when it was made (environment, Marketo instance, "
            "ledger, instant): it was saved by an older mktsync, or edited; run 'mktsync "
            "plan --out' again"
        )
    here = instance_of(ledger)
    ident = ledger.identity()
    if (
        bound.environment != config.environment
        or (bound.instance and here and bound.instance.lower() != here.lower())
        or (bound.ledger_id is not None and bound.ledger_id != ident)
    ):
        made = place(bound.environment, bound.instance, bound.ledger_id, bound.ledger)
        run = place(config.environment, here, ident, ledger.name)
        raise ForeignPlan(
            f"{name} was made for {made}; this run is for {run}: apply it where it was "
            "made, or plan again"
        )


CLOCK_SKEW = timedelta(minutes=5)  # between the machine that planned and this one


def _check_reviewed_instant(reviewed: Plan, name: str, max_age: timedelta) -> None:
    """The reviewed plan's instant is replayed on purpose: a pull request planned before
    midnight and merged after sends what its reviewer saw.  But only within bounds:

    - an instant still ahead was not made by ``plan`` (or was pinned to the future), and
      its ``today`` would pick rows nobody reviewed as due now;
    - an instant older than ``max_age`` would replay a past day's rows for ever (an
      edited ``now``, an old artifact): plan and review again.
    """
    assert reviewed.now is not None  # check_binding refused a plan without one
    now = datetime.now(UTC)
    if reviewed.now > now + CLOCK_SKEW:
        raise ForeignPlan(
            f"{name} was made as of {reviewed.now.isoformat()}, which is still to come: a "
            "reviewed plan's instant is when it was reviewed; plan again without --now"
        )
    age = now - reviewed.now
    if age > max_age + CLOCK_SKEW:
        raise ForeignPlan(
            f"{name} was made as of {reviewed.now.isoformat()}, {_days(age)} ago; a reviewed "
            f"plan is replayed for {_days(max_age)} at most (--max-age): run the pull "
            "request's plan again and have it reviewed, or give --max-age DAYS"
        )


def _held_unknown(cp: CampaignPlan) -> int:
    """The unknown items of ``cp`` that ``--retry-unknown`` would send but ``--reviewed``
    holds: counted ``unknown`` (their outcome stays so), in no call."""
    if not cp.held:
        return 0
    unknown = {i.key for i in cp.unknown}
    return sum(1 for h in cp.held if h.item.key in unknown)


def _days(span: timedelta) -> str:
    days = span / timedelta(days=1)
    shown = f"{days:,.0f}" if days >= 10 or days == int(days) else f"{days:.1f}"
    return f"{shown} day{'s' * (shown != '1')}"


def place(environment: str | None, instance: str | None, ledger_id: str | None,
          ledger: str | None, *, opened: bool = True) -> str:  # fmt: skip
    """A plan's or a run's place for a refusal: ``environment 'sandbox' (instance
    123-abc-456.mktorest.com, ledger 3f2a9c1b7d0e at sqlite:///.mktsync/sandbox.db)``;
    ``opened=False``: a run whose ledger was not opened (its id is not known)."""
    env = f"environment '{environment}'" if environment else "no environment"
    where = f"instance {instance}" if instance else "instance not known"
    book = f"ledger {ledger_id[:12]}" if ledger_id else "no ledger yet"
    book = book if opened else "ledger"
    return f"{env} ({where}, {book}{f' at {ledger}' if ledger else ''})"


_HELD_WHY = {
    "new": "not in the reviewed plan",
    "differs": "differs from what the reviewer saw",
}


def _held(plan: Plan, reviewed: ReviewedSet) -> Plan:
    """The batch runs of ``plan`` the reviewed plan does not send as they are now: held
    (triggers were held while planning, ``make_plan(hold=...)``)."""
    held: list[str] = []
    schedules = []
    for sp in plan.schedules:
        kept = []
        for s in sp.send:
            reason = reviewed.run_reason(s.item.campaign_id, s.item.key, s.item.stored)
            if reason is None:
                kept.append(s)
            else:
                held.append(f"{sp.name}: {s.item.key} at {s.item.run_at}: {_HELD_WHY[reason]}")
        schedules.append(dataclasses.replace(sp, send=tuple(kept)))
    if not held:
        return plan
    summary = dataclasses.replace(
        plan.summary, schedule_calls=sum(sp.calls for sp in schedules), held_runs=len(held)
    )
    return dataclasses.replace(
        plan, schedules=tuple(schedules), summary=summary, held_runs=tuple(held)
    )


def _stats(client: Any) -> Mapping[str, Any]:
    stats = getattr(client, "stats", None)
    if stats is None or not dataclasses.is_dataclass(stats) or isinstance(stats, type):
        return {}
    return {**dataclasses.asdict(stats), "total_calls": getattr(stats, "total_calls", 0)}


class _Runner:
    def __init__(
        self,
        config: Config,
        plan: Plan,
        ledger: Ledger,
        client: MarketoClient,
        options: ApplyOptions,
        run_id: int,
        report: ApplyReport,
    ) -> None:
        self.config, self.plan, self.ledger, self.client = config, plan, ledger, client
        self.options, self.run_id, self.report = options, run_id, report
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.by_name = {
            cp.name: CampaignReport(
                name=cp.name,
                campaign_id=cp.campaign_id,
                changed=cp.counts.get(Action.CHANGED, 0),
                deferred=cp.counts.get(Action.DEFERRED, 0),
                deferrals=[
                    f"{d.item.key}: {deferred_words(d)}" for d in cp.deferred[:DEFERRALS_LISTED]
                ],
                missing_skip=cp.name in config.campaigns
                and config.campaigns[cp.name].missing_leads == "skip",
            )
            for cp in plan.campaigns
        }
        report.campaigns = list(self.by_name.values())
        report.invalid_rows = plan.summary.invalid  # rows, each once (issue 22)
        self.total_calls = sum(cp.trigger_calls for cp in plan.campaigns)
        self.done_calls = 0
        self.sendable_calls = self.total_calls  # less the refused campaigns' once known
        # (campaign id, key) -> Marketo's (code, message): lead fields not written, no trigger
        self.field_skips: dict[tuple[int, str], tuple[str, str]] = {}
        # (campaign id, key) -> why: another item of the run writes the lead's fields first
        # (issue 22); not triggered, not marked: the next run sends it.
        self.field_deferred: dict[tuple[int, str], str] = {}
        self.started = time.monotonic()
        self.limiter_lost: str | None = None  # why the shared limiter stopped sending
        self.budget: CallBudget | None = None  # the room today's quota leaves (issue 24)

    def stopping(self) -> bool:
        """No new call may start: the quota (or the room its reserve leaves) ran out, a
        call broke, a stop was requested, or the shared limiter lost its store
        (``marketo.shared_limits``: exit 1, never a private limiter instead)."""
        requested = self.options.stop is not None and self.options.stop.is_set()
        if requested and not self.report.stopped_by:
            stop = self.options.stop
            assert stop is not None
            self.report.stopped_by, self.report.stop_code = stop.reason or "stop", stop.exit_code
            self.emit("stopping", reason=self.report.stopped_by)
        lost = self.client.limiter.lost
        if lost is not None and self.limiter_lost is None:
            self.limiter_lost = lost
            self.emit("stopping", reason=lost)
        spent = self.report.reserve_stopped or (self.budget is not None and self.budget.reached)
        return self.stop.is_set() or requested or spent or lost is not None

    def blame_limiter(self) -> None:
        """When the shared limiter was lost and something was left unsent for it, the run
        was stopped by it: exit 1, the last line says why.  (Lost only as the last call
        gave back its slot, with everything sent, the run is judged as it went.)"""
        self.stopping()
        left = sum(c.calls_not_attempted for c in self.report.campaigns) + sum(
            s.not_attempted for s in self.report.schedules
        )
        if self.limiter_lost and left and not self.report.stopped_by:
            self.report.stopped_by, self.report.stop_code = self.limiter_lost, EXIT_ERROR

    def note_reserve(self) -> None:
        """A call was kept home for the reserve (``CallBudget.reached``): the room is spent."""
        if self.budget is not None and self.budget.reached:
            self.report.reserve_stopped = True

    def emit(self, event: str, **fields: Any) -> None:
        if self.options.on_event:
            self.options.on_event({"event": event, **fields})

    def run(self) -> None:
        for cp in self.plan.campaigns:
            self.by_name[cp.name].invalid += len(cp.invalid)
        if self.stopping():  # asked to stop while the plan was made: call nothing
            for cp in self.plan.campaigns:
                for call in cp.calls:
                    self._not_attempted(cp.name, call)
            return
        try:
            if not self._hold_to_quota():
                return
            skipped = self._preflight()
            sendable = [cp for cp in self.plan.campaigns if cp.campaign_id not in skipped]
            # Streamed from the plan's spill (issue 16): apply does not list every item.
            items = (p.item for cp in sendable for call in cp.calls for p in call.items)
            creators = frozenset(n for n, c in self.config.campaigns.items() if c.create_missing)
            resolution = (
                resolve_leads(items, self.client, self.ledger, create_missing=creators)
                if any(cp.calls for cp in sendable)
                else Resolution()
            )
        except QuotaExceeded:
            # The quota ran out before any trigger: nothing was sent, all stays for next run.
            self.report.quota_stopped = True
            for cp in self.plan.campaigns:
                for call in cp.calls:
                    self._not_attempted(cp.name, call)
            self.emit("quota", phase="preflight and lead lookups")
            return
        except NotSent:
            # A stop came while preflight or a lookup waited for its turn: trigger nothing.
            self._none_attempted()
            return
        self.report.created_leads = resolution.created
        jobs = ((cp.name, call) for cp in sendable for call in cp.calls)
        if self.stopping():  # asked to stop during preflight or lookups: send nothing
            for name, call in jobs:
                self._not_attempted(name, call)
            self.report.seconds = time.monotonic() - self.started
            return
        if any(self.config.campaigns[cp.name].fields for cp in sendable if cp.calls):
            # Lead fields first (issue 15), 300 leads a call; see mktsync.apply.fields.
            field_items = (
                p.item
                for cp in sendable
                if self.config.campaigns[cp.name].fields
                for call in cp.calls
                for p in call.items
            )
            try:
                fields = write_fields(self.config, field_items, resolution, self.client)
            except NotSent:  # a stop came while a field write waited: trigger nothing
                self._none_attempted()
                return
            self.field_skips, self.field_deferred = dict(fields.skipped), dict(fields.deferred)
            self.emit("fields", written=fields.written, skipped=len(self.field_skips))
            jobs = ((cp.name, call) for cp in sendable for call in cp.calls)
        calls = sum(len(cp.calls) for cp in sendable)
        # The leads the calls carry, from the counts (not by reading every call): new and
        # changed items, and unknown ones when they are retried.
        retried = (Action.UNKNOWN,) if self.plan.retry_unknown else ()
        sent = (Action.TRIGGER, Action.RETRIGGER, *retried)
        leads = sum(cp.counts.get(k, 0) for cp in sendable for k in sent)
        if self.plan.retry_unknown:  # a held unknown item stays counted unknown, unsent
            leads -= sum(_held_unknown(cp) for cp in sendable)
        self.sendable_calls = calls
        self.emit("start", calls=calls, leads=leads, eta=self._eta(), wait=self._wait())
        self._send_all(jobs, resolution)
        self.report.seconds = time.monotonic() - self.started
        self.emit("finish", **self.report.counts())

    def _hold_to_quota(self) -> bool:
        """Read today's usage and hold the run to the room the reserve leaves (``plan.quota``).

        False when the run's preparation and a first send do not fit: then nothing is
        called and every call is *not attempted*.  Otherwise every later call takes one of
        the room as it leaves (``MarketoClient.limit_calls``), and the first one past it is
        kept home.  With shared limits the room is the one the runs on the instance share
        (``marketo.shared_limits``).  A run with no call to make reads nothing.
        """
        summary = self.plan.summary
        if not summary.usage_calls:
            return True
        usage = self.client.daily_usage()
        room = QuotaRoom.of(self.config.marketo.limits, usage)
        # With shared limits the room is every run's on the instance (issue 24): the
        # store's, lowered to this read's, and each call takes a unit of it with its slot.
        budget = self.client.limit_calls(room.room, day=usage.date)
        if budget.shared:
            room = dataclasses.replace(room, shared=True, held=room.room - budget.allowed)
        self.report.quota = room
        fit = room.fit(summary)
        self.emit("usage", used=room.used, reserve=room.reserve, room=room.room,
                  needed=needed_calls(summary), fit=fit)  # fmt: skip
        if fit == "none":
            self.report.reserve_stopped = True
            for cp in self.plan.campaigns:
                for call in cp.calls:
                    self._not_attempted(cp.name, call)
            self.report.seconds = time.monotonic() - self.started
            return False
        self.budget = budget
        return True

    def _preflight(self) -> set[int]:
        tokens: dict[int, set[str]] = {}
        for cp in self.plan.campaigns:
            if cp.calls:
                names = tokens.setdefault(cp.campaign_id, set())
                names.update(n for tokens in _token_sets(cp) for n, _ in tokens)
        skipped: set[int] = set()
        seen: list[CampaignSeen] = []
        try:
            self._check_campaigns(tokens, skipped, seen)
        finally:
            save_seen(self.options.campaign_info, seen)
        if needs_fields(self.config, self.plan):  # one describe call per run (issue 15)
            refusals = field_refusals(self.config, self.plan, self.client.describe_lead_fields())
            for campaign_id, reason in refusals.items():
                if campaign_id not in skipped:
                    self._refuse(campaign_id, reason, skipped)
        return skipped

    def _check_campaigns(
        self, tokens: dict[int, set[str]], skipped: set[int], seen: list[CampaignSeen]
    ) -> None:
        for campaign_id, names in tokens.items():
            result = self.client.preflight(campaign_id, sorted(names))
            q = result.qualification
            seen.append(
                CampaignSeen(
                    campaign_id=campaign_id,
                    rule=q.rule if q else None,
                    interval=q.interval if q else None,
                    unit=q.unit if q else None,
                    preflight_calls=result.calls,
                )
            )
            reasons = list(result.reasons) + self._qualification_refusals(campaign_id, q)
            if not reasons:
                continue
            self._refuse(campaign_id, "; ".join(reasons), skipped)

    def _refuse(self, campaign_id: int, reason: str, skipped: set[int]) -> None:
        if self.options.fail_fast:
            raise PreflightError(f"preflight refused campaign {campaign_id}: {reason}")
        skipped.add(campaign_id)
        for cp in self.plan.campaigns:
            if cp.campaign_id == campaign_id:
                rep = self.by_name[cp.name]
                rep.skipped = reason
                rep.calls_not_attempted += cp.trigger_calls
                rep.leads_not_attempted += sum(len(c.items) for c in cp.calls)
        self.emit("preflight_failed", campaign_id=campaign_id, reason=reason)

    def _qualification_refusals(self, campaign_id: int, q: Qualification | None) -> list[str]:
        """A ``once`` campaign would skip re-sent leads while answering success: refuse,
        unless the entry says ``expect_skips: true`` (qualify.py)."""
        if q is None:
            return []
        refusals = []
        for cp in self.plan.campaigns:
            if cp.campaign_id == campaign_id:
                risk = campaign_risk(self.config, cp, q.rule, q.describe())
                if risk is not None and risk.blocking:
                    refusals.append(risk.message())
        return refusals

    def _send_all(self, jobs: Iterator[tuple[str, Call]], resolution: Resolution) -> None:
        workers = max(1, self.config.marketo.limits.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trigger") as pool:
            pending: set[Future[None]] = set()
            # Calls are taken from the plan as workers free up, never listed all at once.
            queue = _Peekable(jobs)
            try:
                while queue or pending:
                    while queue and len(pending) < workers and not self.stopping():
                        name, call = queue.pop()
                        pending.add(pool.submit(self._send, name, call, resolution))
                    if self.stopping():
                        for name, call in queue:
                            self._not_attempted(name, call)
                    if pending:
                        # A short timeout: a stop request is noticed within a fifth of a second.
                        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()  # a bug in _send must not pass silently
            except BaseException:
                # ^C or a bug: start nothing new, let calls in flight finish and be recorded.
                self.stop.set()
                for name, call in queue:
                    self._not_attempted(name, call)
                wait(pending)
                raise

    def _none_attempted(self) -> None:
        """Stopped before the first trigger: every call of a campaign not refused waits."""
        self.stopping()  # the report says who stopped the run
        for cp in self.plan.campaigns:
            if not self.by_name[cp.name].skipped:
                for call in cp.calls:
                    self._not_attempted(cp.name, call)
        self.report.seconds = time.monotonic() - self.started

    def _not_attempted(self, name: str, call: Call) -> None:
        with self.lock:
            rep = self.by_name[name]
            rep.calls_not_attempted += 1
            rep.leads_not_attempted += len(call.items)

    def _send(self, name: str, call: Call, resolution: Resolution) -> None:
        if self.stopping():
            self._not_attempted(name, call)
            return
        rep = self.by_name[name]
        items: list[Item] = []
        lead_ids: dict[str, int] = {}
        # One query of the ledger's lead cache for the call's leads (mktsync.apply.resolve).
        found = resolution.lead_ids([p.item for p in call.items])
        for planned, lead_id in zip(call.items, found, strict=True):
            if lead_id is None:
                item = planned.item
                missing = MissingLead(
                    key=item.key,
                    lead=item.lead,
                    source=item.source,
                    row=item.row,
                    reason=resolution.reason(item),
                )
                with self.lock:
                    rep.missing.append(missing)
                continue
            items.append(planned.item)  # the ledger records ``item.recorded``
            lead_ids[planned.item.key] = lead_id
        if not items:  # every lead of the call is missing: no call, but count it as done
            with self.lock:
                self.done_calls += 1
            self.emit("call", campaign=name, campaign_id=call.campaign_id, leads=0,
                      outcome="no_leads", done=self.done_calls, total=self.total_calls,
                      elapsed=time.monotonic() - self.started, eta=self._eta(),
                      wait=self._wait())  # fmt: skip
            return
        if self.field_deferred:
            items = self._deferred(items)
            if not items:  # every lead of the call waits for the next run: no trigger
                with self.lock:
                    self.done_calls += 1
                return
        if self.field_skips:
            items = self._fields_failed(rep, call, items, lead_ids)
            if not items:  # no lead of the call had its fields written: no trigger
                with self.lock:
                    self.done_calls += 1
                return
        # Two keys may name one lead (say two rows of one person): trigger it once.
        unique_ids = list(dict.fromkeys(lead_ids[i.key] for i in items))
        keys = [i.key for i in items]
        # Pending only once the call leaves, never while it waits for its turn.
        marks = PendingMarks(
            self.ledger, self.run_id, call.campaign_id, items,
            lead_ids=lead_ids, stopping=self.stopping,
        )  # fmt: skip
        outcome: Outcome
        detail: dict[str, Any] = {}
        try:
            result = self.client.trigger_campaign(
                call.campaign_id, unique_ids, list(call.tokens), sending=marks
            )
        except NotSent:
            # Stopped while it waited (or Marketo refused every attempt unsent): its items
            # are as they were before this run; the next run sends them.
            with self.lock:
                rep.calls_not_attempted += 1
                rep.leads_not_attempted += len(items)
            return
        except QuotaExceeded as exc:
            # 607 means the request was not carried out: the items may go next run.
            marks.mark()
            self.ledger.mark_failed(
                self.run_id, call.campaign_id, keys, code=exc.code, message=exc.message
            )
            self.stop.set()
            outcome, detail = "quota", {"code": exc.code}
        except OutcomeUnknown as exc:
            self.ledger.mark_unknown(self.run_id, call.campaign_id, keys, reason=exc.message)
            outcome, detail = "unknown", {"reason": exc.message}
        except MarketoError as exc:
            marks.mark()  # a refusal retried until the end put them back: record it on them
            self.ledger.mark_failed(
                self.run_id,
                call.campaign_id,
                keys,
                code=getattr(exc, "code", None),
                message=getattr(exc, "message", str(exc)),
            )
            outcome, detail = (
                "failed",
                {"code": getattr(exc, "code", None), "message": getattr(exc, "message", str(exc))},
            )
        else:
            self.ledger.mark_sent(self.run_id, call.campaign_id, keys, request_id=result.request_id)
            outcome, detail = "sent", {"request_id": result.request_id}
        self._record(rep, outcome, len(items), detail)
        self.emit(
            "call",
            campaign=name,
            campaign_id=call.campaign_id,
            leads=len(unique_ids),
            outcome=outcome,
            done=self.done_calls,
            total=self.total_calls,
            elapsed=time.monotonic() - self.started,
            eta=self._eta(),
            wait=self._wait(),
            **detail,
        )

    def _eta(self) -> float:
        """Seconds the calls not yet done will take: the limiter's window as it stands (the
        instance's, for a shared limiter) and the calls' measured latency, in the plan's
        time model (``Limits.seconds_for``)."""
        left = max(0, self.sendable_calls - self.done_calls)  # refused campaigns' never go
        return round(self.client.limiter.seconds_for(left), 1)

    def _wait(self) -> float:
        """Seconds until the rate window lets the next call go (0: it may go now): the
        progress line says the run is waiting for it, and counts down."""
        return round(self.client.limiter.window_wait(), 1)

    def _deferred(self, items: list[Item]) -> list[Item]:
        """Items apply found writing a lead's fields after another of the run (issue 22:
        the plan could not see they name one lead): not triggered, not marked."""
        later = [i for i in items if (i.campaign_id, i.key) in self.field_deferred]
        if not later:
            return items
        with self.lock:
            for item in later:
                rep = self.by_name[item.campaign]  # a shared call lists others' items too
                rep.deferred += 1
                rep.deferrals.append(self.field_deferred[(item.campaign_id, item.key)])
        return [i for i in items if (i.campaign_id, i.key) not in self.field_deferred]

    def _fields_failed(
        self, rep: CampaignReport, call: Call, items: list[Item], lead_ids: dict[str, int]
    ) -> list[Item]:
        """Items whose lead fields Marketo skipped fail with its reason, untriggered."""
        bad = [i for i in items if (i.campaign_id, i.key) in self.field_skips]
        if not bad:
            return items
        self.ledger.mark_pending(self.run_id, bad, lead_ids=lead_ids)
        # One write per distinct reason (a refused leads.json call gives all one), not per lead.
        by_reason: dict[tuple[str, str], list[str]] = {}
        for item in bad:
            code, message = self.field_skips[(item.campaign_id, item.key)]
            text = f"lead field not written: {message}"
            by_reason.setdefault((code, text), []).append(item.key)
            with self.lock:
                rep.leads_failed += 1
                shown = f"{code}: {text}" if code else text
                rep.failures.append(f"{shown} (row {item.row} of {item.source})")
        for (code, text), keys in by_reason.items():
            self.ledger.mark_failed(
                self.run_id, call.campaign_id, keys, code=code or None, message=text
            )
        return [i for i in items if (i.campaign_id, i.key) not in self.field_skips]

    def _record(
        self, rep: CampaignReport, outcome: Outcome, leads: int, detail: Mapping[str, Any]
    ) -> None:
        with self.lock:
            self.done_calls += 1
            if outcome == "sent":
                rep.calls_sent += 1
                rep.leads_triggered += leads
            elif outcome == "unknown":
                rep.calls_unknown += 1
                rep.leads_unknown += leads
                rep.failures.append(f"outcome unknown: {detail.get('reason')}")
            else:
                rep.calls_failed += 1
                rep.leads_failed += leads
                rep.failures.append(
                    f"{detail.get('code')}: {detail.get('message', 'daily quota reached')}"
                )
                if outcome == "quota":
                    self.report.quota_stopped = True


def _token_sets(cp: CampaignPlan) -> Iterator[Tokens]:
    """Each call's token set; a spilled or saved plan's without decoding its leads."""
    if isinstance(cp.calls, SpilledCalls):
        return (tokens for tokens, _ in cp.calls.iter_lines())
    if isinstance(cp.calls, FileCalls):  # a saved plan's, read from its file
        return cp.calls.iter_tokens()
    return (call.tokens for call in cp.calls)


class _Peekable:
    """An iterator that can say whether anything is left (``while queue``) and be emptied."""

    def __init__(self, items: Iterator[tuple[str, Call]]) -> None:
        self._items = items
        self._next: tuple[str, Call] | None = next(items, None)

    def __bool__(self) -> bool:
        return self._next is not None

    def pop(self) -> tuple[str, Call]:
        item = self._next
        assert item is not None
        self._next = next(self._items, None)
        return item

    def __iter__(self) -> Iterator[tuple[str, Call]]:
        while self:
            yield self.pop()
