"""Protected lead fields (issue 25) end to end: ``python -m mktsync`` in a subprocess, real
files, and an emulator over a socket whose leads say what Marketo would hold afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from apply_helpers import triggered
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, flow, write_project
from testing.seed import campaign, program, seed

from mktsync.emulator import Emulator, EmulatorOptions, serve

ALLOW = {"field": "unsubscribed", "reason": "opt-outs collected at the event desk (MKT-12)"}
SEEDED = [
    {"id": 1, "email": "ada@example.com"},
    {"id": 2, "email": "bob@example.com", "unsubscribed": True},
    {"id": 3, "email": "cy@example.com", "unsubscribed": True},
]


@contextmanager
def emulator(leads: list[dict[str, Any]]) -> Iterator[Emulator]:
    """Campaign 1234, requestable, and ``leads``; seeded by hand, since a refused config
    cannot seed one."""
    desk = seed(
        programs=[program(51234, "Events")],
        campaigns=[campaign(1234, "Desk", program_id=51234)],
        leads=leads,
        lead_fields=[{"name": "webinarJoinLink", "dataType": "url"}],
    )
    with serve(seed=desk, options=EmulatorOptions()) as emu:
        yield emu


def project(
    tmp_path: Path,
    fields: dict[str, str],
    *,
    allow: dict[str, Any] | None = None,
    rows: str = "",
    **settings: Any,
) -> Path:
    """Campaign ``x`` writing ``fields`` to the leads of ``desk.csv``, allowed ``allow``."""
    x = {
        "campaign_id": 1234,
        "source": "desk",
        "lead": LEAD_BY_EMAIL,
        "fields": fields,
        **({"allow_protected_fields": [allow]} if allow else {}),
        **settings,
    }
    return write_project(
        tmp_path,
        marketo=MARKETO_FROM_ENV,
        sources={"desk": csv_source("desk.csv")},
        campaigns={"x": x},
        files={"desk.csv": rows or "email,out\nada@example.com,true\nbob@example.com,1\n"},
    )


def mktsync(tmp_path: Path, *args: str, emu: Emulator | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
    if emu is not None:
        env |= {
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


def leads(emu: Emulator) -> dict[str, dict[str, Any]]:
    return {lead["email"]: lead for lead in emu.leads()}


def synced(emu: Emulator) -> list[dict[str, Any]]:
    """Every record the emulator received in a leads.json sync."""
    return [
        record
        for entry in emu.journal()
        if entry.get("endpoint") == "leads_sync"
        for record in (entry.get("body") or {}).get("input", [])
    ]


def test_unsubscribed_false_is_refused_at_validate_plan_and_apply(tmp_path: Path) -> None:
    project(tmp_path, {"unsubscribed": "false"})
    expected = (
        "campaigns.yaml:14:7: campaigns.x.fields.unsubscribed: 'unsubscribed' is a protected"
        " lead field (consent): mktsync does not write it unless allow_protected_fields names"
        " it with a reason\n"
    )
    code, out, err = mktsync(tmp_path, "validate")
    assert (code, out) == (1, expected), err
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 1 and expected.strip() in out + err
    with emulator(SEEDED) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 1 and expected.strip() in out + err
        assert synced(emu) == [] and emu.triggers() == []
        assert leads(emu)["bob@example.com"]["unsubscribed"] is True


def test_rewriting_every_email_is_refused(tmp_path: Path) -> None:
    project(tmp_path, {"email": "changed-{{ row.email }}"})
    code, out, _ = mktsync(tmp_path, "validate")
    assert code == 1
    assert "campaigns.x.fields.email: 'email' is a protected lead field (identity)" in out
    with emulator(SEEDED) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 1, out + err
        assert synced(emu) == []
        assert sorted(leads(emu)) == ["ada@example.com", "bob@example.com", "cy@example.com"]


def test_an_allowed_withdrawal_is_sent_and_every_plan_shows_the_reason(tmp_path: Path) -> None:
    project(tmp_path, {"unsubscribed": "{{ row.out }}"}, allow=ALLOW)
    reason = "opt-outs collected at the event desk (MKT-12)"
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 0, err
    warning = (
        f"warning: 'x' writes protected lead field unsubscribed (consent) to 2 leads: {reason}"
    )
    lines = out.splitlines()
    campaign = next(n for n, line in enumerate(lines) if line.startswith("x (campaign 1234"))
    assert lines[campaign + 1] == "  " + warning  # the first line under the campaign
    assert out.rstrip().splitlines()[-1] == warning  # and in the summary (plan -q)
    code, out, _ = mktsync(tmp_path, "plan", "--format", "markdown")
    assert (
        f"> ⚠ **`x` writes protected lead field `unsubscribed`** (consent) to 2 leads: `{reason}`"
        in out.split("<details>")[0]  # above the collapsed sections
    )
    code, out, _ = mktsync(tmp_path, "plan", "--format", "json")
    (written,) = json.loads(out)["campaigns"][0]["fields_written"]
    assert written["protected"] == {"category": "consent", "reason": reason, "grant_consent": False}

    with emulator(SEEDED) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert sorted((r["id"], r["unsubscribed"]) for r in synced(emu)) == [(1, "true"), (2, "1")]
        assert leads(emu)["ada@example.com"]["unsubscribed"] is True
        assert leads(emu)["bob@example.com"]["unsubscribed"] is True
        assert sum(triggered(emu).values()) == 2


def test_granting_without_the_opt_in_makes_the_row_invalid_and_nobody_is_resubscribed(
    tmp_path: Path,
) -> None:
    rows = "email,out\nada@example.com,true\nbob@example.com,false\ncy@example.com,maybe\n"
    project(tmp_path, {"unsubscribed": "{{ row.out }}"}, allow=ALLOW, rows=rows)
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 1  # invalid rows fail the plan unless max_invalid allows them
    assert (
        "desk row 3: fields.unsubscribed: 'false' would grant consent (re-subscribe the lead);"
        " mktsync only withdraws consent unless allow_protected_fields says grant_consent:"
        " true for unsubscribed"
    ) in out + err
    assert (
        "desk row 4: fields.unsubscribed: 'maybe' is not a value for the consent flag"
        " 'unsubscribed'"
    ) in out + err
    with emulator(SEEDED) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 1 and synced(emu) == [] and emu.triggers() == []

        # Allowed as invalid rows: the others go, the opted-out leads stay opted out.
        project(tmp_path, {"unsubscribed": "{{ row.out }}"}, allow=ALLOW, rows=rows, max_invalid=2)
        code, out, err = mktsync(tmp_path, "plan")
        assert code == 0 and "! invalid           2" in out, out + err
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert "2 invalid" in out
        assert [(r["id"], r["unsubscribed"]) for r in synced(emu)] == [(1, "true")]
        state = leads(emu)  # bob and cy were seeded unsubscribed: they stay so
        assert {e: lead["unsubscribed"] for e, lead in state.items()} == dict.fromkeys(
            ["ada@example.com", "bob@example.com", "cy@example.com"], True
        )


def test_grant_consent_on_the_entry_lets_a_value_resubscribe(tmp_path: Path) -> None:
    rows = "email,out\nbob@example.com,false\n"
    allow = {**ALLOW, "grant_consent": True}
    project(tmp_path, {"unsubscribed": "{{ row.out }}"}, allow=allow, rows=rows)
    code, out, _ = mktsync(tmp_path, "plan")
    assert "its values may grant consent (grant_consent: true)" in out
    with emulator(SEEDED) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert leads(emu)["bob@example.com"]["unsubscribed"] is False


def test_lead_fields_of_created_leads_are_checked_the_same_way(tmp_path: Path) -> None:
    rows = "email,out\nada@example.com,true\nnew@example.com,false\nnewer@example.com,1\n"
    creating = {
        "fields": {"webinarJoinLink": "https://j.example.com/{{ row.out }}"},
        "rows": rows,
        "lead": flow(email="{{ row.email }}", fields=flow(unsubscribed="{{ row.out }}")),
        "create_missing": True,
        "max_invalid": 1,
    }
    project(tmp_path, allow=ALLOW, **creating)
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 0, out + err
    assert "lead.fields.unsubscribed: 'false' would grant consent" in out
    with emulator(SEEDED[:1]) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        state = leads(emu)
        assert "new@example.com" not in state  # its row was invalid: never created
        assert state["newer@example.com"]["unsubscribed"] is True
        assert "unsubscribed" not in state["ada@example.com"]  # found, not created: untouched

    # Without the allowance, validate refuses it at its line in lead.fields.
    project(tmp_path, **creating)
    code, out, _ = mktsync(tmp_path, "validate")
    assert code == 1
    assert (
        "campaigns.yaml:12:47: campaigns.x.lead.fields.unsubscribed: 'unsubscribed' is a protected"
        in out
    )
