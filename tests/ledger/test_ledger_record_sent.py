"""``record_sent`` writes a baseline in one transaction, a page at a time, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mktsync.ledger import Ledger
from mktsync.ledger.sent import SentRecord, record_sent


def sends(count: int, *, fail_at: int | None = None) -> Iterator[SentRecord]:
    for i in range(count):
        if i == fail_at:
            raise RuntimeError("the source of records broke")
        yield SentRecord(
            campaign_id=7,
            key=f"k{i:05d}",
            lead=f"lead{i}@example.com",
            lead_id=None,
            tokens=(("{{my.Title}}", f"Webinar {i % 3}"),),  # shared token sets
        )


def test_records_from_a_generator_are_written_a_page_at_a_time(
    open_: Callable[..., Ledger],
) -> None:
    ledger = open_()
    pages: list[int] = []
    with ledger.lock(command="test"):
        run = ledger.start_run(command="test")
        assert record_sent(ledger, run, sends(2500), why="old log", progress=pages.append) == 2500
    assert pages == [1000, 2000, 2500]
    assert ledger.verify() == 2500  # every record's checksum holds
    assert ledger.lookup(7, ["k02499"])["k02499"].tokens == (
        ("{{my.Title}}", "Webinar 0"),
    )  # 2499 % 3


def test_a_failure_part_way_writes_none_of_the_records(open_: Callable[..., Ledger]) -> None:
    ledger = open_()
    before = ledger.fingerprint()
    pages: list[int] = []
    with ledger.lock(command="test"):
        run = ledger.start_run(command="test")
        with pytest.raises(RuntimeError, match="broke"):
            record_sent(ledger, run, sends(2500, fail_at=2100), why="x", progress=pages.append)
    assert pages == [1000, 2000]  # two pages went to the database, then were rolled back
    assert list(ledger.iter_records()) == []
    assert ledger.fingerprint() == before
