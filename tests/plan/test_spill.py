"""The spill: token sets numbered as they first appear, exactly, whatever their text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mktsync.items import Item
from mktsync.plan.spill import OFFSET, Spill, decode_tokens, encode_tokens

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


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=80), st.integers(1, 4), st.integers(0, 3))
def test_a_bounded_group_map_groups_exactly_as_an_unbounded_one(
    picks: list[int], size: int, held: int
) -> None:
    """With room for a few token sets only, sets are dropped and come back under a new
    number; finish joins them to their first, so the calls are those of an exact map."""
    import mktsync.plan.spill

    sets = [(("{{my.T}}", f"v{p}"),) for p in picks]
    expected: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for n, tokens in enumerate(sets):
        expected.setdefault(tokens, []).append(n)
    old = mktsync.plan.spill.GROUPS_HELD
    mktsync.plan.spill.GROUPS_HELD = held
    try:
        with Spill() as spill:
            writer = spill.writer(7)
            for start in range(0, len(sets), 5):  # the size of plan's batches does not matter
                writer.add_many([(t, (start + n,)) for n, t in enumerate(sets[start : start + 5])])
            writer.finish()
            got = [(t, [row[OFFSET] for row in rows]) for t, rows in spill.chunks(7, size)]
    finally:
        mktsync.plan.spill.GROUPS_HELD = old
    assert got == [
        (tokens, members[i : i + size])
        for tokens, members in expected.items()
        for i in range(0, len(members), size)
    ]


def test_split_groups_are_joined_only_when_their_token_sets_are_equal() -> None:
    """Two token sets that share a hash (a 64-bit collision) stay two groups."""
    a, b = (("{{my.T}}", "a"),), (("{{my.T}}", "b"),)
    with Spill() as spill:
        writer = spill.writer(1)
        writer.add(a, ("x",))
        writer.add(b, ("y",))
        writer.flush()
        # As a dropped map writes them: a again, as group 2; and b given a's hash.
        spill._insert([(1, 2, 10, "z")], [(1, 2, hash(a), encode_tokens(a))])
        spill._conn.execute("UPDATE groups SET th = ? WHERE grp = 1", (hash(a),))
        writer._dropped = True
        writer.finish()
        got = [(t, [r[OFFSET] for r in rows]) for t, rows in spill.chunks(1, 100)]
    assert got == [(a, ["x", "z"]), (b, ["y"])]


def test_rewind_drops_the_rows_since_the_mark_and_numbers_as_from_there() -> None:
    a, b, c = ((("{{my.T}}", v),) for v in "abc")
    with Spill() as spill:
        writer = spill.writer(1)
        writer.add(a, ("1",))
        mark = writer.mark()
        writer.add_many([(b, ("2",)), (a, ("3",))])
        writer.rewind(mark)
        writer.add_many([(c, ("4",)), (b, ("5",)), (a, ("6",))])
        writer.finish()
        got = [(t, [r[OFFSET] for r in rows]) for t, rows in spill.chunks(1, 100)]
    assert got == [(a, ["1", "6"]), (c, ["4"]), (b, ["5"])]


texts = st.text(max_size=12)
items = st.builds(
    lambda key, lead, fields, row: Item(
        campaign="c", campaign_id=7, key=key,
        lead_id=lead if isinstance(lead, int) else None,
        email=lead if isinstance(lead, str) else None,
        tokens=(("{{my.T}}", "v"),), source="s\u00e9", row=row, synced=tuple(fields),
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
    from mktsync.plan.file import _compact, _planned
    from mktsync.plan.records import PlannedItem, lead_line

    planned = PlannedItem(item=item, action=action, old_tokens=old, retry_of=retry_of)  # type: ignore[arg-type]
    assert lead_line(item, action, old, retry_of) == _compact(_planned(planned))
    assert lead_line(item, action, old, retry_of, campaign="d") == _compact(_planned(planned, "d"))
