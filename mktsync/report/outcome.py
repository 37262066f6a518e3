"""The account of an apply run: per campaign what became of each item, and one last line.

The last line is the run's verdict (``ApplyReport.verdict``, decided in ``apply.verdict``)
put into words: how the run ended, what was sent, every shortfall, and what to do next.
This module writes it and judges nothing, so "Everything planned was sent" is printed
only when the verdict says all is well.  ``render_apply_markdown`` gives the same
account for ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from mktsync.apply.result import ApplyReport, CampaignReport, ScheduleReport
from mktsync.apply.verdict import Advice, Cause, Shortfall, Verdict
from mktsync.errors import one_line
from mktsync.items import Item
from mktsync.plan.notes import VALUES_SHOWN, WHEN_MATCHES_NO_ROW, PlanNote, filtered_all, plan_notes
from mktsync.plan.quota import needed_calls
from mktsync.plan.records import HeldItem
from mktsync.report.batch import cancel_how, forget_command, orphan_line
from mktsync.report.escape import literal, terminal, visible
from mktsync.report.words import CHANGED_FIX, plural, usage_words


def _orphaned_words(n: int) -> str:
    return (
        f"{plural(n, 'batch run')} still scheduled in Marketo for "
        f"{'a row that is' if n == 1 else 'rows that are'} gone (mktsync cannot cancel "
        f"{'it' if n == 1 else 'them'})"
    )


# How the last line names each shortfall (``apply.verdict.Shortfall``), given its count.
SHORTFALL_WORDS: dict[Shortfall, Callable[[int], str]] = {
    Shortfall.FAILED: lambda n: plural(n, "lead") + " failed",
    Shortfall.UNKNOWN: lambda n: plural(n, "lead") + " with an unknown outcome",
    Shortfall.MISSING: lambda n: plural(n, "missing lead"),
    Shortfall.MISSING_SKIPPED: lambda n: plural(n, "missing lead") + " skipped",
    Shortfall.INVALID: lambda n: plural(n, "invalid row"),
    Shortfall.NOT_ATTEMPTED: lambda n: plural(n, "lead") + " not attempted",
    Shortfall.CHANGED: lambda n: plural(n, "changed item") + " not resent",
    Shortfall.DEFERRED: lambda n: plural(n, "row") + " deferred to the next run",
    Shortfall.HELD_UNKNOWN: lambda n: plural(n, "item") + " still unknown from an earlier run",
    Shortfall.RUNS_FAILED: lambda n: plural(n, "batch run") + " failed",
    Shortfall.RUNS_UNKNOWN: lambda n: plural(n, "batch run") + " with an unknown outcome",
    Shortfall.RUNS_NOT_ATTEMPTED: lambda n: plural(n, "batch run") + " not attempted",
    Shortfall.RUNS_CHANGED: lambda n: plural(n, "changed batch run") + " not scheduled again",
    Shortfall.RUNS_ORPHANED: _orphaned_words,
    Shortfall.HELD: lambda n: f"{n:,} held for review",
    Shortfall.RUNS_HELD: lambda n: plural(n, "batch run") + " held for review",
}


def _advice_words(verdict: Verdict) -> str:
    if verdict.advice is Advice.CANCEL_ORPHANS:
        it = "it" if verdict.count(Shortfall.RUNS_ORPHANED) == 1 else "them"
        return (
            f"cancel {it} in Marketo (the smart campaign's Schedule tab), then "
            f"'mktsync ledger forget' {'its key' if it == 'it' else 'their keys'}"
        )
    return ADVICE_WORDS[verdict.advice] if verdict.advice is not None else ""


def last_line(report: ApplyReport, show: Callable[[str], str] | None = None) -> str:
    """The verdict of a run, in one line; "Everything planned was sent" only when it is true.

    A run with nothing to trigger names the campaigns whose ``when`` left out every row,
    as the plan's headline does (issue 22): "the ledger already holds everything the data
    asks for" would hide a ``when`` that matches nothing.  (A run that sent something
    says nothing of them: a reminder due on some days filters every row on the others.)
    Campaign names go through ``show`` (Markdown: code spans)."""
    verdict = report.verdict
    line = verdict_line(verdict)
    if verdict.cause is not Cause.NOTHING:
        return line
    filtered = filtered_all(report.plan, show=show)
    return line if filtered is None else f"Nothing to trigger; {filtered}."


def when_warnings(report: ApplyReport, *, values: int = VALUES_SHOWN) -> list[PlanNote]:
    """The plan's warnings of ``when`` literals no row holds (issue 22, ``plan.notes``):
    an apply says them too, as a run in CI may be the only output anyone reads.  Rows
    deferred and campaigns filtered whole are in the campaigns' lines and the last line."""
    return [n for n in plan_notes(report.plan, values=values) if n.kind == WHEN_MATCHES_NO_ROW]


def verdict_line(verdict: Verdict) -> str:
    """A verdict in words: the reporters' one last line; it judges nothing."""
    done = verdict.sent
    sent = f"{plural(done.leads, 'lead')} sent in {plural(done.calls, 'call')}"
    if done.runs:
        sent += f", {plural(done.runs, 'batch run')} scheduled"
    cause = verdict.cause
    if cause is Cause.NOTHING:
        return "Nothing to trigger: the ledger already holds everything the data asks for."
    if cause is Cause.SENT:
        return f"Everything planned was sent: {sent}."
    if cause is Cause.ORPHANED:  # everything was sent, yet the run is not done
        what = sent if done.leads or done.runs else "Nothing to send"
        orphaned = verdict.count(Shortfall.RUNS_ORPHANED)
        return f"{what[0].upper()}{what[1:]}, but {orphan_line(orphaned)}"
    opening = {
        Cause.STOPPED: f"Stopped by {verdict.stopped_by}",
        Cause.QUOTA: "Stopped by Marketo's daily quota",
        Cause.RESERVE: "Stopped at the reserve of Marketo's daily quota left to other integrations",
        Cause.REFUSED: f"{plural(verdict.refused, 'campaign')} refused by preflight",
        Cause.SHORT: "Not everything was sent",
    }[cause]
    problems = [SHORTFALL_WORDS[s](n) for s, n in verdict.problems]
    return f"{opening}: {', '.join([sent, *problems])}; {_advice_words(verdict)}."


HELD_ADVICE = "what was held goes out after the next review (a pull request's plan shows it)"
ADVICE_WORDS = {
    Advice.RESUME: "the next run sends the rest",
    Advice.FIX_PREFLIGHT: "fix the campaigns preflight refused in Marketo and run again",
    Advice.STATUS: "see 'mktsync ledger status'",
    Advice.SETTLE: (
        "settle them with 'mktsync ledger settle' (or resend them with --retry-unknown "
        "once you know Marketo did not carry the earlier calls out)"
    ),
    Advice.CREATE_LEADS: (
        "create those leads in Marketo (or set 'create_missing: true', or "
        "'missing_leads: skip') and run again"
    ),
    Advice.FIX_ROWS: "fix the invalid rows and run again",
    Advice.REVIEW: HELD_ADVICE,
    Advice.RETRIGGER: CHANGED_FIX,
    Advice.NEXT_RUN: "they are tried again next run",  # only skipped missing leads are left
}

_HELD_AS = {
    "new": "not in the reviewed plan",
    "differs": "not as the reviewer saw {} (tokens, lead or fields differ)",
}


def held_text(held: Sequence[HeldItem], limit: int) -> list[str]:
    """One campaign's items held for review (``apply --reviewed``): how many, why, and the
    first few; nothing was sent to them and the ledger does not mark them."""
    lines = []
    for reason, why in _HELD_AS.items():
        count, shown = 0, list[Item]()
        for h in held:  # read from the plan's spill past a few thousand (itemlists)
            if h.reason == reason:
                count += 1
                if len(shown) < limit:
                    shown.append(h.item)
        if not count:
            continue
        were, it = ("was", "it") if count == 1 else ("were", "them")
        lines.append(
            f"  held for review: {plural(count, 'item')} {were} {why.format(it)}; "
            f"{'it goes' if count == 1 else 'they go'} out after the next review"
        )
        lines += [one_line(f"    {i.source} row {i.row}: {i.lead}, key {i.key}") for i in shown]
        if count > len(shown):
            lines.append(f"    … and {count - len(shown):,} more")
    return lines


def render_apply_text(report: ApplyReport, *, limit: int = 10) -> str:
    env = report.plan.environment
    lines: list[str] = [f"Environment: {env}"] if env else []
    held = {cp.name: cp.held for cp in report.plan.campaigns if cp.held}
    for c in report.campaigns:
        if not (c.skipped or c.calls_sent or c.calls_failed or c.calls_unknown
                or c.calls_not_attempted or c.invalid or c.missing or c.changed
                or c.deferred or c.name in held):  # fmt: skip
            lines.append(f"{c.name} (campaign {c.campaign_id}): nothing to send")
            continue
        lines += _campaign_text(c, limit)
        lines += held_text(held.get(c.name, ()), limit)
    for text in report.plan.held_runs[:limit]:
        lines.append(one_line(f"held for review (batch run): {text}"))
    if len(report.plan.held_runs) > limit:
        lines.append(f"… and {len(report.plan.held_runs) - limit} more batch runs held")
    for sr in report.schedules:
        lines += _schedule_text(sr, limit)
    stats = report.stats
    retries = stats.get("retries") or {}
    retry_text = ", ".join(f"{code} x{n}" for code, n in sorted(retries.items())) or "none"
    lines.append("")
    lines.append(
        f"{plural(int(stats.get('total_calls', 0)), 'API call')} in {report.seconds:.1f} s; "
        f"retries: {retry_text}; throttled waits: {stats.get('throttled_waits', 0)}"
        + (f"; {plural(report.created_leads, 'lead')} created" if report.created_leads else "")
    )
    if report.quota is not None:
        lines.append(quota_line(report))
    verdict = report.verdict
    skipped = verdict.count(Shortfall.MISSING_SKIPPED)
    if skipped:
        lines.append(
            f"warning: {plural(skipped, 'missing lead')} skipped (missing_leads: skip): "
            "Marketo does not know them; nothing was sent to them and they are tried again next run"
        )
    lines += [n.line for n in when_warnings(report, values=min(VALUES_SHOWN, limit))]
    lines.append(last_line(report))
    return terminal(lines) + "\n"  # nothing hidden or controlling reaches the terminal


def quota_line(report: ApplyReport) -> str:
    """What the run read of today's quota before its first call, and what it did about it
    (issue 24): ``quota: today ... room for 0 more; nothing was sent (exit 4)``."""
    room = report.quota
    assert room is not None
    needed = needed_calls(report.plan.summary)
    if not report.reserve_stopped:
        what = f"{'these' if needed != 1 else 'this'} {needed:,} fit"
    elif room.fit(report.plan.summary) == "none":
        what = (
            f"it could not carry this run's preparation and a first send ({needed:,} calls "
            "planned): nothing was sent (exit 4)"
        )
    else:
        shares = " with the other mktsync runs on this instance" if room.shared else ""
        what = (
            f"this run planned {needed:,}: it sent what fitted in the room it shares{shares} "
            "and kept the first call past the room, and every call after it, home (exit 4)"
            if room.shared
            else f"this run planned {needed:,}: it sent what fitted and kept the first call "
            "past the room, and every call after it, home (exit 4)"
        )
    return f"quota: {usage_words(room)}; {what}"


def _campaign_text(c: CampaignReport, limit: int) -> list[str]:
    lines = [f"{c.name} (campaign {c.campaign_id})"]
    if c.skipped:
        lines.append(f"  skipped by preflight: {c.skipped}")
    lines.append(
        f"  calls: {c.calls_sent} sent, {c.calls_failed} failed, {c.calls_unknown} unknown, "
        f"{c.calls_not_attempted} not attempted"
    )
    lines.append(
        f"  leads: {c.leads_triggered} triggered, {c.leads_failed} failed, "
        f"{c.leads_unknown} unknown, {c.leads_missing} missing, "
        f"{c.leads_not_attempted} not attempted, {c.invalid} invalid, {c.changed} changed not resent"
    )
    if c.deferred:  # issue 22: not a failure; named, and sent by the next run
        lines.append(
            f"  » {plural(c.deferred, 'row')} deferred to the next run: another row of this "
            "run writes other values to the same lead's fields"
        )
        for text in c.deferrals[:limit]:
            lines.append(f"    {one_line(text)}")
        if c.deferred > min(limit, len(c.deferrals)):
            lines.append(f"    … and {c.deferred - min(limit, len(c.deferrals)):,} more")
    for text in c.failures[:limit]:
        lines.append(f"  ! {one_line(text)}")
    if len(c.failures) > limit:
        lines.append(f"  … and {len(c.failures) - limit} more failures")
    for m in c.missing[:limit]:
        lines.append(
            one_line(
                f"  ? missing lead: {m.source} row {m.row}: {m.lead} ({m.reason}); key {m.key}"
            )
        )
    if len(c.missing) > limit:
        lines.append(f"  … and {len(c.missing) - limit} more missing leads")
    return lines


def _schedule_text(s: ScheduleReport, limit: int) -> list[str]:
    lines = [f"{s.name} (batch campaign {s.campaign_id})"]
    if s.skipped:
        lines.append(f"  skipped by preflight: {s.skipped}")
    lines.append(
        f"  runs: {len(s.scheduled)} scheduled, {len(s.failed)} failed, {len(s.unknown)} unknown, "
        f"{s.not_attempted} not attempted, {s.changed} changed not scheduled again"
        + (f", {len(s.orphaned)} still scheduled for rows that are gone" if s.orphaned else "")
    )
    for mark, texts in (("+", s.scheduled), ("!", s.failed), ("?", s.unknown)):
        for text in texts[:limit]:
            lines.append(one_line(f"  {mark} {text}"))
    for text in s.orphaned[:limit]:
        lines.append(
            one_line(f"  ⊘ {text}: still scheduled in Marketo, and no row gives it any more")
        )
    if s.orphaned:
        lines.append(
            f"    mktsync cannot cancel {'it' if len(s.orphaned) == 1 else 'them'} (Marketo's "
            f"REST API cannot): in Marketo, {cancel_how(s.campaign_id)};"
        )
        lines.append(f"    then: {forget_command(s.campaign_id, 'KEY')}")
    if len(s.orphaned) > limit:
        lines.append(f"  … and {len(s.orphaned) - limit:,} more still scheduled")
    return lines


def render_apply_markdown(report: ApplyReport, *, limit: int = 10) -> str:
    """The run's account for ``$GITHUB_STEP_SUMMARY``: a table and the same last line."""
    env = report.plan.environment
    title = f"### mktsync apply: environment `{env}`" if env else "### mktsync apply"
    lines = [title, ""]
    for n in when_warnings(report, values=min(VALUES_SHOWN, limit)):  # issue 22: at the top
        lines += [f"> **{n.severity.capitalize()}:** {n.words(literal)}", ""]
    lines += [f"**{last_line(report, literal)}**", ""]
    if report.quota is not None:
        lines += [quota_line(report), ""]
    # The deferred column (issue 22) only in a run that deferred something.
    deferring = any(c.deferred for c in report.campaigns)
    lines += [
        "| campaign | id | sent | failed | unknown | missing | invalid | not attempted "
        "| changed not resent |" + (" deferred |" if deferring else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if deferring else ""),
    ]
    for sr in report.schedules:  # batch runs: counted as runs, not leads
        lines.append(
            f"| {literal(sr.name, cell=True)} (batch runs) | {sr.campaign_id} | {len(sr.scheduled):,} "
            f"| {len(sr.failed):,} | {len(sr.unknown):,} | 0 | 0 | {sr.not_attempted:,} "
            f"| {sr.changed:,} |" + (" 0 |" if deferring else "")
        )
    for c in report.campaigns:
        lines.append(
            f"| {literal(c.name, cell=True)} | {c.campaign_id} | {c.leads_triggered:,} "
            f"| {c.leads_failed:,} | {c.leads_unknown:,} | {c.leads_missing:,} | {c.invalid:,} "
            f"| {c.leads_not_attempted:,} | {c.changed:,} |"
            + (f" {c.deferred:,} |" if deferring else "")
        )
    summary = report.plan.summary
    if summary.held or summary.held_runs:  # apply --reviewed
        lines += [
            "",
            f"> **{plural(summary.held, 'item')} and {plural(summary.held_runs, 'batch run')} "
            "held for review**: due now, but not in the reviewed plan as they are now; not "
            "sent, not recorded. They go out after the next review.",
        ]
    for c in report.campaigns:
        if c.missing:
            lines += ["", f"Missing leads of {literal(c.name)}:", ""]
            lines += [
                f"- {literal(m.source)} row {m.row}: {literal(m.reason)}" for m in c.missing[:limit]
            ]
            if len(c.missing) > limit:
                lines.append(f"- {plural(len(c.missing) - limit, 'more')} not shown")
    for c in report.campaigns:
        if c.deferred:  # issue 22: not a failure; the next run sends them
            lines += [
                "",
                f"Rows of {literal(c.name)} deferred to the next run (another row of this run "
                "writes other values to the same lead's fields):",
                "",
            ]
            lines += [f"- {literal(text)}" for text in c.deferrals[:limit]]
            if c.deferred > min(limit, len(c.deferrals)):
                more = c.deferred - min(limit, len(c.deferrals))
                lines.append(f"- {plural(more, 'more')} not shown")
    lines += _orphans_markdown(report, limit)
    return visible("\n".join(lines)) + "\n\n"


def _orphans_markdown(report: ApplyReport, limit: int) -> list[str]:
    n = sum(len(s.orphaned) for s in report.schedules)
    if not n:
        return []
    lines = [
        "",
        f"**⊘ {orphan_line(n)}** mktsync cannot cancel a run: Marketo's REST API cannot. "
        f"In Marketo, {cancel_how('ID')}; then record it: `{forget_command('ID', 'KEY')}`.",
        "",
    ]
    for s in report.schedules:
        lines += [
            f"- {literal(s.name)} (campaign {s.campaign_id}): {literal(o)}"
            for o in s.orphaned[:limit]
        ]
        if len(s.orphaned) > limit:
            lines.append(f"- {plural(len(s.orphaned) - limit, 'more')} not shown")
    return lines


def apply_to_json(report: ApplyReport) -> dict[str, Any]:
    verdict = report.verdict
    return {
        "format_version": 1,
        "run_id": report.run_id,
        "exit_code": verdict.exit_code,
        "quota_stopped": report.quota_stopped,
        "reserve_stopped": report.reserve_stopped,
        "stopped_by": report.stopped_by,
        "seconds": round(report.seconds, 3),
        "created_leads": report.created_leads,
        "totals": report.counts(),
        "stats": dict(report.stats),
        "last_line": last_line(report),
        # Issue 22: the plan's warnings of `when` literals no row holds, as in the plan's JSON
        **({"notes": [n.as_json() for n in notes]} if (notes := when_warnings(report)) else {}),
        **({"environment": report.plan.environment} if report.plan.environment else {}),
        **({"quota": quota_json(report)} if report.quota is not None else {}),
        # apply --reviewed: items and batch runs due but held for the next review
        **(
            {
                "held": {
                    "items": report.plan.summary.held,
                    "batch_runs": report.plan.summary.held_runs,
                }
            }
            if report.plan.summary.held or report.plan.summary.held_runs
            else {}
        ),
        **(
            {"schedules": [dataclasses.asdict(s) for s in report.schedules]}
            if report.schedules
            else {}
        ),
        "campaigns": [
            {
                "name": c.name,
                "campaign_id": c.campaign_id,
                "skipped": c.skipped,
                "calls": {
                    "sent": c.calls_sent,
                    "failed": c.calls_failed,
                    "unknown": c.calls_unknown,
                    "not_attempted": c.calls_not_attempted,
                },
                "leads": {
                    "triggered": c.leads_triggered,
                    "failed": c.leads_failed,
                    "unknown": c.leads_unknown,
                    "missing": c.leads_missing,
                    "not_attempted": c.leads_not_attempted,
                    "invalid": c.invalid,
                    "changed": c.changed,
                    "deferred": c.deferred,
                },
                "missing_leads": "skip" if c.missing_skip else "fail",
                "failures": c.failures,
                "missing": [dataclasses.asdict(m) for m in c.missing],
                **({"deferred": c.deferrals} if c.deferrals else {}),
            }
            for c in report.campaigns
        ],
    }


def quota_json(report: ApplyReport) -> dict[str, Any]:
    """Today's quota as the run read it: usage by API user, reserve, room, calls planned."""
    room = report.quota
    assert room is not None
    return {
        **room.usage.as_json(),
        "daily_quota": room.daily_quota,
        "quota_reserve": room.share,
        "reserve": room.reserve,
        "room": room.room,
        "needed": needed_calls(report.plan.summary),
        **({"shared": True, "held": room.held} if room.shared else {}),
    }


def render_apply_json(report: ApplyReport) -> str:
    return json.dumps(apply_to_json(report), indent=2, ensure_ascii=False) + "\n"
