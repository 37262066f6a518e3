"""The generated happy path agrees with the careful path it stands in for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from render_testing import campaign

from mktsync.items import FilteredRow, InvalidItem, Item
from mktsync.render import CompiledCampaign, Row
from mktsync.render.items import _render_carefully

NOW = datetime(2026, 11, 29, tzinfo=UTC)
COLUMNS = ["email", "id", "status", "code"]

templates = st.sampled_from(
    [
        "{{ row.email }}",
        "{{ row.id }}",
        "{{ row.status == 'registered' }}",
        "{{ row.status }}",
        "{{ row.code | lower | trim }}/{{ row.id }}",
        "{{ row.code | default('') }}",  # Jinja, not a fast path
        "{% if row.status %}{{ row.status }}{% endif %}",
        "x{{ row.nope }}",
        "{{ row.email | date }}",
    ]
)
good = st.sampled_from(
    ["{{ row.code }}", "{{ row.id }}/{{ row.code | upper }}", "{{ row.get('code', '') }}"]
)
emails = (
    st.sampled_from(["{{ row.email }}", "{{ row.email | trim }}", " {{ row.email }} "]) | templates
)
ids = st.sampled_from(["{{ row.id }}", "{{ row['id'] }}"]) | templates
values = st.one_of(
    st.sampled_from(["", "0", "False", "12", " 7 ", "registered", "Zoë"]),
    st.text(max_size=6),
    st.integers(-3, 10**6),
    st.none(),
    st.booleans(),
)
rows = st.fixed_dictionaries(
    {
        "email": st.sampled_from(["a@example.com", " B@Example.COM ", "bad", ""]),
        "id": st.sampled_from(["12", " 7 ", "0", "x", 99]),
    },
    optional={"status": values, "code": values},
).map(Row)


@st.composite
def campaigns(draw: st.DrawFn) -> Any:
    by_id = draw(st.booleans())
    return campaign(
        when=draw(st.none() | templates),
        lead_id=draw(ids) if by_id else None,
        email=None if by_id else draw(emails),
        key=draw(st.none() | good | templates),
        tokens=draw(
            st.dictionaries(st.sampled_from(["A", "B", "C"]), good | templates, max_size=3)
        ),
        fields={"firstName": draw(good | templates)},
        create_missing=draw(st.booleans()),
    )


@settings(max_examples=500, deadline=None)
@given(the_campaign=campaigns(), row=rows)
def test_happy_path_agrees_with_the_careful_path(the_campaign: Any, row: Row) -> None:
    compiled = CompiledCampaign.build(the_campaign, max_chars=65_536 // 4)  # as iter_items
    careful = _render_carefully(compiled, row, 7, NOW, "rows")
    try:
        happy = compiled.happy(row, 7, NOW)
    except Exception:
        # Campaigns here name their lead one way only, so the happy path gives up only
        # on rows the careful path finds invalid.
        assert isinstance(careful, InvalidItem), careful
        event("happy path gave up on an invalid row")
        return
    event(f"happy path: {'filtered' if happy is None else 'item'}")
    if happy is None:
        assert isinstance(careful, FilteredRow)
        return
    assert isinstance(careful, Item), careful
    assert happy == careful


def test_record_factories_build_equal_records() -> None:
    from mktsync.render.campaign import record_factory as _factory

    item = _factory(Item)("c", 1, "k", None, "e@x.io", (("{{my.A}}", "1"),), "s", 3, ())
    assert item == Item(
        campaign="c",
        campaign_id=1,
        key="k",
        lead_id=None,
        email="e@x.io",
        tokens=(("{{my.A}}", "1"),),
        source="s",
        row=3,
    )
    assert hash(item) == hash(Item(**{f: getattr(item, f) for f in Item.__dataclass_fields__}))
    assert _factory(FilteredRow)("c", 1, "s", 3) == FilteredRow(
        campaign="c", campaign_id=1, source="s", row=3
    )


def test_record_factory_runs_post_init_when_there_is_one() -> None:
    from dataclasses import dataclass

    from mktsync.render.campaign import record_factory as _factory

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    make = _factory(Checked)  # type: ignore[type-var]
    assert make(1) == Checked(n=1)
    with pytest.raises(ValueError, match="negative"):
        make(-1)


cells_rows = st.lists(
    st.sampled_from(
        ["", "0", "False", "12", " 7 ", "a@example.com", " B@Example.COM ", "registered"]
    )
    | st.text(max_size=5),
    min_size=4,
    max_size=4,
)


def outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(the_campaign=campaigns(), cells=cells_rows, order=st.permutations(COLUMNS))
def test_cells_by_position_agree_with_the_row(
    the_campaign: Any, cells: list[str], order: list[str]
) -> None:
    compiled = CompiledCampaign.build(the_campaign)
    by_position = compiled.for_header(order)
    if by_position is None:
        event("a template needs Jinja or a column outside the header")
        return
    event("by position")
    row = Row(zip(order, cells, strict=True))
    assert outcome(lambda: by_position(cells, 3, NOW)) == outcome(
        lambda: compiled.happy(row, 3, NOW)
    )


def test_by_position_only_when_every_template_is_fast_and_every_column_known() -> None:
    fast_one = CompiledCampaign.build(campaign(key="{{ row.email }}/{{ row.code }}"))
    assert fast_one.for_header(["code", "email"]) is not None
    assert fast_one.for_header(["email"]) is None  # `code` is missing: the row path reports it
    jinja_one = CompiledCampaign.build(campaign(key="{{ row.code | default('x') }}"))
    assert jinja_one.for_header(["code", "email"]) is None


def test_csv_with_a_column_missing_from_the_header(tmp_path: Any) -> None:
    from render_testing import config, source

    from mktsync.items import InvalidItem
    from mktsync.render import iter_items

    (tmp_path / "r.csv").write_text("email\na@example.com\n", "utf-8")
    c = campaign(source="r", tokens={"X": "{{ row.code }}"})
    spec = source("csv", base_dir=tmp_path, name="r", path="r.csv")
    (result,) = list(iter_items(config(spec, campaigns=(c,), base_dir=tmp_path), c))
    assert isinstance(result, InvalidItem)
    assert result.reason == "tokens.{{my.X}}: 'row' has no attribute 'code'"
