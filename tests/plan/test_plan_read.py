"""A saved plan's calls are read from its file when iterated, not held (issue 16, point 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testing.plans import row, write_project

from mktsync import plan_config
from mktsync.errors import PlanError
from mktsync.plan.file import dumps, load_plan


def _saved(tmp_path: Path) -> tuple[Path, str]:
    rows = [row(f"u{n}@example.com", code="c" if n % 2 else f"c{n}") for n in range(260)]
    plan = plan_config(write_project(tmp_path, rows))[1]
    text = dumps(plan)
    saved = tmp_path / "plan.json"
    saved.write_text(text, encoding="utf-8")
    return saved, text


def test_a_saved_plan_reads_back_the_same_calls_from_its_file(tmp_path: Path) -> None:
    saved, text = _saved(tmp_path)
    plan = load_plan(saved)
    assert dumps(plan) == text
    data = json.loads(text)["campaigns"][0]["calls"]
    calls = list(plan.campaigns[0].calls)
    assert len(plan.campaigns[0].calls) == len(calls) == len(data) == 132  # 130 own + 2 shared
    assert [[p.item.key for p in c.items] for c in calls] == [
        [lead["key"] for lead in call["leads"]] for call in data
    ]
    assert plan.campaigns[0].calls[-1] == calls[-1]


def test_the_calls_stay_in_the_file_until_they_are_read(tmp_path: Path) -> None:
    """Loading keeps where the calls are, not the calls: a file changed after loading is
    refused when the calls are read, in plain words."""
    saved, text = _saved(tmp_path)
    plan = load_plan(saved)
    saved.write_text(text.replace("u1@example.com", "u1@example.info"), encoding="utf-8")
    with pytest.raises(PlanError, match="the saved plan changed while it was applied"):
        list(plan.campaigns[0].calls)


def test_a_plan_laid_out_otherwise_is_read_whole(tmp_path: Path) -> None:
    saved, text = _saved(tmp_path)
    saved.write_text(json.dumps(json.loads(text), indent=2), encoding="utf-8")
    assert dumps(load_plan(saved)) == text


def test_a_damaged_lead_line_is_refused_when_the_plan_is_loaded(tmp_path: Path) -> None:
    saved, text = _saved(tmp_path)
    lines = text.splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if '"key": "u7@example.com/w1"' in line)
    lines[n] = lines[n].replace('"key": ', '"kee": ')
    saved.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PlanError, match="damaged plan file"):
        load_plan(saved)
