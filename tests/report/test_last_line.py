"""Every combination of outcomes: its exit code, and a last line that tells the whole truth."""

from __future__ import annotations

import itertools
import re

import pytest

from mktsync.apply.result import ApplyReport, CampaignReport, MissingLead
from mktsync.config.model import Limits
from mktsync.plan import Plan
from mktsync.report.outcome import last_line, render_apply_markdown, render_apply_text

PLAN = Plan(
    config_path="campaigns.yaml",
    config_digest="d",
    ledger_fingerprint="f",
    limits=Limits(),
    max_calls=None,
    retry_unknown=False,
    campaigns=(),
)


def missing(n: int) -> list[MissingLead]:
    return [
        MissingLead(key=f"k{i}", lead=f"u{i}@x.com", source="regs", row=i + 2, reason="no lead")
        for i in range(n)
    ]


def report(
    *,
    sent: int = 0,
    failed: int = 0,
    unknown: int = 0,
    missing_fail: int = 0,
    missing_skip: int = 0,
    invalid: int = 0,
    not_attempted: int = 0,
    changed: int = 0,
    refused: bool = False,
    quota: bool = False,
    stopped: str | None = None,
) -> ApplyReport:
    a = CampaignReport(
        name="a",
        campaign_id=1,
        calls_sent=1 if sent else 0,
        leads_triggered=sent,
        calls_failed=1 if failed else 0,
        leads_failed=failed,
        calls_unknown=1 if unknown else 0,
        leads_unknown=unknown,
        leads_not_attempted=not_attempted,
        invalid=invalid,
        changed=changed,
        missing=missing(missing_fail),
        skipped="campaign is inactive" if refused else None,
    )
    b = CampaignReport(name="b", campaign_id=2, missing=missing(missing_skip), missing_skip=True)
    codes = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
    return ApplyReport(
        run_id=1,
        plan=PLAN,
        campaigns=[a, b],
        quota_stopped=quota,
        stopped_by=stopped,
        stop_code=codes.get(stopped or "", 0),
    )


# (outcomes, exit code, the exact last line)
CASES = [
    ({}, 0, "Nothing to trigger: the ledger already holds everything the data asks for."),
    ({"sent": 5}, 0, "Everything planned was sent: 5 leads sent in 1 call."),
    (
        {"sent": 5, "failed": 2},
        3,
        "Not everything was sent: 5 leads sent in 1 call, 2 leads failed; "
        "see 'mktsync ledger status'.",
    ),
    (
        {"sent": 5, "unknown": 1},
        3,
        "Not everything was sent: 5 leads sent in 1 call, 1 lead with an unknown outcome; "
        "see 'mktsync ledger status'.",
    ),
    (
        {"sent": 5, "missing_fail": 2},
        3,
        "Not everything was sent: 5 leads sent in 1 call, 2 missing leads; create those leads "
        "in Marketo (or set 'create_missing: true', or 'missing_leads: skip') and run again.",
    ),
    (
        {"sent": 5, "missing_skip": 2},
        0,
        "Not everything was sent: 5 leads sent in 1 call, 2 missing leads skipped; "
        "they are tried again next run.",
    ),
    (
        {"sent": 5, "invalid": 1},
        0,
        "Not everything was sent: 5 leads sent in 1 call, 1 invalid row; "
        "fix the invalid rows and run again.",
    ),
    (
        {"sent": 5, "changed": 3},
        0,
        "Not everything was sent: 5 leads sent in 1 call, 3 changed items not resent; "
        "to send the new values, set 'retrigger: on_change' on the campaign, "
        "or 'mktsync ledger forget' the keys.",
    ),
    (
        {"changed": 1},
        0,
        "Not everything was sent: 0 leads sent in 0 calls, 1 changed item not resent; "
        "to send the new values, set 'retrigger: on_change' on the campaign, "
        "or 'mktsync ledger forget' the keys.",
    ),
    (
        {"sent": 5, "not_attempted": 4, "refused": True},
        1,
        "1 campaign refused by preflight: 5 leads sent in 1 call, 4 leads not attempted; "
        "fix the campaigns preflight refused in Marketo and run again.",
    ),
    (
        {"sent": 5, "not_attempted": 4, "quota": True},
        4,
        "Stopped by Marketo's daily quota: 5 leads sent in 1 call, 4 leads not attempted; "
        "the next run sends the rest.",
    ),
    (
        {"sent": 5, "not_attempted": 4, "stopped": "SIGTERM"},
        143,
        "Stopped by SIGTERM: 5 leads sent in 1 call, 4 leads not attempted; "
        "the next run sends the rest.",
    ),
    ({"stopped": "SIGHUP", "not_attempted": 1}, 129, None),
    ({"stopped": "SIGINT", "not_attempted": 1}, 130, None),
    (
        dict.fromkeys(
            (
                "sent",
                "failed",
                "unknown",
                "missing_fail",
                "missing_skip",
                "invalid",
                "not_attempted",
                "changed",
            ),
            1,
        ),
        3,
        "Not everything was sent: 1 lead sent in 1 call, 1 lead failed, 1 lead with an unknown "
        "outcome, 1 missing lead, 1 missing lead skipped, 1 invalid row, 1 lead not attempted, "
        "1 changed item not resent; see 'mktsync ledger status'.",
    ),
]


@pytest.mark.parametrize(("outcomes", "code", "line"), CASES)
def test_exit_code_and_last_line(outcomes: dict[str, object], code: int, line: str | None) -> None:
    r = report(**outcomes)  # type: ignore[arg-type]
    assert r.exit_code == code
    if line is not None:
        assert last_line(r) == line
    text = render_apply_text(r)
    assert text.rstrip().splitlines()[-1] == last_line(r)
    assert f"**{last_line(r)}**" in render_apply_markdown(r)


WORDS = {
    "failed": r"2 leads failed",
    "unknown": r"2 leads with an unknown outcome",
    "missing_fail": r"2 missing leads(?! skipped)",
    "missing_skip": r"2 missing leads skipped",
    "invalid": r"2 invalid rows",
    "not_attempted": r"2 leads not attempted",
    "changed": r"2 changed items not resent",
}


@pytest.mark.parametrize(
    "present",
    list(itertools.product((0, 1), repeat=len(WORDS))),
    ids=lambda p: "".join(map(str, p)),
)
def test_every_combination_is_named_in_the_last_line(present: tuple[int, ...]) -> None:
    outcomes = {name: 2 * on for name, on in zip(WORDS, present, strict=True)}
    r = report(sent=3, **outcomes)
    line = last_line(r)
    for name, on in zip(WORDS, present, strict=True):
        assert bool(re.search(WORDS[name], line)) == bool(on), (name, line)
    assert line.startswith("Everything planned was sent") == (not any(present))
    incomplete = outcomes["failed"] or outcomes["unknown"] or outcomes["missing_fail"]
    assert r.exit_code == (3 if incomplete else 0)


def test_changed_batch_runs_get_the_fix_not_a_promise_of_a_retry() -> None:
    from mktsync.apply.result import ScheduleReport

    r = ApplyReport(
        run_id=1,
        plan=PLAN,
        campaigns=[],
        schedules=[ScheduleReport(name="blast", campaign_id=3001, changed=2)],
    )
    line = last_line(r)
    assert "2 changed batch runs not scheduled again" in line
    assert "tried again next run" not in line
    assert "set 'retrigger: on_change'" in line
