"""`mktsync ledger export --format sqlite --out FILE`: a single file that is a whole ledger."""

from __future__ import annotations

from pathlib import Path

from ledgercmd_testing import Run, item, seed, snapshot

from mktsync.ledger import open_ledger


def test_export_sqlite_copies_a_run_in_progress_into_one_complete_file(
    project: Path, run: Run
) -> None:
    seed(project, sent=["a@x.com/w1"], unknown=["b@x.com/w1"])
    with open_ledger("sqlite:///state/ledger.db", project) as ledger, ledger.lock(command="apply"):
        run_id = ledger.start_run(command="apply")
        ledger.mark_pending(run_id, [item("c@x.com/w1")])
        ledger.mark_sent(run_id, 1234, ["c@x.com/w1"], request_id="r9")
        # Mid-run (what a cancelled CI job would leave): the export is still whole.
        code, out, err = run("export", "--format", "sqlite", "--out", str(project / "out.db"))
        assert (code, out) == (0, "")
        assert err == f"copied the ledger (3 record(s)) to {project / 'out.db'}\n"
    assert sorted(p.name for p in project.iterdir()) == ["campaigns.yaml", "out.db", "state"]
    records, _, _ = snapshot(project, "sqlite:///out.db")
    assert {r.key: r.status for r in records} == {
        "a@x.com/w1": "sent",
        "b@x.com/w1": "unknown",
        "c@x.com/w1": "sent",
    }


def test_export_sqlite_needs_a_file(project: Path, run: Run) -> None:
    seed(project, sent=["a@x.com/w1"])
    code, out, err = run("export", "--format", "sqlite")
    assert (code, out) == (1, "")
    assert "--format sqlite writes a file: give --out FILE" in err
