"""A plan over a damaged ledger errors, or says what the plan over the undamaged one says.

Issue 21: single-bit flips that ``quick_check`` passes (a key changed inside a table page:
``integrity_check`` finds a row missing from the status index) made ``plan`` show leads
sent long ago as new triggers, exit 0, while ``apply`` on the same file refused.  ``plan``
now runs apply's own check first (``LedgerReader.check_integrity``).

The ledger is a real one: written by ``apply`` against the emulator (sends, a refusal, a
lost answer), its lead cache filled; the data then changed a little (new rows, a changed
token), so the plan has every class to get wrong.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import COLUMNS, apply, emulator, rows, write_project
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from testing.project import csv_text, write_file

from mktsync.cli import main
from mktsync.config import load_config
from mktsync.emulator import EmulatorOptions
from mktsync.ledger import open_ledger
from mktsync.plan import make_plan

SENT = 120


@dataclass(frozen=True)
class Project:
    config: Path
    ledger: Path
    pristine: bytes
    page_size: int
    used: tuple[tuple[int, ...], ...]  # per page, the offsets of its non-zero bytes
    plan: dict[str, Any]  # the undamaged plan, as compared


def plan_json(config: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", "--format", "json", str(config)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def compared(text: str) -> dict[str, Any]:
    """The plan minus what the lead cache forecasts and the fingerprint: a cache entry that
    fails its checksum is left out and looked up again (by design, docs/ledger.md), so a
    damaged one honestly forecasts one more lookup; every item, class and call stays."""
    plan = json.loads(text)
    plan.pop("ledger")
    # Where a plan says when it was made and which ledger it is bound to (saved-plan
    # binding): the instant moves between two plans, the ledger's id is the fingerprint's.
    plan.pop("now", None)
    plan.get("binding", {}).pop("ledger_id", None)
    for name in ("lookup_calls", "total_calls", "missing_forecast", "quota_share"):
        plan["summary"].pop(name)
    plan["summary"].pop("estimated_seconds")
    for campaign in plan["campaigns"]:
        for name in ("lookup_emails", "lookup_calls", "missing_forecast"):
            campaign.pop(name)
    return plan  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("damage")
    config = write_project(folder, rows(SENT, shared_code=False), calls=1000)
    faults = EmulatorOptions(calls=1000, faults="trigger#7=611,trigger#9=lost,trigger#20=611")
    with emulator(config, faults) as emu:
        apply(config, emu)  # 117 sent, 2 failed, 1 unknown
    data = rows(SENT + 10, shared_code=False)  # 10 new rows
    data[50]["code"] = "changed"  # retrigger: on_change
    write_file(folder / "regs.csv", csv_text(data, COLUMNS))
    ledger = folder / ".mktsync" / "ledger.db"
    assert not Path(f"{ledger}-wal").exists() or not Path(f"{ledger}-wal").stat().st_size
    pristine = ledger.read_bytes()
    page_size = int.from_bytes(pristine[16:18], "big")
    used = tuple(
        tuple(i for i in range(start, start + page_size) if pristine[i])
        for start in range(0, len(pristine), page_size)
    )
    code, out, err = plan_json(config)
    assert code == 0, err
    plan = compared(out)
    assert {k: plan["summary"][k] for k in ("trigger", "retrigger", "unknown", "unchanged")} == {
        "trigger": 12, "retrigger": 1, "unknown": 1, "unchanged": 116,
    }  # fmt: skip
    return Project(config, ledger, pristine, page_size, used, plan)


def damage(project: Project, flips: list[tuple[int, int, int]]) -> None:
    data = bytearray(project.pristine)
    for page, offset, xor in flips:
        data[page * project.page_size + offset] ^= xor
    project.ledger.write_bytes(bytes(data))
    for leftover in ("-wal", "-shm"):
        Path(f"{project.ledger}{leftover}").unlink(missing_ok=True)


def assert_plain_error(code: int, out: str, err: str) -> None:
    assert code == 1, out
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("error: ") and "ledger.db" in err.splitlines()[0], err
    assert err.isascii() and all(line.isprintable() for line in err.splitlines()), err


@st.composite
def page_damage(draw: st.DrawFn, project: Project) -> list[tuple[int, int, int]]:
    """1-2 pages, any page of the file (tables, indexes, the schema, free space); in each,
    1-3 bytes among those in use (most of a small page is empty, where a flip proves
    nothing), each XORed with a non-zero byte (a single bit, often)."""
    flips = []
    for page in draw(st.lists(st.integers(0, len(project.used) - 1), min_size=1, max_size=2)):
        offsets = project.used[page] or (0,)
        for offset in draw(st.lists(st.sampled_from(offsets), min_size=1, max_size=3)):
            bit = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128])
            xor = draw(bit | st.integers(1, 255))
            flips.append((page, offset % project.page_size, xor))
    return flips


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_plan_over_page_damage_errors_or_equals_the_undamaged_plan(
    project: Project, data: st.DataObject
) -> None:
    flips = data.draw(page_damage(project))
    damage(project, flips)
    try:
        code, out, err = plan_json(project.config)
        if code == 0:
            event("plan unchanged")
            assert compared(out) == project.plan, (flips, err)
        else:
            event(f"error: {_kind(err)}")
            assert_plain_error(code, out, err)
    finally:
        project.ledger.write_bytes(project.pristine)


def _kind(err: str) -> str:
    for kind in ("quick_check", "integrity_check", "checksum", "tokens that do not match"):
        if kind in err:
            return kind
    return "other"


def test_a_key_damaged_inside_the_table_is_an_error_not_a_new_trigger(project: Project) -> None:
    """The bug as found: a bit of a key flipped in a table page.  SQLite's quick check
    passes, and a lookup of the key misses: the plan showed the lead as a new trigger."""
    key = b"user60@example.com/w1"
    starts = []
    at = project.pristine.find(key)
    while at >= 0:
        starts.append(at)
        at = project.pristine.find(key, at + 1)
    # The table's record and the status index's entry, and sometimes a stale copy on a page
    # SQLite freed (the layout depends on the run): the loop below finds the table's copy.
    assert len(starts) >= 2
    for at in starts:
        data = bytearray(project.pristine)
        data[at + 2] ^= 0x01  # 'user60' -> 'usdr60'
        project.ledger.write_bytes(bytes(data))
        conn = sqlite3.connect(project.ledger)
        quick = conn.execute("PRAGMA quick_check").fetchall()
        found = conn.execute(
            "SELECT 1 FROM items WHERE campaign_id = 1234 AND key = ?", (key.decode(),)
        ).fetchall()
        conn.close()
        if quick == [("ok",)] and not found:
            break
    else:  # pragma: no cover - the layout changed; the test must find the table's copy
        raise AssertionError("no flip of the key hid the record while quick_check passed")
    try:
        config = load_config(project.config)
        with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
            unchecked = make_plan(config, ledger)  # the reads alone: the phantom
        # The damaged record, and maybe neighbours a search of the page now misses, show as
        # new: the phantoms of the issue.
        assert unchecked.summary.trigger > project.plan["summary"]["trigger"]
        code, out, err = plan_json(project.config)
        assert_plain_error(code, out, err)
        assert "campaign 1234 key 'usdr60@example.com/w1' fails its checksum" in err
    finally:
        project.ledger.write_bytes(project.pristine)
