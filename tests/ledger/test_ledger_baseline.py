"""The ledger's instance and baseline records, on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mktsync.items import token_hash
from mktsync.ledger import Ledger
from mktsync.ledger.instance import WrongInstance, bind_instance, instance_of
from mktsync.ledger.sent import SentRecord, record_sent


def test_a_ledger_is_bound_to_its_first_instance(open_: Callable[..., Ledger]) -> None:
    ledger = open_()
    assert instance_of(ledger) is None
    bind_instance(ledger, "123-ABC-456.mktorest.com")
    bind_instance(ledger, "123-abc-456.mktorest.com")  # the same host, any case
    again = open_()
    assert instance_of(again) == "123-abc-456.mktorest.com"
    with pytest.raises(
        WrongInstance, match=r"belongs to Marketo instance 123-abc-456.*for 999-xyz"
    ):
        bind_instance(again, "999-xyz-000.mktorest.com", environment="sandbox")


def test_record_sent_keeps_sent_records_and_settles_others(open_: Callable[..., Ledger]) -> None:
    ledger = open_()
    tokens = (("{{my.A}}", "1"),)
    with ledger.lock(command="test"):
        run = ledger.start_run(command="test")
        first = [
            SentRecord(campaign_id=7, key="k1", lead="a@example.com", lead_id=None, tokens=tokens),
            SentRecord(campaign_id=7, key="k2", lead="id:5", lead_id=5, tokens=tokens,
                       sent_at="2026-11-01T09:00:00.000Z"),
        ]  # fmt: skip
        assert record_sent(ledger, run, first, why="old log") == 2
        ledger.mark_failed(run, 7, ["k2"], code="1003", message="no")
        changed = [
            SentRecord(campaign_id=7, key=k, lead="x", lead_id=None, tokens=())
            for k in ("k1", "k2")
        ]
        assert record_sent(ledger, run, changed, why="again") == 1  # k1 was sent: kept
    records = ledger.lookup(7, ["k1", "k2"])
    assert records["k1"].status == "sent" and records["k1"].token_hash == token_hash(tokens)
    assert records["k2"].status == "sent" and records["k2"].tokens == ()
    assert open_().verify() == 2  # checksums hold
