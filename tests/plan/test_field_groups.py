"""An item's two groups of lead fields, made once by ``render`` and kept apart downstream:
``fields:`` (synced to every lead and recorded in the ledger) and ``lead.fields`` (given
only to a lead ``create_missing`` creates).  The plan file writes them together; the
items read back from the spill and from a saved plan are the items rendered, and a saved
plan whose groups were edited is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mktsync.config import load_config
from mktsync.ledger import open_ledger
from mktsync.plan import make_plan
from mktsync.plan.file import dumps, load_plan
from mktsync.render import iter_items

EMULATOR_LEDGER = "sqlite:///.mktsync/emulator-ledger.db"  # what `apply --emulator` uses


def project(root: Path) -> Path:
    (root / "regs.csv").write_text(
        "email,code,first\nann@example.com,c1,Ann\nbob@example.com,c2,Bob\n", encoding="utf-8"
    )
    path = root / "campaigns.yaml"
    path.write_text(
        """version: 1
marketo:
  base_url: ${MARKETO_BASE_URL}
  client_id: ${MARKETO_CLIENT_ID}
  client_secret: ${MARKETO_CLIENT_SECRET}
sources:
  regs: {type: csv, path: regs.csv}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead:
      email: "{{ row.email }}"
      fields: {firstName: "{{ row.first }}"}
    create_missing: true
    tokens: {my.Code: "{{ row.code }}"}
    fields: {webinarJoinLink: "https://j.example.com/{{ row.code }}"}
""",
        encoding="utf-8",
    )
    return path


def test_the_groups_are_made_once_and_read_back_as_they_were(tmp_path: Path) -> None:
    config = load_config(project(tmp_path))
    rendered = list(iter_items(config, config.campaigns["reminder"]))
    ann = rendered[0]
    assert ann.synced == (("webinarJoinLink", "https://j.example.com/c1"),)  # type: ignore[union-attr]
    assert ann.create_fields == (("firstName", "Ann"),)  # type: ignore[union-attr]
    assert ann.recorded == (  # type: ignore[union-attr]
        ("{{my.Code}}", "c1"),
        ("lead.webinarJoinLink", "https://j.example.com/c1"),
    )
    with open_ledger(config.ledger.resolve({}), config.base_dir) as ledger:
        plan = make_plan(config, ledger)
        spilled = [p.item for call in plan.campaigns[0].calls for p in call.items]
        text = dumps(plan)
    assert spilled == rendered
    lead = json.loads(text)["campaigns"][0]["calls"][0]["leads"][0]
    assert lead["fields"] == {"firstName": "Ann", "webinarJoinLink": "https://j.example.com/c1"}
    saved = tmp_path / "plan.json"
    saved.write_text(text, encoding="utf-8")
    again = [p.item for call in load_plan(saved).campaigns[0].calls for p in call.items]
    assert again == rendered
    assert [i.recorded for i in again] == [i.recorded for i in rendered]  # type: ignore[union-attr]


def mktsync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_saved_plan_whose_field_groups_were_edited_is_refused(tmp_path: Path) -> None:
    project(tmp_path)
    made = mktsync(tmp_path, "plan", "--ledger", EMULATOR_LEDGER, "--out", "plan.json", "-q")
    assert made.returncode == 0, made.stderr
    saved = tmp_path / "plan.json"
    text = saved.read_text(encoding="utf-8")
    # firstName made a field synced to every lead (and recorded), not one for created leads.
    edited = text.replace(
        '"field": "firstName", "leads": 2, "created_only": true', '"field": "firstName", "leads": 2'
    )
    assert edited != text
    saved.write_text(edited, encoding="utf-8")
    refused = mktsync(tmp_path, "apply", "plan.json", "--emulator", "--yes")
    assert refused.returncode == 1
    assert (
        "plan.json: the lead fields of campaign 'reminder' are not those its config declares"
        in refused.stderr
    )
    saved.write_text(text, encoding="utf-8")
    applied = mktsync(tmp_path, "apply", "plan.json", "--emulator", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "2 leads sent in 2 calls" in applied.stdout
    config = load_config(tmp_path / "campaigns.yaml")
    with open_ledger(EMULATOR_LEDGER, config.base_dir) as ledger:
        recorded = {r.key: dict(r.tokens) for r in ledger.iter_records(1234)}
    assert recorded == {  # the synced field with the tokens; the one for created leads not
        "ann@example.com": {
            "{{my.Code}}": "c1",
            "lead.webinarJoinLink": "https://j.example.com/c1",
        },
        "bob@example.com": {
            "{{my.Code}}": "c2",
            "lead.webinarJoinLink": "https://j.example.com/c2",
        },
    }
