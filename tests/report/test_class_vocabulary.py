"""One ``Action`` enum holds the plan's classes: each has a mark and a colour, and every
class a campaign or a batch campaign counts shows, with its mark and its count, in the
text, Markdown and JSON plans."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testing.project import LEAD_BY_EMAIL, csv_source, write_project

from mktsync import plan_config
from mktsync.plan.batch import SchedulePlan, schedule_plan_from_json, schedule_plan_json
from mktsync.plan.file import dumps
from mktsync.plan.records import BATCH_CLASSES, CLASSES, Action
from mktsync.report import render_markdown, render_text
from mktsync.report.text import COLORS


def test_every_action_has_a_mark_and_a_colour_and_is_counted_somewhere() -> None:
    assert set(COLORS) == set(Action)
    assert all(action.mark for action in Action)
    for classes in (CLASSES, BATCH_CLASSES):  # within one plan, a mark says one class
        assert len({c.mark for c in classes}) == len(classes)
    assert set(CLASSES) | set(BATCH_CLASSES) == set(Action)


def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
        schedules={
            "blast": {
                "campaign_id": 3001,
                "run_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            }
        },
        files={"regs.csv": "email\nann@example.com\n"},
    )


def test_every_class_shows_in_text_markdown_and_json(tmp_path: Path) -> None:
    _, plan = plan_config(project(tmp_path))
    counts = {c.value: 101 + n for n, c in enumerate(CLASSES)}  # each one recognisable
    runs = {c.value: 201 + n for n, c in enumerate(BATCH_CLASSES)}
    cp = dataclasses.replace(plan.campaigns[0], counts=counts)
    sp = dataclasses.replace(plan.schedules[0], counts=runs)
    plan = dataclasses.replace(plan, campaigns=(cp,), schedules=(sp,))
    shown = render_text(plan)
    for classes, numbers in ((CLASSES, counts), (BATCH_CLASSES, runs)):
        for c in classes:
            assert f"  {c.mark} {c.value:<10} {numbers[c.value]:>8,}" in shown
    markdown = render_markdown(plan).splitlines()
    for first, name, classes, numbers in (
        ("| campaign", "| `reminder`", CLASSES, counts),
        ("| batch campaign", "| `blast`", BATCH_CLASSES, runs),
    ):
        header = next(line for line in markdown if line.startswith(first))
        assert header.split(" | ")[2:-1] == [f"{c.mark} {c.value}" for c in classes]
        row = next(line for line in markdown if line.startswith(name))
        assert row.split(" | ")[2:-1] == [str(numbers[c.value]) for c in classes]
    written = json.loads(dumps(plan))
    assert written["campaigns"][0]["counts"] == counts
    assert written["schedules"][0]["counts"] == runs
    back: SchedulePlan = schedule_plan_from_json(schedule_plan_json(sp))
    assert dict(back.counts) == runs
