"""The spill: token sets numbered as they first appear, exactly, whatever their text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mktsync.spill import Collision, Spill, decode_tokens, encode_tokens

names = st.text(max_size=6)
token_sets = st.lists(st.tuples(names, st.text(max_size=12)), max_size=3).map(tuple)


@settings(max_examples=200, deadline=None)
@given(token_sets)
def test_token_sets_round_trip_exactly(tokens: tuple[tuple[str, str], ...]) -> None:
    assert decode_tokens(encode_tokens(tokens)) == tokens


@settings(max_examples=50, deadline=None)
@given(st.lists(token_sets, max_size=60), st.integers(1, 4))
def test_chunks_keep_first_appearance_order(
    sets: list[tuple[tuple[str, str], ...]], size: int
) -> None:
    with Spill() as spill:
        writer = spill.writer(7)
        writer.add_many([(tokens, (n,)) for n, tokens in enumerate(sets)])
        writer.finish()
        got = [(tokens, [row[0] for row in rows]) for tokens, rows in spill.chunks(7, size)]
    expected: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for n, tokens in enumerate(sets):
        expected.setdefault(tokens, []).append(n)
    assert got == [
        (tokens, members[i : i + size])
        for tokens, members in expected.items()
        for i in range(0, len(members), size)
    ]


def test_a_hash_collision_is_caught_and_an_exact_rewrite_groups_right() -> None:
    """Two token sets given one group (as a 64-bit hash collision would) are refused."""
    a, b = (("{{my.T}}", "a"),), (("{{my.T}}", "b"),)
    with Spill() as spill:
        writer = spill.writer(1)
        writer.add(a, ("x",))
        writer._groups[hash(b)] = writer._groups[hash(a)]  # force the collision
        writer.add(b, ("y",))
        try:
            writer.finish()
        except Collision:
            pass
        else:
            raise AssertionError("a mixed group must raise Collision")
        exact = spill.writer(1, exact=True)
        exact.add_many([(a, ("x",)), (b, ("y",))])
        exact.finish()
        assert [(t, [r[0] for r in rows]) for t, rows in spill.chunks(1, 100)] == [
            (a, ["x"]),
            (b, ["y"]),
        ]
