"""The ledger's behaviour, the same on every backend (see ``conftest.ledger_url``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_testing import item

from mktsync.errors import LedgerError, LedgerLocked
from mktsync.items import token_hash
from mktsync.ledger import Ledger


def test_a_new_ledger_is_empty(ledger: Ledger) -> None:
    assert ledger.lookup(1234, ["a@example.com"]) == {}
    assert ledger.status_counts() == []
    assert ledger.runs() == []
    assert list(ledger.iter_records()) == []
    assert ledger.fingerprint() == "empty"


def test_lifecycle_pending_then_sent(ledger: Ledger) -> None:
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply", config_digest="cfg1", git_commit="abc123")
        ledger.mark_pending(run, [item("ann@example.com/w1")], lead_ids={"ann@example.com/w1": 7})
        pending = ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"]
        assert (pending.status, pending.attempts, pending.lead_id) == ("pending", 1, 7)
        assert ledger.mark_sent(run, 1234, ["ann@example.com/w1"], request_id="e42b#1") == 1
        ledger.finish_run(run, counts={"sent": 1}, exit_status=0)
    rec = ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"]
    assert rec.status == "sent"
    assert rec.request_id == "e42b#1"
    assert rec.lead == "ann@example.com"
    assert rec.tokens == (("{{my.Link}}", "https://example.com/j/1"), ("{{my.Title}}", "Webinar 1"))
    assert rec.token_hash == token_hash(rec.tokens)
    assert rec.run_id == run
    assert rec.created_at.endswith("Z") and rec.updated_at >= rec.created_at
    (run_record,) = ledger.runs()
    assert run_record.run_id == run
    assert (run_record.command, run_record.config_digest, run_record.git_commit) == (
        "apply", "cfg1", "abc123",
    )  # fmt: skip
    assert run_record.counts == {"sent": 1}
    assert run_record.exit_status == 0
    assert run_record.finished_at is not None
    assert "@" in run_record.who


def test_failed_and_unknown_keep_their_reason(ledger: Ledger) -> None:
    keys = ["a@example.com/w1", "b@example.com/w1"]
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item(k) for k in keys])
        ledger.mark_failed(run, 1234, keys[:1], code="1003", message="campaign not active")
        ledger.mark_unknown(run, 1234, keys[1:], reason="read timeout after sending")
    recs = ledger.lookup(1234, keys)
    assert (recs[keys[0]].status, recs[keys[0]].error_code) == ("failed", "1003")
    assert recs[keys[0]].error_message == "campaign not active"
    assert (recs[keys[1]].status, recs[keys[1]].error_code) == ("unknown", None)
    assert recs[keys[1]].error_message == "read timeout after sending"
    assert ledger.status_counts() == [(1234, "failed", 1), (1234, "unknown", 1)]


def test_retrigger_upserts_and_counts_attempts(ledger: Ledger) -> None:
    key = "ann@example.com/w1"
    with ledger.lock(command="apply", timeout=5):
        first = ledger.start_run(command="apply")
        ledger.mark_pending(first, [item(key)], lead_ids={key: 7})
        ledger.mark_failed(first, 1234, [key], code="611", message="system error")
        before = ledger.lookup(1234, [key])[key]
        second = ledger.start_run(command="apply")
        ledger.mark_pending(second, [item(key, title="Webinar 2")])  # lead id not resolved again
        during = ledger.lookup(1234, [key])[key]
        ledger.mark_sent(second, 1234, [key], request_id="r2")
    after = ledger.lookup(1234, [key])[key]
    assert (during.status, during.attempts, during.error_code) == ("pending", 2, None)
    assert during.lead_id == 7, "the same lead keeps its resolved id"
    assert ("{{my.Title}}", "Webinar 2") in after.tokens
    assert after.token_hash != before.token_hash
    assert (after.status, after.attempts, after.run_id) == ("sent", 2, second)
    assert after.created_at == before.created_at
    assert len(list(ledger.iter_records())) == 1


def test_lookup_any_number_of_keys_in_one_campaign(ledger: Ledger) -> None:
    keys = [f"lead{i}@example.com/w1" for i in range(2500)]  # several chunks
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item(k) for k in keys[::2]])
        ledger.mark_pending(run, [item(k, campaign_id=99) for k in keys[1::2]])
    found = ledger.lookup(1234, keys)
    assert sorted(found) == sorted(keys[::2])
    assert all(rec.campaign_id == 1234 for rec in found.values())
    assert ledger.lookup(1234, []) == {}


def test_get_and_iter_records(ledger: Ledger) -> None:
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item("k", campaign_id=2, email="x@example.com"),
                                  item("k", campaign_id=1, email="x@example.com")])  # fmt: skip
        ledger.mark_pending(run, [item(f"n{i:05}", campaign_id=3, email="y@example.com")
                                  for i in range(2100)])  # fmt: skip
    assert [r.campaign_id for r in ledger.get(None, "k")] == [1, 2]
    assert [r.campaign_id for r in ledger.get(2, "k")] == [2]
    assert ledger.get(1, "absent") == []
    everything = list(ledger.iter_records())
    assert len(everything) == 2102
    assert [(r.campaign_id, r.key) for r in everything] == sorted(
        (r.campaign_id, r.key) for r in everything
    )
    assert [r.key for r in ledger.iter_records(3)] == [f"n{i:05}" for i in range(2100)]
    assert [r.key for r in ledger.iter_records(1)] == ["k"]


def test_fingerprint_moves_on_item_writes_only(ledger: Ledger) -> None:
    seen = [ledger.fingerprint()]
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        assert ledger.fingerprint() == seen[-1], "a run starting is not an item change"
        ledger.mark_pending(run, [item("a@example.com/w1")])
        seen.append(ledger.fingerprint())
        ledger.mark_sent(run, 1234, ["a@example.com/w1"], request_id="r")
        seen.append(ledger.fingerprint())
        ledger.mark_sent(run, 1234, ["nobody"], request_id="r")  # changes nothing
        assert ledger.fingerprint() == seen[-1]
        ledger.mark_failed(run, 1234, ["a@example.com/w1"], code="1", message="m")
        seen.append(ledger.fingerprint())
        ledger.mark_unknown(run, 1234, ["a@example.com/w1"], reason="r")
        seen.append(ledger.fingerprint())
        ledger.finish_run(run, counts={}, exit_status=0)
    ledger.lookup(1234, ["a@example.com/w1"])
    ledger.get(None, "a@example.com/w1")
    list(ledger.iter_records())
    ledger.status_counts()
    ledger.runs()
    ledger.cache_lead_ids({"a@example.com": 5})
    ledger.cached_lead_ids(["a@example.com"])
    assert ledger.fingerprint() == seen[-1]
    ledger.repair(1234, ["a@example.com/w1"], action="mark-sent", who="ann", why="confirmed")
    seen.append(ledger.fingerprint())
    assert len(set(seen)) == len(seen), seen


def test_writes_need_the_run_lock(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="needs the run lock"):
        ledger.start_run(command="apply")
    with pytest.raises(LedgerError, match="needs the run lock"):
        ledger.mark_sent(1, 1234, ["k"], request_id="r")


def test_email_cache(ledger: Ledger) -> None:
    assert ledger.cached_lead_ids(["ann@example.com"]) == {}
    ledger.cache_lead_ids({"Ann@Example.com": 7, "bob@example.com": 8})
    ledger.cache_lead_ids({"bob@example.com": 9})
    emails = ["ann@example.com", "ANN@example.com", "bob@example.com", "cy@example.com"]
    assert ledger.cached_lead_ids(emails) == {
        "ann@example.com": 7, "ANN@example.com": 7, "bob@example.com": 9,
    }  # fmt: skip
    many = {f"l{i}@example.com": i for i in range(2000)}
    ledger.cache_lead_ids(many)
    assert ledger.cached_lead_ids(many) == many


def test_repair_is_recorded_in_runs(ledger: Ledger) -> None:
    keys = ["a@example.com/w1", "b@example.com/w1", "c@example.com/w1"]
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item(k) for k in keys])
        ledger.mark_unknown(run, 1234, keys, reason="timeout")
        ledger.finish_run(run, counts={"unknown": 3}, exit_status=3)
    changed = ledger.repair(1234, [*keys[:2], "absent"], action="mark-sent",
                            who="ann@example.com", why="seen in Marketo's activity log")  # fmt: skip
    assert changed == 2
    assert ledger.repair(1234, keys[2:], action="forget", who="bob", why="send again") == 1
    recs = ledger.lookup(1234, keys)
    assert sorted(recs) == keys[:2]
    assert {r.status for r in recs.values()} == {"sent"}
    forget, mark, _apply = ledger.runs()
    assert (mark.command, mark.who, mark.note) == (
        "repair mark-sent", "ann@example.com", "seen in Marketo's activity log",
    )  # fmt: skip
    assert mark.counts == {"records": 2} and mark.exit_status == 0
    assert recs[keys[0]].run_id == mark.run_id
    assert (forget.command, forget.who, forget.note) == ("repair forget", "bob", "send again")
    assert [r.run_id for r in ledger.runs(limit=1)] == [forget.run_id]
    with pytest.raises(LedgerError, match="unknown repair action"):
        ledger.repair(1234, keys, action="delete", who="x", why="y")  # type: ignore[arg-type]


def test_a_second_run_waits_then_names_the_holder(
    ledger: Ledger, open_: Callable[..., Ledger]
) -> None:
    other = open_()
    with ledger.lock(command="apply", timeout=5):
        with pytest.raises(LedgerLocked) as caught, other.lock(command="apply", timeout=0.3):
            pass  # pragma: no cover
        message = str(caught.value)
        assert "locked by pid" in message
        assert "running 'apply' since 20" in message
        assert "@" in message and "waited 0.3 s" in message
    with other.lock(command="apply", timeout=5):  # released: the other run gets it
        pass


def test_a_waiting_run_gets_the_lock_when_it_is_released(
    ledger: Ledger, open_: Callable[..., Ledger]
) -> None:
    other = open_()
    holding, got = threading.Event(), threading.Event()
    release = threading.Event()

    def holder() -> None:
        with ledger.lock(command="apply", timeout=5):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)

    def waiter() -> None:
        with other.lock(command="apply", timeout=30):
            got.set()

    waiting = threading.Thread(target=waiter)
    waiting.start()
    assert not got.wait(0.3), "the lock must not be shared"
    release.set()
    thread.join()
    waiting.join()
    assert got.is_set()


def test_pending_records_of_a_dead_run_become_unknown(ledger: Ledger) -> None:
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item("a@example.com/w1"), item("b@example.com/w1")])
        ledger.mark_sent(run, 1234, ["a@example.com/w1"], request_id="r")
        fingerprint = ledger.fingerprint()
        # the process "dies" here: no mark for b, no finish_run
    with ledger.lock(command="apply", timeout=5) as recovered:
        assert recovered == 1
    recs = ledger.lookup(1234, ["a@example.com/w1", "b@example.com/w1"])
    assert recs["a@example.com/w1"].status == "sent"
    assert recs["b@example.com/w1"].status == "unknown"
    assert recs["b@example.com/w1"].error_message == (
        f"run {run} ended while the call was in flight"
    )
    assert ledger.runs()[0].note == "ended without finishing"
    assert ledger.fingerprint() == fingerprint, "pending already reads as unknown to a planner"


def test_worker_threads_share_one_ledger(ledger: Ledger) -> None:
    errors: list[BaseException] = []
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")

        def worker(n: int) -> None:
            try:
                for batch in range(10):
                    keys = [f"w{n}-b{batch}-{i}@example.com" for i in range(20)]
                    ledger.mark_pending(run, [item(k) for k in keys])
                    ledger.mark_sent(run, 1234, keys, request_id=f"r{n}-{batch}")
                    ledger.lookup(1234, keys)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert ledger.status_counts() == [(1234, "sent", 6 * 10 * 20)]


def test_read_only_open_reads_and_refuses_writes(
    ledger: Ledger, open_: Callable[..., Ledger]
) -> None:
    with ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item("a@example.com/w1")])
    viewer = open_(create=False)
    assert viewer.read_only
    assert viewer.lookup(1234, ["a@example.com/w1"])["a@example.com/w1"].status == "pending"
    assert viewer.fingerprint() == ledger.fingerprint()
    with pytest.raises(LedgerError, match="read-only"):
        viewer.cache_lead_ids({"a@example.com": 1})
    with pytest.raises(LedgerError, match="read-only"), viewer.lock(command="apply"):
        pass  # pragma: no cover


def test_identity_is_this_ledger_not_its_state(open_: Callable[..., Ledger]) -> None:
    """What a saved plan is bound to (issue 21): None before the ledger exists, then one id
    for its life, whatever its records; another empty ledger has another."""
    before = open_(create=False)
    assert (before.identity(), before.fingerprint()) == (None, "empty")
    made = open_()
    ident = made.identity()
    assert ident and len(ident) == 32
    with made.lock(command="apply", timeout=5):
        run = made.start_run(command="apply", config_digest="c", git_commit=None)
        made.mark_pending(run, [item("ann@example.com/w1")], lead_ids={"ann@example.com/w1": 7})
    assert made.fingerprint() != "empty"
    assert open_(create=False).identity() == open_(read_only=True).identity() == ident
    from mktsync.ledger import open_ledger

    with open_ledger("sqlite:///:memory:", Path()) as other:
        assert other.fingerprint() == "empty" and other.identity() not in (None, ident)
