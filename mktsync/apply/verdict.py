"""The verdict of an apply run, decided once: its exit code, whether all is well, and the
parts of its last line.

>>> v = report.verdict                                   # doctest: +SKIP
>>> v.exit_code, v.ok, v.cause, v.problems               # doctest: +SKIP
(3, False, <Cause.SHORT: 'short'>, ((<Shortfall.FAILED: 'failed'>, 2),))

``ApplyReport.verdict`` (``apply.result``) counts; ``decide`` here judges.  The reporters
(``report.outcome``) put a verdict into words and never judge; the command line colours
the last line by ``Verdict.ok`` and never reads the words back.  Invariants:

- ``ok`` only when nothing planned was left unsent (``Cause.SENT`` or ``Cause.NOTHING``):
  then the exit code is 0.  A run may exit 0 and not be ok (an invalid row, a changed
  item not resent, a skipped missing lead): the last line names it, and is not green;
- every shortfall with a count shows in ``problems``, in ``Shortfall``'s order (the order
  the last line names them), and each says what it does to the exit code (``EXIT_OF``);
- the exit code is DESIGN.md's table: a stop by signal, then the quota (Marketo's 607, or
  the room ``quota_reserve`` leaves: both 4), then preflight, then incomplete (3), then
  held for review (5, ``apply --reviewed``), else 0.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mktsync.errors import EXIT_ERROR, EXIT_HELD, EXIT_INCOMPLETE, EXIT_OK, EXIT_QUOTA


class Shortfall(enum.Enum):
    """Something planned that this run did not send, in the order the last line names them.

    Trigger items count leads; ``RUNS_*`` count batch runs (``schedules:``).
    """

    FAILED = "failed"
    UNKNOWN = "unknown"  # the call left, no answer came back
    MISSING = "missing"  # leads Marketo does not know ('missing_leads: fail')
    MISSING_SKIPPED = "missing_skipped"  # the same with 'missing_leads: skip'
    INVALID = "invalid"  # rows that could not be rendered
    NOT_ATTEMPTED = "not_attempted"
    CHANGED = "changed"  # changed since sent, not resent (retrigger: never)
    DEFERRED = "deferred"  # another row writes the lead's fields first: the next run's
    HELD_UNKNOWN = "held_unknown"  # an earlier run's unknowns, not resent (``unsettled``)
    RUNS_FAILED = "runs_failed"
    RUNS_UNKNOWN = "runs_unknown"
    RUNS_NOT_ATTEMPTED = "runs_not_attempted"
    RUNS_CHANGED = "runs_changed"
    RUNS_ORPHANED = "runs_orphaned"  # still scheduled in Marketo for rows that are gone
    HELD = "held"  # held for review (apply --reviewed)
    RUNS_HELD = "runs_held"


# What each shortfall does to the exit code when nothing graver ended the run.  A missing
# lead skipped, an invalid row, a changed item, a row deferred to the next run, or a lead
# not attempted (only ever with a stop, the quota or preflight, which decide the code)
# leaves it at 0: the last line says so.
EXIT_OF: Mapping[Shortfall, int] = {
    Shortfall.FAILED: EXIT_INCOMPLETE,
    Shortfall.UNKNOWN: EXIT_INCOMPLETE,
    Shortfall.MISSING: EXIT_INCOMPLETE,
    Shortfall.MISSING_SKIPPED: EXIT_OK,
    Shortfall.INVALID: EXIT_OK,
    Shortfall.NOT_ATTEMPTED: EXIT_OK,
    Shortfall.CHANGED: EXIT_OK,
    Shortfall.DEFERRED: EXIT_OK,  # by design: the next run sends it (issue 22)
    Shortfall.HELD_UNKNOWN: EXIT_INCOMPLETE,  # an earlier run's unknowns are not settled
    Shortfall.RUNS_FAILED: EXIT_INCOMPLETE,
    Shortfall.RUNS_UNKNOWN: EXIT_INCOMPLETE,
    Shortfall.RUNS_NOT_ATTEMPTED: EXIT_INCOMPLETE,
    Shortfall.RUNS_CHANGED: EXIT_OK,
    Shortfall.RUNS_ORPHANED: EXIT_INCOMPLETE,  # an email nobody wants still goes out
    Shortfall.HELD: EXIT_HELD,
    Shortfall.RUNS_HELD: EXIT_HELD,
}


class Cause(enum.Enum):
    """How the run ended, as the last line opens."""

    STOPPED = "stopped"  # by a signal (``Verdict.stopped_by``)
    QUOTA = "quota"  # by Marketo's daily quota
    RESERVE = "reserve"  # at the quota's reserve for other API users (limits.quota_reserve)
    REFUSED = "refused"  # preflight refused campaigns (``Verdict.refused``)
    SHORT = "short"  # not everything was sent
    ORPHANED = "orphaned"  # everything was sent, but batch runs for gone rows are scheduled
    SENT = "sent"  # everything planned was sent
    NOTHING = "nothing"  # there was nothing to send


class Advice(enum.Enum):
    """What to do next: the last line's closing words (none when all is well, and none
    for ``Cause.ORPHANED``, whose line carries its own)."""

    RESUME = "resume"  # the next run sends the rest
    FIX_PREFLIGHT = "fix_preflight"
    CANCEL_ORPHANS = "cancel_orphans"
    STATUS = "status"  # see 'mktsync ledger status'
    SETTLE = "settle"
    CREATE_LEADS = "create_leads"
    FIX_ROWS = "fix_rows"
    REVIEW = "review"  # what was held goes out after the next review
    RETRIGGER = "retrigger"  # changed items: 'retrigger: on_change' or forget
    NEXT_RUN = "next_run"  # only skipped missing leads are left


@dataclass(frozen=True, kw_only=True)
class Sent:
    """What the run sent: leads in trigger calls, and batch runs scheduled."""

    leads: int = 0
    calls: int = 0
    runs: int = 0


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The run's verdict: read by the runner (the ledger's exit status), the reporters (the
    last line) and the command line (its exit code and colour)."""

    exit_code: int
    ok: bool  # all is well: everything planned was sent, or there was nothing to send
    cause: Cause
    sent: Sent
    problems: tuple[tuple[Shortfall, int], ...] = ()  # each with its count (> 0), in order
    advice: Advice | None = None
    stopped_by: str | None = None  # the signal, for Cause.STOPPED
    refused: int = 0  # campaigns and batch campaigns preflight refused

    def count(self, shortfall: Shortfall) -> int:
        return dict(self.problems).get(shortfall, 0)


def decide(
    *,
    sent: Sent,
    counts: Mapping[Shortfall, int],
    refused: int = 0,
    quota_stopped: bool = False,
    reserve_stopped: bool = False,
    stopped_by: str | None = None,
    stop_code: int = 0,
) -> Verdict:
    """The verdict of a run from what it sent and what it did not."""
    problems = tuple((s, counts[s]) for s in Shortfall if counts.get(s))
    shortfalls = {s for s, _ in problems}
    if stopped_by:
        cause, exit_code = Cause.STOPPED, stop_code
    elif quota_stopped:
        cause, exit_code = Cause.QUOTA, EXIT_QUOTA
    elif reserve_stopped:
        cause, exit_code = Cause.RESERVE, EXIT_QUOTA
    elif refused:
        cause, exit_code = Cause.REFUSED, EXIT_ERROR
    else:
        codes = {EXIT_OF[s] for s in shortfalls}
        exit_code = next((c for c in (EXIT_INCOMPLETE, EXIT_HELD) if c in codes), EXIT_OK)
        if shortfalls == {Shortfall.RUNS_ORPHANED}:
            cause = Cause.ORPHANED  # everything was sent, yet the run is not done
        elif shortfalls:
            cause = Cause.SHORT
        else:
            cause = Cause.SENT if sent.leads or sent.runs else Cause.NOTHING
    ok = cause in (Cause.SENT, Cause.NOTHING)
    advice = None if ok or cause is Cause.ORPHANED else _advice(cause, shortfalls)
    return Verdict(
        exit_code=exit_code,
        ok=ok,
        cause=cause,
        sent=sent,
        problems=problems,
        advice=advice,
        stopped_by=stopped_by if cause is Cause.STOPPED else None,
        refused=refused,
    )


def _advice(cause: Cause, shortfalls: set[Shortfall]) -> Advice:
    """The most pressing thing to do, first match wins."""
    s = Shortfall
    if cause in (Cause.STOPPED, Cause.QUOTA, Cause.RESERVE):
        return Advice.RESUME
    if cause is Cause.REFUSED:
        return Advice.FIX_PREFLIGHT
    if s.RUNS_ORPHANED in shortfalls:  # the most pressing: an email nobody wants goes out
        return Advice.CANCEL_ORPHANS
    if shortfalls & {s.FAILED, s.UNKNOWN, s.RUNS_FAILED, s.RUNS_UNKNOWN}:
        return Advice.STATUS
    if s.HELD_UNKNOWN in shortfalls:
        return Advice.SETTLE
    if s.MISSING in shortfalls:
        return Advice.CREATE_LEADS
    if s.INVALID in shortfalls:
        return Advice.FIX_ROWS
    if shortfalls & {s.HELD, s.RUNS_HELD}:
        return Advice.REVIEW
    if shortfalls & {s.CHANGED, s.RUNS_CHANGED}:
        return Advice.RETRIGGER
    return Advice.NEXT_RUN


# ``apply`` over several environments (issue 24): one exit code for the job, the worst of
# theirs.  A signal stopped every environment (one stop stops all), so it wins; then an
# error a person must fix (1); then the quota (4: the run is cut short by design, and the
# run after the reset also retries what failed); then failed or unknown items (3, which the
# next run still reports); then items held for review (5); 0 last.  docs/exit-codes.md.
SEVERITY = (EXIT_ERROR, EXIT_QUOTA, EXIT_INCOMPLETE, EXIT_HELD, EXIT_OK)


def worst(codes: Iterable[int]) -> int:
    """The exit code of a job that applied to several environments.

    >>> worst([0, 3, 4]), worst([5, 0]), worst([4, 1]), worst([1, 143]), worst([])
    (4, 5, 1, 143, 0)
    """
    found = list(codes)
    signals = [c for c in found if c > EXIT_HELD]  # 128 + the signal's number
    if signals:
        return max(signals)
    known = [c for c in found if c in SEVERITY]
    unknown = [c for c in found if c not in SEVERITY]  # 2 never comes from apply: an error
    return EXIT_ERROR if unknown else min(known, key=SEVERITY.index, default=EXIT_OK)
