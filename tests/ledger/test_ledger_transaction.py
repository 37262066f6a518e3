"""``Ledger.transaction``: the one way for another module to write, on both backends.

The same refusals as the ledger's own writes (read-only, the run lock), all or nothing,
and ``items_changed`` moving the fingerprint a saved plan is checked against.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mktsync.errors import LedgerError
from mktsync.ledger import Ledger
from mktsync.ledger.instance import instance_of

_SET = "UPDATE ledger_meta SET instance = ? WHERE id = 1"


def test_a_write_needs_the_run_lock_when_it_says_so(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="record_sent needs the run lock"):
        with ledger.transaction(writing="record_sent", locked=True) as tx:
            tx.execute(_SET, ("a.mktorest.com",))  # pragma: no cover
    assert instance_of(ledger) is None
    with ledger.lock(command="test"), ledger.transaction(writing="test", locked=True) as tx:
        tx.execute(_SET, ("a.mktorest.com",))
    assert instance_of(ledger) == "a.mktorest.com"


def test_a_read_only_ledger_refuses_a_write_and_answers_a_read(
    ledger: Ledger, open_: Callable[..., Ledger]
) -> None:
    with ledger.transaction(writing="test") as tx:
        tx.execute(_SET, ("a.mktorest.com",))
    viewer = open_(create=False)
    with pytest.raises(LedgerError, match="read-only; bind_instance is not possible"):
        with viewer.transaction(writing="bind_instance"):
            pass  # pragma: no cover
    with viewer.transaction() as tx:
        assert tx.execute("SELECT instance FROM ledger_meta WHERE id = 1") == [("a.mktorest.com",)]
        with pytest.raises(LedgerError, match="items_changed in a read transaction"):
            tx.items_changed()


def test_an_error_writes_nothing_and_keeps_the_fingerprint(ledger: Ledger) -> None:
    before = ledger.fingerprint()
    with pytest.raises(RuntimeError), ledger.transaction(writing="test") as tx:
        tx.execute(_SET, ("a.mktorest.com",))
        tx.items_changed()
        raise RuntimeError("killed half-way")
    assert instance_of(ledger) is None
    assert ledger.fingerprint() == before


def test_items_changed_moves_the_fingerprint_and_nothing_else_does(ledger: Ledger) -> None:
    before = ledger.fingerprint()
    with ledger.transaction(writing="test") as tx:
        tx.execute(_SET, ("a.mktorest.com",))
    assert ledger.fingerprint() == before  # the instance is not an item change
    with ledger.transaction(writing="test") as tx:
        tx.items_changed()
    moved = ledger.fingerprint()
    assert moved != before
    with ledger.transaction(writing="test") as tx:
        tx.items_changed()
    assert ledger.fingerprint() not in (before, moved)
