"""Duplicate keys on a million rows: the key log is exact while small, then names repeats."""

from __future__ import annotations

import pytest

import mktsync.render.keys as keys
from mktsync.render import KeyLog, SuspectKeys


def test_a_key_log_is_exact_while_small_then_names_the_repeated_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keys, "KEYS_HELD", 3)
    monkeypatch.setattr(keys, "LOG_HELD", 2)  # the log goes to its file every two keys
    log = KeyLog()
    assert [log(k, n) for n, k in enumerate(["a", "b", "a"])] == [None, None, "row 0"]
    assert log.exact and log.repeats() == frozenset()
    # Past three keys it logs and answers None; the repeats are named afterwards.
    later = ["c", "d", "e", "b", "f", "e", "g"]
    assert [log(k, n) for n, k in enumerate(later, 3)] == [None] * len(later)
    assert not log.exact
    # 'b' and 'e' came twice; 'a' was answered while exact, and is checked again with them.
    assert log.repeats() == {hash("b"), hash("e"), hash("a")}


def test_a_key_log_without_repeats_names_none() -> None:
    log = KeyLog()
    for n in range(keys.KEYS_HELD + 1000):
        assert log(f"k{n}", n) is None
    assert not log.exact and log.repeats() == frozenset()


def test_suspect_keys_are_exact_for_suspects_only() -> None:
    check = SuspectKeys({hash("a")})
    assert [check(k, n) for n, k in enumerate(["a", "b", "a", "b"])] == [None, None, "row 0", None]


def test_entries_of_one_campaign_id_share_their_keys() -> None:
    """The ledger keys items by campaign id and key: the second entry may not reuse one."""
    log = KeyLog(["first", "second"])
    log.start(0)
    assert [log("k1", 2), log("k2", 3)] == [None, None]
    log.start(1)
    assert log("k1", 2) == "row 2 of campaign 'first'"
    assert [log("k3", 4), log("k3", 5)] == [None, "row 4"]


def test_a_second_read_that_meets_other_keys_is_told_apart() -> None:
    log = KeyLog()
    for n in range(keys.KEYS_HELD + 10):
        log(f"k{n % (keys.KEYS_HELD + 5)}", n)
    suspects = log.repeats()
    assert suspects
    same, other = SuspectKeys(suspects), SuspectKeys(suspects)
    for n in range(keys.KEYS_HELD + 10):
        same(f"k{n % (keys.KEYS_HELD + 5)}", n)
        other(f"k{n % (keys.KEYS_HELD + 5)}" if n != 7 else "changed", n)
    assert log.same_keys(same) and not log.same_keys(other)
