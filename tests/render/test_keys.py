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
    assert [log(k, n) for n, k in enumerate(["a", "b", "a"])] == [None, None, 0]
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
    assert [check(k, n) for n, k in enumerate(["a", "b", "a", "b"])] == [None, None, 0, None]
