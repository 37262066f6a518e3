"""The plan as Markdown for a pull-request comment.

GitHub refuses comments over 65,536 characters, so whole campaign sections are kept while
they fit and the rest is named in a note; emails are masked unless ``show_pii``.
"""

from __future__ import annotations

from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.report.words import (
    MARKS,
    cost_line,
    headline,
    mask_emails,
    plural,
    shorten,
    token_diff,
)

COMMENT_LIMIT = 65_536
MARKER = "<!-- mktsync-plan -->"  # lets a workflow find and update its own sticky comment


def render_markdown(plan: Plan, *, show_pii: bool = False, limit: int = 20) -> str:
    def clean(text: str) -> str:
        text = text if show_pii else mask_emails(text)
        return text.replace("|", "\\|").replace("\n", " ")

    head = [MARKER, "### mktsync plan", "", f"**{headline(plan)}**", ""]
    head += _table(plan)
    head += ["", cost_line(plan) + ".", ""]
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            head.append(
                f"> Every lead of `{cp.name}` has its own token values, so each lead costs one call."
            )
    if not show_pii:
        head += [""] if head[-1].startswith(">") else []
        head.append(
            "<sub>Email addresses are masked; run `mktsync plan --show-pii` to see them.</sub>"
        )
    head.append("")
    text = "\n".join(head) + "\n"
    sections = [_section(cp, clean, limit) for cp in plan.campaigns]
    for size in (limit, 5, 0):
        body = [_section(cp, clean, size) for cp in plan.campaigns] if size != limit else sections
        out = _fit(text, body, plan)
        if out is not None:
            return out
    return _truncate(text, sections, plan)


def _fit(text: str, sections: list[str], plan: Plan) -> str | None:
    full = text + "".join(sections)
    return full if len(full) <= COMMENT_LIMIT else None


def _truncate(text: str, sections: list[str], plan: Plan) -> str:
    out = text
    kept = 0
    note_room = 400
    for section in sections:
        if len(out) + len(section) + note_room > COMMENT_LIMIT:
            break
        out += section
        kept += 1
    left = [cp.name for cp in plan.campaigns[kept:]]
    names = ", ".join(f"`{n}`" for n in left[:5]) + (" …" if len(left) > 5 else "")
    out += (
        f"\n> **Truncated** to fit GitHub's {COMMENT_LIMIT:,}-character comment limit: "
        f"{plural(len(left), 'campaign')} not shown ({names}). "
        "The table above counts everything; run `mktsync plan` for the whole plan.\n"
    )
    return out[:COMMENT_LIMIT]


def _table(plan: Plan) -> list[str]:
    header = "| campaign | id | " + " | ".join(f"{MARKS[c]} {c}" for c in CLASSES) + " | calls |"
    rule = "|---|---:|" + "---:|" * len(CLASSES) + "---:|"
    rows = [
        f"| `{cp.name}` | {cp.campaign_id} | "
        + " | ".join(f"{cp.counts[c]:,}" for c in CLASSES)
        + f" | {cp.trigger_calls:,} |"
        for cp in plan.campaigns
    ]
    return [header, rule, *rows]


def _section(cp: CampaignPlan, clean: object, limit: int) -> str:
    assert callable(clean)
    sending = [p for call in cp.calls for p in call.items]
    summary = (
        f"<b>{cp.name}</b> (campaign {cp.campaign_id}): "
        f"{plural(len(sending), 'lead')} in {plural(cp.trigger_calls, 'call')}"
    )
    if cp.counts["invalid"]:
        summary += f", {cp.counts['invalid']:,} invalid"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    if sending and limit:
        lines += ["| | lead | key | tokens |", "|---|---|---|---|"]
        for p in sending[:limit]:
            if p.old_tokens is not None:
                tokens = "<br>".join(
                    f"{n}: {clean(shorten(str(o), 40))} → {clean(shorten(str(v), 40))}"
                    for n, o, v in token_diff(p.old_tokens, p.item.tokens)
                )
            else:
                tokens = "<br>".join(f"{n}: {clean(shorten(v, 60))}" for n, v in p.item.tokens)
            mark = "~" if p.action == "retrigger" else "+"
            lines.append(f"| {mark} | {clean(p.item.lead)} | {clean(p.item.key)} | {tokens} |")
        if len(sending) > limit:
            lines.append(f"\n… and {len(sending) - limit:,} more")
    if cp.invalid and limit:
        lines += ["", "**Invalid rows**", ""]
        lines += [f"- `{i.source}` row {i.row}: {clean(i.reason)}" for i in cp.invalid[:limit]]
        if len(cp.invalid) > limit:
            lines.append(f"- … and {len(cp.invalid) - limit:,} more")
    if cp.unknown and limit:
        lines += ["", "**Unknown outcome** (not resent; see `mktsync ledger`)", ""]
        lines += [f"- {clean(i.key)}" for i in cp.unknown[:limit]]
    lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"
