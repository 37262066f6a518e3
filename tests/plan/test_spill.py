"""The spill: token sets numbered as they first appear, exactly, whatever their text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mktsync.items import Item
from mktsync.spill import OFFSET, Collision, Spill, decode_tokens, encode_tokens

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
        got = [(tokens, [row[OFFSET] for row in rows]) for tokens, rows in spill.chunks(7, size)]
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
        assert [(t, [r[OFFSET] for r in rows]) for t, rows in spill.chunks(1, 100)] == [
            (a, ["x"]),
            (b, ["y"]),
        ]


texts = st.text(max_size=12)
items = st.builds(
    lambda key, lead, fields, row: Item(
        campaign="c", campaign_id=7, key=key,
        lead_id=lead if isinstance(lead, int) else None,
        email=lead if isinstance(lead, str) else None,
        tokens=(("{{my.T}}", "v"),), source="s\u00e9", row=row, fields=tuple(fields),
    ),
    texts, st.one_of(st.integers(1, 10**12), texts), st.lists(st.tuples(texts, texts), max_size=2),
    st.integers(1, 10**6),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    items,
    st.sampled_from(["trigger", "retrigger", "unknown"]),
    st.one_of(st.none(), st.lists(st.tuples(texts, texts), max_size=2).map(tuple)),
    st.sampled_from([None, "failed", "unknown"]),
)
def test_lead_lines_are_what_json_dumps_writes(
    item: Item, action: str, old: tuple[tuple[str, str], ...] | None, retry_of: str | None
) -> None:
    """The spill stores each lead's line written by hand; it must be the dict's JSON."""
    from mktsync.planfile import _compact, _planned
    from mktsync.planned import PlannedItem, lead_line

    planned = PlannedItem(item=item, action=action, old_tokens=old, retry_of=retry_of)  # type: ignore[arg-type]
    assert lead_line(item, action, old, retry_of) == _compact(_planned(planned))
    assert lead_line(item, action, old, retry_of, campaign="d") == _compact(_planned(planned, "d"))
