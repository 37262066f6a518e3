"""The class vocabulary is written in several places until one enum holds it: they agree.

Trigger classes: ``planned.CLASSES`` with ``report.words.MARKS``; batch-run classes:
``schedules.CLASSES`` with ``report.schedules.MARKS``; colours by mark in
``report.text._COLORS``.  A class added to one place and missed in another fails here, and
every class shows, with its mark and its count, in the text, Markdown and JSON plans.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from testing.project import LEAD_BY_EMAIL, csv_source, write_project

from mktsync import plan_config
from mktsync.plan import batch as schedules
from mktsync.plan import records as planned
from mktsync.plan.batch import SchedulePlan, schedule_plan_from_json, schedule_plan_json
from mktsync.plan.file import dumps
from mktsync.report import batch as schedule_report
from mktsync.report import render_markdown, render_text, text, words

VOCABULARIES = [
    pytest.param(planned.CLASSES, words.MARKS, id="triggers"),
    pytest.param(schedules.CLASSES, schedule_report.MARKS, id="batch runs"),
]


@pytest.mark.parametrize(("classes", "marks"), VOCABULARIES)
def test_every_class_has_one_mark_of_its_own_and_a_colour(
    classes: tuple[str, ...], marks: dict[str, str]
) -> None:
    assert list(marks) == list(classes)
    assert len(set(marks.values())) == len(marks), "two classes share a mark"
    assert {marks[c] for c in classes} <= set(text._COLORS)


def test_a_class_has_the_same_mark_wherever_it_is_named() -> None:
    shared = set(words.MARKS) & set(schedule_report.MARKS)
    assert shared  # unchanged, filtered, invalid, unknown, changed
    assert {c: words.MARKS[c] for c in shared} == {c: schedule_report.MARKS[c] for c in shared}
    assert schedule_report.MARKS["orphaned"] == "⊘"


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


def test_every_batch_run_class_shows_in_text_markdown_and_json(tmp_path: Path) -> None:
    _, plan = plan_config(project(tmp_path))
    counts = {c: 101 + n for n, c in enumerate(schedules.CLASSES)}  # each one recognisable
    sp = dataclasses.replace(plan.schedules[0], counts=counts)
    plan = dataclasses.replace(plan, schedules=(sp,))
    shown = render_text(plan)
    for c in schedules.CLASSES:
        assert f"  {schedule_report.MARKS[c]} {c:<10} {counts[c]:>8,}" in shown
    markdown = render_markdown(plan)
    header = next(line for line in markdown.splitlines() if line.startswith("| batch campaign"))
    assert header.split(" | ")[2:-1] == [
        f"{schedule_report.MARKS[c]} {c}" for c in schedules.CLASSES
    ]
    row = next(line for line in markdown.splitlines() if line.startswith("| `blast`"))
    assert row.split(" | ")[2:-1] == [str(counts[c]) for c in schedules.CLASSES]
    written = json.loads(dumps(plan))["schedules"][0]["counts"]
    assert written == counts
    back: SchedulePlan = schedule_plan_from_json(schedule_plan_json(sp))
    assert dict(back.counts) == counts
