"""What reviewers read: text, Markdown (masked, within GitHub's limit) and JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from testing.plans import items_of, record, row, write_project

from mktsync import plan_config
from mktsync.config import load_config
from mktsync.items import InvalidItem
from mktsync.plan import CampaignPlan, Plan, Summary
from mktsync.report import render_markdown, render_text
from mktsync.report.markdown import COMMENT_LIMIT
from mktsync.report.words import mask_emails


def test_mask_emails() -> None:
    assert mask_emails("jane.doe@example.com/w1") == "j***@example.com/w1"
    assert mask_emails("id:42") == "id:42"


def test_markdown_masks_emails_unless_asked(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("jane.doe@example.com")])
    _, plan = plan_config(path)
    masked = render_markdown(plan)
    assert "jane.doe@example.com" not in masked
    assert "j***@example.com" in masked
    assert "jane.doe@example.com" in render_markdown(plan, show_pii=True)


def test_text_shows_token_diffs(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com", code="old")])
    record(path, "sent", items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code="new")])
    text = render_text(plan_config(path)[1])
    assert "~ retrigger         1" in text
    assert "{{my.Link}}: https://example.com/j/old → https://example.com/j/new" in text


def test_text_caps_long_lists(tmp_path: Path) -> None:
    rows = [row("ann@example.com"), *(row("") for _ in range(30))]
    path = write_project(tmp_path, rows, extra="    max_invalid: 30\n")
    text = render_text(plan_config(path)[1], limit=5)
    assert "… and 25 more invalid" in text


def _big_plan(campaigns: int, invalid_per_campaign: int, reason: str = "x" * 200) -> Plan:
    plans = tuple(
        CampaignPlan(
            name=f"campaign-{n}",
            campaign_id=n + 1,
            source="s",
            counts={
                "trigger": 0,
                "retrigger": 0,
                "unchanged": 0,
                "filtered": 0,
                "invalid": invalid_per_campaign,
                "unknown": 0,
            },
            calls=(),
            invalid=tuple(
                InvalidItem(
                    campaign=f"campaign-{n}",
                    campaign_id=n + 1,
                    source="s",
                    row=r,
                    reason="lead.email: " + reason,
                )
                for r in range(invalid_per_campaign)
            ),
            unknown=(),
            lookup_emails=0,
            lookup_calls=0,
            one_lead_per_call=False,
        )
        for n in range(campaigns)
    )
    from mktsync.config.model import Limits

    return Plan(
        config_path="campaigns.yaml",
        config_digest="d",
        ledger_fingerprint="f",
        limits=Limits(),
        max_calls=None,
        retry_unknown=False,
        campaigns=plans,
        summary=Summary(invalid=campaigns * invalid_per_campaign),
    )


def test_markdown_fits_a_github_comment() -> None:
    text = render_markdown(_big_plan(400, 30))
    assert len(text) <= COMMENT_LIMIT
    # The comment ends by saying what is not shown, why, and where the whole plan is.
    last = text.rstrip().splitlines()[-1]
    assert re.fullmatch(
        r"… [\d,]+ campaigns not shown: the comment is limited to 65,536 characters by GitHub; "
        r"the full plan is in the job's artifact `mktsync-plan`\.",
        last,
    ), last
    assert text.count("<details>") == text.count("</details>")
    # The headline counts everything; the table says how many campaigns it leaves out.
    assert "**Nothing to trigger; 12,000 invalid rows" in text
    assert re.search(r"… [\d,]+ more campaigns not shown here: the full plan is in", text)


def test_the_limit_counts_what_github_counts_even_for_emoji() -> None:
    """Characters past U+FFFF are two UTF-16 units (JavaScript's length): counted so."""
    plain = render_markdown(_big_plan(10, 30, reason="x" * 150))
    emoji = render_markdown(_big_plan(10, 30, reason="\U0001f600" * 150))
    # 20 invalid rows a campaign fit in 65,536 characters, but not in 65,536 UTF-16 units.
    assert plain.count("x" * 150) == 10 * 20 and len(plain) <= COMMENT_LIMIT
    assert (
        len(emoji) < COMMENT_LIMIT < len(plain.replace("x", "\U0001f600").encode("utf-16-le")) // 2
    )
    assert emoji.count("\U0001f600" * 150) == 10 * 5
    assert len(emoji.encode("utf-16-le")) // 2 <= COMMENT_LIMIT


def test_small_markdown_is_not_truncated(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    text = render_markdown(plan_config(path)[1])
    assert "not shown" not in text
    assert text.startswith("<!-- mktsync-plan -->")


def test_json_has_the_documented_shape(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com"), row("")], extra="    max_invalid: 1\n")
    from mktsync.plan.file import dumps

    data = json.loads(dumps(plan_config(path)[1]))
    assert data["format_version"] == 1
    assert set(data["summary"]) >= {
        "trigger",
        "retrigger",
        "unchanged",
        "filtered",
        "invalid",
        "unknown",
        "trigger_calls",
        "lookup_calls",
    }
    campaign = data["campaigns"][0]
    assert campaign["calls"][0]["leads"][0]["lead"] == "ann@example.com"
    assert campaign["calls"][0]["tokens"] == {
        "{{my.Link}}": "https://example.com/j/c",
        "{{my.Webinar}}": "w1",
    }
    assert campaign["invalid"][0]["row"] == 3


def test_streamed_json_equals_the_whole_dict(tmp_path: Path) -> None:
    from mktsync.plan.file import dumps, plan_to_json

    rows_ = [row(f"u{i}@example.com", code=str(i % 3)) for i in range(7)] + [row("")]
    path = write_project(tmp_path, rows_, extra="    max_invalid: 1\n")
    plan = plan_config(path)[1]
    assert json.loads(dumps(plan)) == plan_to_json(plan)
    empty = plan_config(write_project(tmp_path, [row("a@example.com", status="x")]))[1]
    assert json.loads(dumps(empty)) == plan_to_json(empty)


def _changed_plan(tmp_path: Path) -> Plan:
    path = write_project(tmp_path, [row("ann@example.com", code="old")], retrigger="never")
    record(path, "sent", items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code="new")], retrigger="never")
    return plan_config(path)[1]


def test_changed_items_in_text(tmp_path: Path) -> None:
    plan = _changed_plan(tmp_path)
    text = render_text(plan)
    assert "≠ changed           1" in text
    # Keys name people: masked as in the comment, unless --show-pii.
    assert "≠ a***@example.com/w1: changed since sent, not resent" in text
    assert "≠ ann@example.com/w1: changed since sent" in render_text(plan, show_pii=True)
    assert "{{my.Link}}: https://example.com/j/old → https://example.com/j/new" in text
    assert "retrigger: on_change" in text and "mktsync ledger forget" in text
    assert "1 changed item will NOT be resent" in text


def test_changed_items_in_markdown(tmp_path: Path) -> None:
    text = render_markdown(_changed_plan(tmp_path), show_pii=True)
    assert "| ≠ changed |" in text.splitlines()[9]  # the table, under the changed callout
    assert "| ≠ | `ann@example.com` | `ann@example.com/w1` |" in text
    assert "`https://example.com/j/old` → `https://example.com/j/new`" in text
    assert "retrigger: on_change" in text and "mktsync ledger forget" in text


def test_changed_items_in_json_round_trip(tmp_path: Path) -> None:
    from mktsync.plan.file import dumps, load_plan

    plan = _changed_plan(tmp_path)
    data = json.loads(dumps(plan))
    assert data["format_version"] == 1
    assert data["summary"]["changed"] == 1
    changed = data["campaigns"][0]["changed"][0]
    assert changed["old_tokens"]["{{my.Link}}"] == "https://example.com/j/old"
    assert changed["tokens"]["{{my.Link}}"] == "https://example.com/j/new"
    saved = tmp_path / "plan.json"
    saved.write_text(dumps(plan), encoding="utf-8")
    loaded = load_plan(saved)
    assert loaded.summary.changed == 1
    assert dumps(loaded) == dumps(plan)


def test_a_huge_plan_still_fits_and_says_what_is_missing() -> None:
    text = render_markdown(_big_plan(3000, 1))
    assert len(text) <= COMMENT_LIMIT
    assert text.rstrip().endswith("the full plan is in the job's artifact `mktsync-plan`.")
    assert "campaigns not shown: the comment is limited to 65,536 characters by GitHub" in text
    assert text.count("<details>") == text.count("</details>")


def test_text_summary_stands_apart_from_the_campaigns(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    lines = render_text(plan_config(path)[1]).splitlines()
    # The ledger is new: the summary opens with that note (issue 25), then the headline.
    assert lines[-4] == "" and lines[-3].startswith("note: the ledger")
    assert lines[-2].startswith("1 lead to trigger")


def test_changed_rows_are_shown_even_when_many_leads_are_sent(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com", code="old")], retrigger="never")
    record(path, "sent", items_of(load_config(path)))
    new = [row(f"u{i}@example.com") for i in range(30)]
    write_project(tmp_path, [row("ann@example.com", code="new"), *new], retrigger="never")
    text = render_markdown(plan_config(path)[1], show_pii=True, limit=5)
    assert "| ≠ | `ann@example.com` |" in text
    assert sum(line.startswith("| + |") for line in text.splitlines()) == 5
    assert "More not shown: 25 new; the list below names every lead to email." in text
