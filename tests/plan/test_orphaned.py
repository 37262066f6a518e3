"""Batch runs still scheduled in Marketo for rows that are gone: ``⊘ orphaned``, never silent.

A webinar removed after its batch run was scheduled must not pass as ``- filtered``: the run
stays scheduled in Marketo (REST cannot unschedule it) and its email goes out.  The plan,
its JSON, ``--detailed-exitcode`` and ``apply`` all say so, with the time and where to
cancel it; a run whose time has passed is history and is not shown.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, write_project
from testing.seed import serve_project as emulator

from mktsync.cli import main
from mktsync.config import load_config
from mktsync.emulator import Emulator
from mktsync.items import Item
from mktsync.ledger import open_ledger
from mktsync.plan import make_plan
from mktsync.plan.file import dumps, load_plan
from mktsync.report.batch import orphan_line

NOW = datetime.now(UTC).replace(microsecond=0)


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def project(
    tmp_path: Path,
    rows: list[tuple[str, str, str]],
    *,
    when: str | None = None,
    more: Mapping[str, Any] | None = None,
) -> Path:
    """Campaign 1234 on ``regs.csv``; batch campaign 3001 (``starts-soon``) run for each
    webinar of ``rows`` (``sessions``) that ``when`` keeps; ``more`` schedules beside it."""
    starts_soon = {
        "campaign_id": 3001,
        "source": "webinars",
        "key": "{{ row.webinar_id }}",
        "run_at": "{{ row.blast_at }}",
        **({"when": when} if when is not None else {}),
        "tokens": {"my.WebinarTitle": "{{ row.title }}"},
    }
    reminder = {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "key": "{{ row.email }}/{{ row.webinar }}",
    }
    path = write_project(
        tmp_path,
        marketo=MARKETO_FROM_ENV,
        sources={"regs": csv_source("regs.csv"), "webinars": csv_source("webinars.csv")},
        campaigns={"reminder": reminder},
        schedules={"starts-soon": starts_soon, **(more or {})},
        files={"regs.csv": "email,webinar\nann@example.com,wb-1\n"},
    )
    sessions(path, rows)
    return path


def sessions(path: Path, rows: list[tuple[str, str, str] | tuple[str, str, str, str]]) -> None:
    lines = ["webinar_id,title,blast_at,status", *(",".join([*s, "on"][:4]) for s in rows)]
    (path.parent / "webinars.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(argv: list[str], emu: Emulator | None, monkeypatch: Any) -> tuple[int, str, str]:
    if emu is not None:
        monkeypatch.setenv("MARKETO_BASE_URL", emu.base_url)
        monkeypatch.setenv("MARKETO_CLIENT_ID", emu.client_id)
        monkeypatch.setenv("MARKETO_CLIENT_SECRET", emu.client_secret)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_removed_row_whose_run_is_scheduled_is_orphaned_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = at(26), at(50)
    path = project(tmp_path, [("wb-1", "Git for Ops", first), ("wb-2", "Contracts", second)])
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert len(emu.schedules()) == 2

        sessions(path, [("wb-1", "Git for Ops", first)])  # the webinar wb-2 is cancelled
        code, out, err = cli(["plan", str(path), "--detailed-exitcode"], None, monkeypatch)
        assert code == 2, out + err
        assert "⊘ orphaned          1" in out
        assert f"⊘ wb-2: still scheduled in Marketo to run at {second}" in out
        assert "open smart campaign 3001, its Schedule tab, click the x next to the run" in out
        assert "mktsync ledger forget wb-2 --campaign-id 3001" in out
        assert (
            out.rstrip().splitlines()[-1]
            == orphan_line(1)
            == (
                "1 batch run is still scheduled in Marketo for a row that is gone: cancel it there "
                "(the smart campaign's Schedule tab), then 'mktsync ledger forget' its key."
            )
        )
        assert "1 batch run still scheduled in Marketo for a row that is gone" in out  # headline

        code, out, _ = cli(["plan", str(path), "--format", "markdown"], None, monkeypatch)
        assert "| ⊘ orphaned | runs at |" in out
        assert "| `starts-soon` | 3001 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 1 | `-` |" in out
        assert f"key `wb-2` runs at `{second}`" in out
        tokens = MarkdownIt("commonmark").enable("table").parse(out)
        assert any(t.type == "blockquote_open" for t in tokens)

        code, out, _ = cli(["plan", str(path), "--format", "json"], None, monkeypatch)
        entry = json.loads(out)["schedules"][0]
        assert entry["counts"]["orphaned"] == 1
        assert entry["counts"]["filtered"] == 0
        (orphan,) = entry["orphaned"]
        assert orphan["key"] == "wb-2"
        assert orphan["run_at"] == second
        assert orphan["tokens"] == {"{{my.WebinarTitle}}": "Contracts"}
        assert orphan["scheduled_at"] and orphan["request_id"]

        # apply cannot cancel it: it says so, calls nothing for it, and is not green.
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 3, out + err
        assert len(emu.schedules()) == 2
        assert f"⊘ wb-2 at {second}: still scheduled in Marketo" in out
        assert out.rstrip().splitlines()[-1] == f"Nothing to send, but {orphan_line(1)}"
        assert "run wb-2 at" in err and "is still scheduled in Marketo" in err  # the log line

        # Cancelled in Marketo, then forgotten: the plan and apply are quiet again.
        argv = ["ledger", "forget", "wb-2", "--campaign-id", "3001", "--why", "cancelled"]
        code, out, err = cli([*argv, "--config", str(path)], None, monkeypatch)
        assert code == 0, out + err
        code, out, err = cli(["plan", str(path), "--detailed-exitcode"], None, monkeypatch)
        assert code == 0, out + err
        assert "⊘ orphaned" not in out  # a class at zero is not shown
        assert "(batch campaign 3001, source webinars): nothing to do (" in out
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err


def test_a_row_left_out_by_when_is_orphaned_too_and_a_run_in_the_past_is_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = "{{ row.status == 'on' }}"
    path = project(
        tmp_path, [("wb-1", "Git for Ops", at(2)), ("wb-2", "Contracts", at(30))], when=when
    )
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
    sessions(path, [("wb-1", "Git for Ops", at(2), "off"), ("wb-2", "Contracts", at(30), "off")])
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        (sp,) = make_plan(config, ledger, now=NOW).schedules
        assert sp.counts["filtered"] == 2
        assert [o.key for o in sp.orphaned] == ["wb-1", "wb-2"]
        # Three hours on, wb-1 has run: history, not shown; wb-2 is still ahead.
        (sp,) = make_plan(config, ledger, now=NOW + timedelta(hours=3)).schedules
        assert [o.key for o in sp.orphaned] == ["wb-2"] and sp.counts["orphaned"] == 1
        later = make_plan(config, ledger, now=NOW + timedelta(hours=31))
        assert later.schedules[0].orphaned == () and not later.summary.needs_review


def test_a_run_recorded_without_its_time_is_orphaned_no_evidence_it_ran(tmp_path: Path) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))])
    config = load_config(path)
    record = Item(
        campaign="starts-soon",
        campaign_id=3001,
        key="by-hand",
        lead_id=None,
        email="batch",
        tokens=(("{{my.WebinarTitle}}", "Old"),),
        source="webinars",
        row=9,
    )
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        with ledger.lock(command="test"):
            run = ledger.start_run(command="test", config_digest="d", git_commit=None)
            ledger.mark_pending(run, [record])
            ledger.mark_sent(run, 3001, ["by-hand"], request_id="r1")
        plan = make_plan(config, ledger, now=NOW)
    (orphan,) = plan.schedules[0].orphaned
    assert orphan.key == "by-hand" and orphan.run_at is None
    assert plan.summary.schedule_orphaned == 1 and plan.summary.needs_review


class _Spy:
    """A real ledger, with the campaign ids whose records were iterated written down."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self.iterated: list[int | None] = []

    def iter_records(self, campaign_id: int | None = None) -> Iterator[Any]:
        self.iterated.append(campaign_id)
        return self._ledger.iter_records(campaign_id)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def test_finding_orphans_reads_only_the_batch_campaign_ids_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2)), ("wb-2", "Contracts", at(3))])
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
    sessions(path, [("wb-1", "Git for Ops", at(2))])
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        spy = _Spy(ledger)
        plan = make_plan(config, spy, now=NOW)
    assert [o.key for o in plan.schedules[0].orphaned] == ["wb-2"]
    assert spy.iterated == [3001]  # never the whole ledger, never the trigger campaign 1234


def shared(run_at: str) -> dict[str, Any]:
    """Another schedule of batch campaign 3001: one run, for everyone."""
    return {
        "other-blast": {
            "campaign_id": 3001,
            "run_at": run_at,
            "tokens": {"my.WebinarTitle": "Everyone"},
        }
    }


def test_schedules_sharing_a_campaign_id_pool_their_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))], more=shared(at(40)))
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert len(emu.schedules()) == 2
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        plan = make_plan(config, ledger, now=NOW)
        assert [sp.orphaned for sp in plan.schedules] == [(), ()]  # each key has its row
        # Planned alone, 'starts-soon' cannot know 'other-blast''s keys: not checked.
        alone = make_plan(config, ledger, campaigns=["starts-soon"], now=NOW)
        assert [sp.name for sp in alone.schedules] == ["starts-soon"]
        assert alone.schedules[0].orphaned == ()
    sessions(path, [])  # every webinar gone: its run is orphaned; the single run is not
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        plan = make_plan(config, ledger, now=NOW)
    assert [[o.key for o in sp.orphaned] for sp in plan.schedules] == [["wb-1"], []]


def test_a_saved_plan_keeps_its_orphans_and_apply_reports_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2)), ("wb-2", "Contracts", at(3))])
    saved = tmp_path / "plan.json"
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        sessions(path, [("wb-1", "Git for Ops", at(2))])
        code, _, err = cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)
        assert code == 0, err
        plan = load_plan(saved)
        assert plan.summary.schedule_orphaned == 1
        assert dumps(plan) == saved.read_text(encoding="utf-8")  # read back, written the same
        code, out, err = cli(["apply", str(saved), "--format", "json"], emu, monkeypatch)
        assert code == 3, out + err
        report = json.loads(out)
        assert report["schedules"][0]["orphaned"] == [f"wb-2 at {at(3)}"]
        assert report["last_line"] == f"Nothing to send, but {orphan_line(1)}"
