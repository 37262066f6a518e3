"""The plan's bytes do not depend on its memory bounds (issue 16, QA).

One project mixes what the bounds meet: two entries sending to one campaign id (one by email,
one by lead id), duplicate keys early, late and across the exact-check bound, token values
with NUL, non-ASCII keys, invalid rows, ``retrigger: never`` with changed items, unknown
items (with and without ``--retry-unknown``) and a ``fields:`` campaign.  Planned with the
default bounds and with every bound tiny, the JSON, text and Markdown outputs (and the
error of an exceeded ``max_invalid``) must be byte-identical.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from testing import project
from testing.plans import record
from testing.project import LEAD_BY_EMAIL, flow

import mktsync.plan.lists
import mktsync.plan.spill
import mktsync.render.keys
from mktsync.cli import main
from mktsync.config import load_config
from mktsync.items import Item
from mktsync.render import iter_items

ROWS = 700
COLUMNS = flow(
    email="string", lead_id="integer", webinar="string", code="string", name="string", key="string"
)
BY_ID = flow(id="{{ row.lead_id }}")
ENTRIES = {
    "a-email": (100, LEAD_BY_EMAIL, "{{ row.key }}", "on_change", {}),
    "b-id": (100, BY_ID, "id{{ row.key }}", "never", {}),
    "c-code": (200, LEAD_BY_EMAIL, "{{ row.key }}/{{ row.webinar }}", "never", {}),
    "d-fields": (
        300,
        BY_ID,
        "f{{ row.key }}",
        "on_change",
        {"fields": flow(nameField="{{ row.name }}")},
    ),
}


def write_project(tmp_path: Path, max_invalid: int) -> Path:
    rows = []
    for n in range(ROWS):
        row = {
            "email": f"u{n % 450}@ex.com",
            "lead_id": 1000 + n % 500,
            "webinar": f"w{n % 4}",
            "code": "shared" if n % 5 == 0 else f"c{n}",
            "name": "é中lone" if n % 17 == 0 else f"N{n}",
            "key": f"é中k{n % 3}" if n % 19 == 0 else f"k{n}",
        }
        if n % 13 == 0:
            row["code"] = f"nul\x00{n % 3}"
        if n % 23 == 0:
            del row["webinar"]  # invalid: a required column is missing
        rows.append(row)
    rows[1]["key"] = rows[0]["key"]  # early
    rows[-1]["key"] = rows[-2]["key"]  # late
    rows[600]["key"] = rows[2]["key"]  # across the bound
    campaigns = {
        name: {
            "campaign_id": cid,
            "source": "p",
            "lead": lead,
            "key": key,
            "retrigger": retrigger,
            "max_invalid": max_invalid,
            "tokens": {
                "my.W": "{{ row.webinar }}",
                **({"my.Code": "{{ row.code }}"} if name == "c-code" else {}),
            },
            **extra,
        }
        for name, (cid, lead, key, retrigger, extra) in ENTRIES.items()
    }
    return project.write_project(
        tmp_path,
        ledger="sqlite:///ledger.db",
        sources={"p": flow(type="jsonl", path="p.jsonl", columns=COLUMNS)},
        campaigns=campaigns,
        files={"p.jsonl": "".join(json.dumps(r) + "\n" for r in rows)},
    )


def seed(path: Path) -> None:
    config = load_config(path)
    for name in config.campaigns:
        items = [i for i in iter_items(config, config.campaigns[name]) if isinstance(i, Item)]
        old = [
            dataclasses.replace(i, tokens=tuple((n, v + "-old") for n, v in i.tokens))
            for i in items[10:300]
        ]
        record(path, "sent", items[:10] + old)
        record(path, "unknown", items[300:340])
        record(path, "failed", items[340:360])


def outputs(path: Path, extra: list[str]) -> list[tuple[int, str, str]]:
    got = []
    for argv in (["--format", "json"], ["--format", "text", "-v"], ["--format", "markdown"]):
        out, err = io.StringIO(), io.StringIO()
        # The plans' instant is pinned: the JSON and the headers say it (issue 21).
        argv += ["--now", "2026-12-05T09:00:00Z"]
        code = main(["plan", *argv, *extra, str(path)], stdout=out, stderr=err)
        got.append((code, out.getvalue(), err.getvalue()))
    return got


def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mktsync.plan.spill, "GROUPS_HELD", 2)
    monkeypatch.setattr(mktsync.render.keys, "KEYS_HELD", 1)
    monkeypatch.setattr(mktsync.render.keys, "LOG_HELD", 3)
    monkeypatch.setattr(mktsync.plan.lists, "HELD", 1)


@pytest.mark.parametrize("extra", [[], ["--retry-unknown"]])
def test_tiny_bounds_give_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    path = write_project(tmp_path, max_invalid=1000)
    seed(path)
    default = outputs(path, extra)
    assert [code for code, _, _ in default] == [0, 0, 0]
    plan = json.loads(default[0][1])
    counts = {c["name"]: c["counts"] for c in plan["campaigns"]}
    assert counts["b-id"]["changed"] and counts["a-email"]["retrigger"]  # the lists are long
    assert any("duplicate key" in i["reason"] for c in plan["campaigns"] for i in c["invalid"])
    tiny(monkeypatch)
    assert outputs(path, extra) == default


def test_tiny_bounds_give_the_same_max_invalid_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, max_invalid=5)
    default = outputs(path, [])
    assert {code for code, _, _ in default} == {1}
    assert "more than max_invalid (5)" in default[0][2]
    tiny(monkeypatch)
    assert outputs(path, []) == default
