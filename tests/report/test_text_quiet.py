"""The text plan says what changes and little else (issue 22.5): no class at zero, a
campaign with nothing to do in one line, advice once per campaign and never under ``-q``,
and with ``-v`` every lead it triggers, masked unless ``--show-pii``."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from testing import project
from testing.plans import REMINDER, items_of, record
from testing.project import csv_source, csv_text

from mktsync.cli import main
from mktsync.config import load_config
from mktsync.plan import CLASSES
from mktsync.plan.records import BATCH_CLASSES, Action

REPO = Path(__file__).resolve().parents[2]
EMAILS = [f"person{i}@example.com" for i in range(3)]
ZERO = re.compile(r"^\s+\S \w+\s+0$", re.MULTILINE)  # "  ~ retrigger         0"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, *, entries: int = 1) -> Path:
    """``entries`` reminders (campaigns 1234, 1235, ...) whose join link differs per lead
    (one lead per call, and advice), and ``done``, whose rows are all filtered."""
    rows = [{"email": e, "webinar": "w1", "code": f"c{i}", "status": "registered"}
            for i, e in enumerate(EMAILS)]  # fmt: skip
    rows.append({"email": "gone@example.com", "webinar": "w1", "code": "c9", "status": "cancelled"})
    reminders = {
        f"reminder{n or ''}": {**REMINDER, "campaign_id": 1234 + n} for n in range(entries)
    }
    # Every literal is held by some row (no warning), but by no row together.
    done = {**REMINDER, "campaign_id": 99, "when": "row.status == 'cancelled' and row.code == 'c0'"}
    return project.write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={**reminders, "done": done},
        files={"regs.csv": csv_text(rows, ["email", "webinar", "code", "status"])},
    )


def test_a_class_at_zero_is_not_shown_and_nothing_to_do_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path)
    code, out, _ = run("plan", str(path))
    assert code == 0
    assert ZERO.findall(out) == []
    assert "  + trigger           3\n" in out
    assert "  - filtered          1\n" in out
    for cls in CLASSES[1:]:  # retrigger, unchanged, invalid, unknown, changed, deferred
        if cls is not Action.FILTERED:
            assert f"{cls.mark} {cls:<10}" not in out.split("done (")[0]
    assert "done (campaign 99, source regs): nothing to do (4 filtered)\n" in out

    # Once sent, the reminder has nothing to do either: one line each, no wall of zeros.
    config = load_config(path)
    record(path, "sent", items_of(config, "reminder"))
    code, out, _ = run("plan", str(path))
    assert code == 0 and ZERO.findall(out) == []
    assert "reminder (campaign 1234, source regs): nothing to do (3 unchanged, 1 filtered)\n" in out
    assert "Nothing to trigger; done: all 4 rows filtered by when." in out


def test_a_batch_campaign_shows_no_class_at_zero(tmp_path: Path) -> None:
    path = project.write_project(
        tmp_path,
        sources={"webinars": csv_source("webinars.csv")},
        campaigns={},
        schedules={
            "starts-soon": {
                "campaign_id": 3001,
                "source": "webinars",
                "key": "{{ row.id }}",
                "run_at": "{{ row.at }}",
            }
        },
        files={"webinars.csv": "id,at\nwb-1,2027-06-13T15:00:00+00:00\n"},
    )
    code, out, _ = run("plan", str(path), "--now", "2026-12-06")
    assert code == 0 and ZERO.findall(out) == []
    assert "  + schedule          1\n" in out
    for cls in BATCH_CLASSES[1:]:
        assert f"{cls.mark} {cls:<10}" not in out


def test_advice_is_said_once_per_campaign_and_quiet_keeps_none(tmp_path: Path) -> None:
    path = write(tmp_path, entries=3)
    code, out, _ = run("plan", str(path))
    assert code == 0
    advice = [line for line in out.splitlines() if "advice:" in line]
    notes = [line for line in out.splitlines() if "has its own token values" in line]
    assert len(advice) == len(notes) == 3  # one per reminder, none for 'done'
    assert {re.search(r"of '(\w+)'", line).group(1) for line in advice} == {  # type: ignore[union-attr]
        "reminder",
        "reminder1",
        "reminder2",
    }

    code, quiet, _ = run("plan", str(path), "-q")
    assert code == 0
    lines = quiet.splitlines()
    assert not [line for line in lines if "advice" in line or "token values" in line]
    # -q: a new ledger (the counts rest on it), the headline and the cost line, no more.
    assert len(lines) == 3, quiet
    assert lines[0].startswith("note: the ledger") and "does not exist yet" in lines[0]
    assert lines[1].startswith("9 leads to trigger, 0 to retrigger in 9 calls")
    assert lines[2].startswith("9 trigger calls + ")


def test_verbose_lists_every_lead_masked_and_show_pii_unmasks(tmp_path: Path) -> None:
    path = write(tmp_path)
    _, out, _ = run("plan", str(path))
    assert not [line for line in out.splitlines() if line.startswith("  + p")]  # not without -v
    code, verbose, _ = run("plan", str(path), "-v")
    assert code == 0
    listed = [line for line in verbose.splitlines() if line.startswith("  + p")]
    # Masked, the three read alike: each names its row, which tells them apart.
    assert listed == [
        f"  + p***@example.com (regs row {n})  key p***@example.com/w1" for n in (2, 3, 4)
    ]
    assert not any(email in verbose for email in EMAILS)

    code, shown, _ = run("plan", str(path), "-v", "--show-pii")
    assert code == 0
    listed = [line for line in shown.splitlines() if line.startswith("  + p")]
    assert listed == [f"  + {e} (regs row {n})  key {e}/w1" for n, e in enumerate(EMAILS, 2)]


def test_verbose_lists_each_entry_its_own_leads_where_calls_are_shared(tmp_path: Path) -> None:
    """The example: two entries share campaign 1234's calls; each lists its own leads."""
    shutil.copy(REPO / "campaigns.yaml", tmp_path)
    shutil.copytree(REPO / "data", tmp_path / "data")
    code, out, _ = run("plan", "-C", str(tmp_path), "-v", "--show-pii", "--now", "2026-12-06")
    assert code == 0
    assert "\n\n\n" not in out  # one blank line between sections, as without -v
    sections = {
        line.split(" (", 1)[0]: block
        for block in out.split("\n\n")
        for line in block.splitlines()
        if " (campaign " in line
    }
    counts = {
        name: int(re.search(r"\+ trigger +(\d+)", block).group(1))  # type: ignore[union-attr]
        for name, block in sections.items()
        if "+ trigger" in block
    }
    listed = {
        name: len(re.findall(r"^  \+ (?:\S+@\S+|id:\d+)", block, re.MULTILINE))
        for name, block in sections.items()
    }
    assert counts == {n: listed[n] for n in counts}
    assert counts["webinar-reminder-known-leads"] == 5
    known = sections["webinar-reminder-known-leads"]
    assert "sent in the trigger calls of 'webinar-reminder' (the same campaign)" in known
    assert all(line.startswith("  + id:") for line in known.splitlines() if "@" in line)


class Writes(io.StringIO):
    """A stream that remembers how many lines each write carried."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def write(self, text: str) -> int:
        self.sizes.append(text.count("\n"))
        return super().write(text)


def test_every_lead_is_written_a_page_at_a_time(tmp_path: Path) -> None:
    """``-v`` on a big plan: the leads come from the spill and go out a page at a time,
    never as one list of every line."""
    from testing.plans import row, write_project

    from mktsync import plan_config
    from mktsync.report.text import PAGE, write_text

    n = 2 * PAGE + 500
    path = write_project(tmp_path, [row(f"u{i}@example.com") for i in range(n)])
    _, plan = plan_config(path)
    stream = Writes()
    write_text(plan, stream, leads=True, limit=10**9)
    listed = [line for line in stream.getvalue().splitlines() if line.startswith("  + u")]
    assert len(listed) == n
    assert max(stream.sizes) <= PAGE + 20  # a page, and a section's head or tail
    assert len(stream.sizes) >= 3
