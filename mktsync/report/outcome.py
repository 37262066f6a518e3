"""The account of an apply run: per campaign what became of each item, and one last line.

The last line is the run's verdict, built from every outcome: sent, failed, unknown,
missing lead, invalid, not attempted, and changed-not-resent.  "Everything planned was
sent" is printed only when it is the whole truth.  ``render_apply_markdown`` gives the same
account for ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from mktsync.apply.result import ApplyReport, CampaignReport, ScheduleReport
from mktsync.errors import one_line
from mktsync.items import Item
from mktsync.plan.records import HeldItem
from mktsync.report.batch import cancel_how, forget_command, orphan_line
from mktsync.report.escape import literal, terminal, visible
from mktsync.report.words import CHANGED_FIX, plural


def outcome_counts(report: ApplyReport) -> dict[str, int]:
    """Leads per outcome over the whole run, missing leads split by the campaign's policy."""
    c = report.campaigns
    return {
        "sent": sum(x.leads_triggered for x in c),
        "calls": sum(x.calls_sent for x in c),
        "failed": sum(x.leads_failed for x in c),
        "unknown": sum(x.leads_unknown for x in c),
        "missing": sum(x.leads_missing for x in c if not x.missing_skip),
        "missing_skipped": sum(x.leads_missing for x in c if x.missing_skip),
        "invalid": sum(x.invalid for x in c),
        "not_attempted": sum(x.leads_not_attempted for x in c),
        "changed": sum(x.changed for x in c),
        "refused": sum(1 for x in c if x.skipped) + sum(1 for x in report.schedules if x.skipped),
        "runs": sum(len(x.scheduled) for x in report.schedules),
        "runs_failed": sum(len(x.failed) for x in report.schedules),
        "runs_unknown": sum(len(x.unknown) for x in report.schedules),
        "runs_not_attempted": sum(x.not_attempted for x in report.schedules),
        "runs_changed": sum(x.changed for x in report.schedules),
        "runs_orphaned": sum(len(x.orphaned) for x in report.schedules),
        "held_unknown": held_unknown(report),
        "held": report.plan.summary.held,
        "runs_held": report.plan.summary.held_runs,
    }


def held_unknown(report: ApplyReport) -> int:
    """Items and batch runs whose outcome an *earlier* run left unknown, which this run did
    not resend (``ApplyReport.unsettled``)."""
    return report.unsettled


def _problems(n: dict[str, int]) -> list[str]:
    words = [
        (n["failed"], plural(n["failed"], "lead") + " failed"),
        (n["unknown"], plural(n["unknown"], "lead") + " with an unknown outcome"),
        (n["missing"], plural(n["missing"], "missing lead")),
        (n["missing_skipped"], plural(n["missing_skipped"], "missing lead") + " skipped"),
        (n["invalid"], plural(n["invalid"], "invalid row")),
        (n["not_attempted"], plural(n["not_attempted"], "lead") + " not attempted"),
        (n["changed"], plural(n["changed"], "changed item") + " not resent"),
        (
            n.get("held_unknown", 0),
            plural(n.get("held_unknown", 0), "item") + " still unknown from an earlier run",
        ),
        (n.get("runs_failed", 0), plural(n.get("runs_failed", 0), "batch run") + " failed"),
        (
            n.get("runs_unknown", 0),
            plural(n.get("runs_unknown", 0), "batch run") + " with an unknown outcome",
        ),
        (
            n.get("runs_not_attempted", 0),
            plural(n.get("runs_not_attempted", 0), "batch run") + " not attempted",
        ),
        (
            n.get("runs_changed", 0),
            plural(n.get("runs_changed", 0), "changed batch run") + " not scheduled again",
        ),
        (n.get("runs_orphaned", 0), _orphaned_words(n.get("runs_orphaned", 0))),
        (n.get("held", 0), f"{n.get('held', 0):,} held for review"),
        (n.get("runs_held", 0), plural(n.get("runs_held", 0), "batch run") + " held for review"),
    ]
    return [text for count, text in words if count]


def _orphaned_words(n: int) -> str:
    return (
        f"{plural(n, 'batch run')} still scheduled in Marketo for "
        f"{'a row that is' if n == 1 else 'rows that are'} gone (mktsync cannot cancel "
        f"{'it' if n == 1 else 'them'})"
    )


def _advice(report: ApplyReport, n: dict[str, int]) -> str:
    if report.stopped_by or report.quota_stopped:
        return "the next run sends the rest"
    if n["refused"]:
        return "fix the campaigns preflight refused in Marketo and run again"
    if n.get("runs_orphaned"):  # the most pressing: an email nobody wants goes out
        it = "it" if n["runs_orphaned"] == 1 else "them"
        return (
            f"cancel {it} in Marketo (the smart campaign's Schedule tab), then "
            f"'mktsync ledger forget' {'its key' if it == 'it' else 'their keys'}"
        )
    if n["failed"] or n["unknown"] or n["runs_failed"] or n["runs_unknown"]:
        return "see 'mktsync ledger status'"
    if n.get("held_unknown"):
        return (
            "settle them with 'mktsync ledger settle' (or resend them with --retry-unknown "
            "once you know Marketo did not carry the earlier calls out)"
        )
    if n["missing"]:
        return (
            "create those leads in Marketo (or set 'create_missing: true', or "
            "'missing_leads: skip') and run again"
        )
    if n["invalid"]:
        return "fix the invalid rows and run again"
    if n.get("held") or n.get("runs_held"):
        return HELD_ADVICE
    if n["changed"] or n.get("runs_changed"):
        return CHANGED_FIX
    return "they are tried again next run"  # only skipped missing leads are left


def last_line(report: ApplyReport) -> str:
    """The verdict of a run, in one line; "Everything planned was sent" only when it is true."""
    n = outcome_counts(report)
    problems = _problems(n)
    sent = f"{plural(n['sent'], 'lead')} sent in {plural(n['calls'], 'call')}"
    if n["runs"]:
        sent += f", {plural(n['runs'], 'batch run')} scheduled"
    if report.stopped_by:
        cause = f"Stopped by {report.stopped_by}"
    elif report.quota_stopped:
        cause = "Stopped by Marketo's daily quota"
    elif n["refused"]:
        cause = f"{plural(n['refused'], 'campaign')} refused by preflight"
    elif problems == [_orphaned_words(n["runs_orphaned"])]:
        # Everything was sent, yet the run is not done: never "Everything planned was sent".
        done = sent if n["sent"] or n["runs"] else "Nothing to send"
        return f"{done[0].upper()}{done[1:]}, but {orphan_line(n['runs_orphaned'])}"
    elif not problems:
        if not n["sent"] and not n["runs"]:
            return "Nothing to trigger: the ledger already holds everything the data asks for."
        return f"Everything planned was sent: {sent}."
    else:
        cause = "Not everything was sent"
    return f"{cause}: {', '.join([sent, *problems])}; {_advice(report, n)}."


HELD_ADVICE = "what was held goes out after the next review (a pull request's plan shows it)"
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
                or c.name in held):  # fmt: skip
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
    skipped = outcome_counts(report)["missing_skipped"]
    if skipped:
        lines.append(
            f"warning: {plural(skipped, 'missing lead')} skipped (missing_leads: skip): "
            "Marketo does not know them; nothing was sent to them and they are tried again next run"
        )
    lines.append(last_line(report))
    return terminal(lines) + "\n"  # nothing hidden or controlling reaches the terminal


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
    lines = [title, "", f"**{last_line(report)}**", ""]
    lines += [
        "| campaign | id | sent | failed | unknown | missing | invalid | not attempted "
        "| changed not resent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sr in report.schedules:  # batch runs: counted as runs, not leads
        lines.append(
            f"| {literal(sr.name, cell=True)} (batch runs) | {sr.campaign_id} | {len(sr.scheduled):,} "
            f"| {len(sr.failed):,} | {len(sr.unknown):,} | 0 | 0 | {sr.not_attempted:,} "
            f"| {sr.changed:,} |"
        )
    for c in report.campaigns:
        lines.append(
            f"| {literal(c.name, cell=True)} | {c.campaign_id} | {c.leads_triggered:,} "
            f"| {c.leads_failed:,} | {c.leads_unknown:,} | {c.leads_missing:,} | {c.invalid:,} "
            f"| {c.leads_not_attempted:,} | {c.changed:,} |"
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
    return {
        "format_version": 1,
        "run_id": report.run_id,
        "exit_code": report.exit_code,
        "quota_stopped": report.quota_stopped,
        "stopped_by": report.stopped_by,
        "seconds": round(report.seconds, 3),
        "created_leads": report.created_leads,
        "totals": report.counts(),
        "stats": dict(report.stats),
        "last_line": last_line(report),
        **({"environment": report.plan.environment} if report.plan.environment else {}),
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
                },
                "missing_leads": "skip" if c.missing_skip else "fail",
                "failures": c.failures,
                "missing": [dataclasses.asdict(m) for m in c.missing],
            }
            for c in report.campaigns
        ],
    }


def render_apply_json(report: ApplyReport) -> str:
    return json.dumps(apply_to_json(report), indent=2, ensure_ascii=False) + "\n"
