"""The account of an apply run: per campaign what was sent, failed, unknown or not attempted."""

from __future__ import annotations

import json
from typing import Any

from mktsync.apply import ApplyReport
from mktsync.report.words import plural

_NEXT = {
    0: "Everything planned was sent.",
    1: "Some campaigns were refused by preflight; fix them in Marketo and run again.",
    3: "Some items failed or have an unknown outcome; see 'mktsync ledger status'.",
    4: "Stopped by Marketo's daily quota; the next run sends the rest.",
}


def render_apply_text(report: ApplyReport, *, limit: int = 10) -> str:
    lines: list[str] = []
    for c in report.campaigns:
        if not (c.skipped or c.calls_sent or c.calls_failed or c.calls_unknown
                or c.calls_not_attempted or c.invalid):  # fmt: skip
            lines.append(f"{c.name} (campaign {c.campaign_id}): nothing to send")
            continue
        lines.append(f"{c.name} (campaign {c.campaign_id})")
        if c.skipped:
            lines.append(f"  skipped by preflight: {c.skipped}")
        lines.append(
            f"  calls: {c.calls_sent} sent, {c.calls_failed} failed, {c.calls_unknown} unknown, "
            f"{c.calls_not_attempted} not attempted"
        )
        lines.append(
            f"  leads: {c.leads_triggered} triggered, {c.leads_failed} failed, "
            f"{c.leads_unknown} unknown, {c.leads_not_attempted} not attempted, {c.invalid} invalid"
        )
        for text in (c.failures + c.lead_problems)[:limit]:
            lines.append(f"  ! {text}")
        extra = len(c.failures) + len(c.lead_problems) - limit
        if extra > 0:
            lines.append(f"  … and {extra} more")
    stats = report.stats
    retries = stats.get("retries") or {}
    retry_text = ", ".join(f"{code} x{n}" for code, n in sorted(retries.items())) or "none"
    lines.append("")
    lines.append(
        f"{plural(int(stats.get('total_calls', 0)), 'API call')} in {report.seconds:.1f} s; "
        f"retries: {retry_text}; throttled waits: {stats.get('throttled_waits', 0)}"
        + (f"; {plural(report.created_leads, 'lead')} created" if report.created_leads else "")
    )
    if report.exit_code == 0 and not any(c.calls_sent for c in report.campaigns):
        lines.append("Nothing to trigger: the ledger already holds everything the data asks for.")
    else:
        lines.append(_NEXT.get(report.exit_code, ""))
    return "\n".join(lines) + "\n"


def apply_to_json(report: ApplyReport) -> dict[str, Any]:
    return {
        "format_version": 1,
        "run_id": report.run_id,
        "exit_code": report.exit_code,
        "quota_stopped": report.quota_stopped,
        "seconds": round(report.seconds, 3),
        "created_leads": report.created_leads,
        "totals": report.counts(),
        "stats": dict(report.stats),
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
                    "not_attempted": c.leads_not_attempted,
                    "invalid": c.invalid,
                },
                "failures": c.failures,
                "lead_problems": c.lead_problems,
            }
            for c in report.campaigns
        ],
    }


def render_apply_json(report: ApplyReport) -> str:
    return json.dumps(apply_to_json(report), indent=2, ensure_ascii=False) + "\n"
