"""The fast paths must render exactly what Jinja renders, errors included."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mktsync.render import Row, compile_template, fast_path, make_environment

NOW = datetime(2026, 11, 29, 1, 50, tzinfo=UTC)
COLUMNS = ["email", "status", "Zoë", "n", "items_", "missing"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "constant text\n",
        "{{ row.email }}",
        "{{ row['Zoë'] }}",
        "https://x.io/join/{{ row.code }}",
        "{{ row.email | lower | trim }}/{{ row.webinar_id }}",
        "{{ row.status == 'registered' and row.email != '' }}",
        "{{ not row.a or row.b }}",
        "{{ row.t | html }}",
    ],
)
def test_common_shapes_take_a_fast_path(text: str) -> None:
    assert fast_path(make_environment().parse(text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        "{{ row.items }}",  # dict.items, not a column: Jinja decides
        "{{ row['keys'] }}",
        "{{ row.a.b }}",
        "{{ row.a | default('x') }}",
        "{{ row.a | truncate(5) }}",
        "{% if row.a %}x{% endif %}",
        "{{ now }}",
        "{{ row.a ~ row.b }}",
        "{{ row.a < 3 }}",
        "{{ row }}",
    ],
)
def test_other_shapes_fall_back_to_jinja(text: str) -> None:
    assert fast_path(make_environment().parse(text)) is None


def outcome(text: str, row: Row, *, fast: bool) -> tuple[str, str]:
    try:
        return ("ok", compile_template(text, fast=fast)(row, NOW))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


# --- random templates of the supported shapes ---------------------------------------------

column = st.sampled_from(COLUMNS)
lookup = st.one_of(
    column.filter(str.isidentifier).map(lambda c: f"row.{c}"),
    column.map(lambda c: f"row['{c}']"),
)
constant = st.one_of(
    st.text(alphabet="abcxyz ÀéZ0 ", max_size=6).map(lambda s: f"'{s}'"),
    st.integers(0, 5).map(str),
    st.sampled_from(["none", "true", "false", "1.5", "True"]),
)
atom = st.one_of(lookup, constant)
filtered = st.tuples(
    atom, st.lists(st.sampled_from(["lower", "upper", "trim", "html"]), max_size=3)
).map(lambda t: " | ".join([t[0], *t[1]]))


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["==", "!="]), children).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        children.map(lambda e: f"not ({e})"),
    )


expression = st.recursive(filtered, combine, max_leaves=4)
literal_text = st.text(
    alphabet=st.characters(blacklist_characters="{}%#\r", codec="utf-8"), max_size=8
)
template_text = st.lists(
    st.one_of(literal_text, expression.map(lambda e: f"{{{{ {e} }}}}")), max_size=4
).map("".join)
value = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "registered", " Ada@Example.COM ", "0", "False", "None", "<b>&'\""]),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([None, UTC])),
)
rows = st.dictionaries(st.sampled_from(COLUMNS[:-1]), value).map(Row)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(text=template_text, row=rows)
def test_fast_path_renders_exactly_what_jinja_renders(text: str, row: Row) -> None:
    assert fast_path(make_environment().parse(text)) is not None  # the shape really is fast
    assert outcome(text, row, fast=True) == outcome(text, row, fast=False)


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("{{ row.n }}", {"n": None}, ("ok", "None")),
        ("{{ row.n }}", {"n": 1.0}, ("ok", "1.0")),
        ("{{ row.n }}", {"n": True}, ("ok", "True")),
        ("{{ row.n | lower }}", {"n": None}, ("ok", "none")),
        ("{{ row.d }}", {"d": date(2026, 1, 2)}, ("ok", "2026-01-02")),
        ("x{{ row.nope }}", {}, ("UndefinedError", "'row' has no attribute 'nope'")),
        ("{{ false and row.nope }}", {}, ("ok", "False")),
        ("{{ row.a == 'x' }}", {"a": "x"}, ("ok", "True")),
    ],
)
def test_known_renderings(text: str, row: dict[str, Any], expected: tuple[str, str]) -> None:
    assert outcome(text, Row(row), fast=True) == expected
    assert outcome(text, Row(row), fast=False) == expected
