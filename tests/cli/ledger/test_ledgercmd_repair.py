"""``mktsync ledger mark-sent|forget``: resolving unknown items by hand, recorded in ``runs``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledgercmd_testing import URL, Run, item, seed, snapshot

from mktsync.errors import LedgerLocked, MktsyncError
from mktsync.ledger import open_ledger
from mktsync.ledger.records import whoami
from mktsync.ledger.tools import KeysNotFound, ledger_target, read_keys, repair

WHY = "checked in Marketo: activity log shows the trigger"


def _status(project: Path, campaign_id: int, key: str) -> str | None:
    with open_ledger(URL, project, create=False) as ledger:
        found = ledger.lookup(campaign_id, [key])
    return found[key].status if key in found else None


def test_mark_sent_settles_unknown_items_and_records_who_and_why(
    project: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, unknown=["a@x.com/w1", "b@x.com/w1"], failed=["c@x.com/w1"])
    _, _, fingerprint = snapshot(project)
    monkeypatch.setenv("MKTSYNC_WHO", "ann")
    code, out, err = run("mark-sent", "a@x.com/w1", "c@x.com/w1", "--campaign-id", "1234",
                         "--why", WHY)  # fmt: skip
    assert (code, err) == (0, "")
    assert out == (
        f"mark-sent: 2 record(s) in campaign 1234; run #2 by ann: {WHY}\n"
        "  a@x.com/w1: unknown -> sent\n"
        "  c@x.com/w1: failed -> sent\n"
    )
    assert [_status(project, 1234, k) for k in ("a@x.com/w1", "b@x.com/w1", "c@x.com/w1")] == [
        "sent", "unknown", "sent",
    ]  # fmt: skip
    with open_ledger(URL, project, create=False) as ledger:
        latest = ledger.runs(limit=1)[0]
        rec = ledger.lookup(1234, ["c@x.com/w1"])["c@x.com/w1"]
        assert ledger.fingerprint() != fingerprint  # a saved plan made before is now stale
    assert (latest.run_id, latest.command, latest.who, latest.note) == (
        2,
        "repair mark-sent",
        "ann",
        WHY,
    )
    assert (latest.counts, latest.exit_status) == ({"records": 2}, 0)
    assert (rec.run_id, rec.error_code, rec.error_message) == (2, None, None)
    code, out, _ = run("status", "--format", "json")
    assert json.loads(out)["runs"][0]["note"] == WHY


def test_forget_makes_items_new_again(project: Path, run: Run) -> None:
    seed(project, unknown=["a@x.com/w1"], sent=["b@x.com/w1"])
    seed(project, unknown=["a@x.com/w1"], campaign_id=77)
    code, out, _ = run("forget", "a@x.com/w1", "--campaign-id", "1234", "--why", "not received")
    assert code == 0
    assert out.splitlines()[1] == "  a@x.com/w1: unknown -> forgotten (the next apply triggers it)"
    assert _status(project, 1234, "a@x.com/w1") is None
    assert _status(project, 1234, "b@x.com/w1") == "sent"
    assert _status(project, 77, "a@x.com/w1") == "unknown"  # only the campaign named
    with open_ledger(URL, project, create=False) as ledger:
        latest = ledger.runs(limit=1)[0]
    assert (latest.command, latest.who, latest.note) == ("repair forget", whoami(), "not received")
    assert latest.counts == {"records": 1}


def test_the_campaign_is_named_as_on_plan_and_apply(project: Path, run: Run) -> None:
    # The conftest's config has one entry, 'reminder', sending to campaign 1234.
    seed(project, unknown=["a@x.com/w1"])
    seed(project, unknown=["a@x.com/w1"], campaign_id=77)
    code, out, err = run("forget", "a@x.com/w1", "--campaign", "reminder", "--why", "resend")
    assert code == 0, err
    assert _status(project, 1234, "a@x.com/w1") is None
    assert _status(project, 77, "a@x.com/w1") == "unknown"
    code, _, err = run("forget", "a@x.com/w1", "--why", "resend")
    assert code == 1 and "forget needs the campaign: --campaign NAME or --campaign-id N" in err
    code, _, err = run("show", "a@x.com/w1", "--campaign", "remindr")
    assert (
        code == 1 and "no campaign named 'remindr' in the config; did you mean 'reminder'?" in err
    )
    code, _, err = run("show", "a@x.com/w1", "--campaign", "reminder", "--campaign-id", "77")
    assert code == 1 and "--campaign reminder sends to campaign 1234" in err


def test_unknown_keys_are_refused_and_nothing_changes(project: Path, run: Run) -> None:
    seed(project, unknown=["a@x.com/w1"])
    seed(project, unknown=["b@x.com/w1"], campaign_id=77)
    before = snapshot(project)
    code, out, err = run("mark-sent", "a@x.com/w1", "b@x.com/w1", "zed@x.com/w1 ",
                         "--campaign-id", "1234", "--why", WHY)  # fmt: skip
    assert (code, out) == (1, "")
    assert err == (
        "error: 2 key(s) not in the ledger for campaign 1234; nothing was changed\n"
        "error:   not found: 'b@x.com/w1'\n"
        "error:   not found: 'zed@x.com/w1 '\n"
    )
    assert run("forget", "zed@x.com/w1", "--campaign-id", "1234", "--why", WHY)[0] == 1
    assert snapshot(project) == before


def test_many_missing_keys_are_listed_up_to_twenty(project: Path) -> None:
    seed(project, sent=["a@x.com/w1"])
    with pytest.raises(KeysNotFound) as caught:
        repair(ledger_target(project / "campaigns.yaml"), 1234, [f"k{n}" for n in range(25)],
               action="forget", who="ann", why=WHY)  # fmt: skip
    lines = caught.value.lines()
    assert lines[0].startswith("error: 25 key(s) not in the ledger")
    assert lines[-1] == "error:   ... and 5 more"
    assert len(lines) == 22


def test_a_repair_on_a_missing_ledger_creates_nothing(project: Path, run: Run) -> None:
    code, _, err = run("forget", "a@x.com/w1", "--campaign-id", "1234", "--why", WHY)
    assert code == 1 and "nothing was changed" in err
    assert sorted(p.name for p in project.iterdir()) == ["campaigns.yaml"]


def test_keys_from_a_file_for_bulk_repairs(project: Path, run: Run, tmp_path: Path) -> None:
    keys = [f"{n:04}@x.com/w1" for n in range(1500)]  # more than one SQL statement's worth
    seed(project, unknown=keys, sent=["kept@x.com/w1"])
    listing = tmp_path / "keys.txt"
    listing.write_bytes(("\r\n".join(keys[1:]) + "\r\n\r\n").encode())
    code, out, err = run("mark-sent", keys[0], keys[1], "--keys-from", str(listing),
                         "--campaign-id", "1234", "--why", WHY)  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith("mark-sent: 1500 record(s) in campaign 1234;")
    assert len(out.splitlines()) == 1501
    with open_ledger(URL, project, create=False) as ledger:
        counts = ledger.status_counts()
    assert counts == [(1234, "sent", 1501)]


def test_read_keys_keeps_lines_exactly_and_drops_blanks_and_repeats(tmp_path: Path) -> None:
    listing = tmp_path / "keys.txt"
    listing.write_text("b\n  spaced \n\nb\na\r\n", encoding="utf-8")
    assert read_keys(["a", "c"], listing) == ["a", "c", "b", "  spaced "]
    with pytest.raises(MktsyncError, match=r"keys\.txt: cannot read"):
        read_keys([], tmp_path / "missing" / "keys.txt")


def test_why_and_keys_and_campaign_id_are_required(project: Path, run: Run) -> None:
    seed(project, unknown=["a@x.com/w1"])
    before = snapshot(project)
    code, _, err = run("mark-sent", "a@x.com/w1", "--campaign-id", "1234")
    assert code == 1 and "--why" in err
    code, _, err = run("mark-sent", "a@x.com/w1", "--why", WHY)
    assert code == 1 and "--campaign-id" in err
    code, _, err = run("forget", "a@x.com/w1", "--campaign-id", "1234", "--why", "  ")
    assert (code, err) == (1, "error: --why is required: say what you checked in Marketo\n")
    code, _, err = run("forget", "--campaign-id", "1234", "--why", WHY)
    assert (code, err) == (1, "error: no keys given: name them, or use --keys-from FILE\n")
    assert snapshot(project) == before


def test_a_repair_waits_for_a_running_apply(project: Path, run: Run) -> None:
    seed(project, unknown=["a@x.com/w1"])
    with open_ledger(URL, project) as apply_ledger, apply_ledger.lock(command="apply"):
        with pytest.raises(LedgerLocked, match="running 'apply'"):
            repair(ledger_target(project / "campaigns.yaml"), 1234, ["a@x.com/w1"],
                   action="mark-sent", who="ann", why=WHY, lock_timeout=0.05)  # fmt: skip
        code, _, err = run("mark-sent", "a@x.com/w1", "--campaign-id", "1234", "--why", WHY,
                           "--lock-timeout", "0.05")  # fmt: skip
        assert code == 1 and "the ledger is locked by" in err
    assert _status(project, 1234, "a@x.com/w1") == "unknown"


def test_a_pending_record_left_by_a_dead_run_can_be_settled(project: Path, run: Run) -> None:
    with open_ledger(URL, project) as ledger, ledger.lock(command="apply", timeout=5):
        ledger.mark_pending(ledger.start_run(command="apply"), [item("a@x.com/w1")])
    code, out, _ = run("mark-sent", "a@x.com/w1", "--campaign-id", "1234", "--why", WHY)
    assert code == 0 and "  a@x.com/w1: unknown -> sent\n" in out  # pending became unknown
    assert _status(project, 1234, "a@x.com/w1") == "sent"


def test_the_same_on_postgresql(project: Path, run: Run, postgres_database: str) -> None:
    url = postgres_database
    assert run("--ledger", url, "status")[0] == 0  # an empty database: read, not created
    seed(project, unknown=["a@x.com/w1", "b@x.com/w1"], url=url)
    before = snapshot(project, url)
    code, _, err = run("--ledger", url, "forget", "a@x.com/w1", "zed", "--campaign-id", "1234",
                       "--why", WHY)  # fmt: skip
    assert code == 1 and "'zed'" in err and snapshot(project, url) == before
    code, out, _ = run("--ledger", url, "forget", "a@x.com/w1", "--campaign-id", "1234",
                       "--why", WHY)  # fmt: skip
    assert code == 0 and "a@x.com/w1: unknown -> forgotten" in out
    code, out, _ = run("--ledger", url, "export", "--format", "jsonl")
    assert [json.loads(line)["key"] for line in out.splitlines()] == ["b@x.com/w1"]
    code, out, _ = run("--ledger", url, "status", "--format", "json")
    assert json.loads(out)["runs"][0]["command"] == "repair forget"
    assert "password" not in out.lower()


def test_plan_sees_the_repairs(project: Path, run: Run) -> None:
    """The config's one row renders key 'a@example.com' for campaign 1234."""
    from mktsync import plan_config

    def summary() -> tuple[int, int, int]:
        _, plan = plan_config(project / "campaigns.yaml")
        # Marked sent with the seeded tokens: sent, so unchanged or (tokens differ) changed.
        s = plan.summary
        return s.trigger, s.unchanged + s.changed, s.unknown

    seed(project, unknown=["a@example.com"])
    assert summary() == (0, 0, 1)
    assert run("mark-sent", "a@example.com", "--campaign-id", "1234", "--why", WHY)[0] == 0
    assert summary() == (0, 1, 0)
    assert run("forget", "a@example.com", "--campaign-id", "1234", "--why", WHY)[0] == 0
    assert summary() == (1, 0, 0)
