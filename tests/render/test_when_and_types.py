"""A bare ``when`` filters exactly as the braced form; typed columns and dates reach templates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_testing import campaign, config, run, source

from mktsync.dates import add_days, days_until, to_date, to_datetime
from mktsync.errors import shown_personal
from mktsync.items import FilteredRow, InvalidItem, Item
from mktsync.render import CompiledCampaign, Row, iter_items
from mktsync.render.items import _render_carefully

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

atoms = st.sampled_from(
    [
        "row.status == 'registered'",
        "row.status != ''",
        "row.email",
        "not row.flag",
        "row.flag | lower == 'yes'",
        "row.n > 2",  # Jinja, not a fast path
        "row.missing == 'x'",
        "'a' in row.status",
    ]
)
conditions = st.recursive(
    atoms,
    lambda inner: st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
        lambda t: f"({t[0]}) {t[1]} ({t[2]})"
    ),
    max_leaves=4,
)
rows = st.fixed_dictionaries(
    {"email": st.sampled_from(["a@example.com", ""]), "n": st.integers(0, 5)},
    optional={
        "status": st.sampled_from(["registered", "cancelled", "", "a"]),
        "flag": st.sampled_from(["yes", "YES", "", "no"]),
    },
).map(Row)


@settings(max_examples=300, deadline=None)
@given(condition=conditions, row=rows)
def test_bare_when_filters_exactly_as_braced(condition: str, row: Row) -> None:
    results = []
    for when in (condition, "{{ " + condition + " }}"):
        compiled = CompiledCampaign.build(campaign(when=when))
        careful = _render_carefully(compiled, Row(row), 2, NOW, "rows")
        try:
            happy: Any = compiled.happy(Row(row), 2, NOW)
        except Exception as exc:  # the careful path then names the failing field
            happy = type(exc).__name__
        results.append((careful, happy))
    assert results[0] == results[1]


def test_bare_when_through_a_csv_file(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text(
        "email,status\nann@example.com,registered\nbob@example.com,cancelled\n"
    )
    spec = source("csv", tmp_path, path="r.csv")
    for when in ("row.status == 'registered'", "{{ row.status == 'registered' }}"):
        got = list(iter_items(config(spec), campaign(when=when), now=NOW))
        assert [type(r) for r in got] == [Item, FilteredRow]


def test_typed_csv_columns_compare_as_numbers_and_dates(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "email,days_left,trial_end\n"
        "ann@example.com,3,2026-12-04\n"
        "bob@example.com,10,2026-12-11\n"
        "cid@example.com,three,2026-12-04\n"
    )
    columns = {"email": "email", "days_left": "integer", "trial_end": "date"}
    spec = source("csv", tmp_path, path="t.csv", columns=columns)
    the_campaign = campaign(
        when="row.days_left == 3 and row.trial_end - today == 3",
        tokens={"Ends": "{{ row.trial_end | date('%d %B') }}", "Left": "{{ row.days_left + 1 }}"},
    )
    ann, bob, cid = iter_items(config(spec), the_campaign, now=NOW)
    assert isinstance(ann, Item)
    assert dict(ann.tokens) == {"{{my.Ends}}": "04 December", "{{my.Left}}": "4"}
    assert isinstance(bob, FilteredRow)
    assert isinstance(cid, InvalidItem)
    assert cid.row == 4
    assert cid.reason == "column 'days_left': 'three' is not an integer"


def test_inline_rows_are_typed_too() -> None:
    rows = [
        {"email": "ann@example.com", "active": "yes"},
        {"email": "bob@example.com", "active": "no"},
        {"email": "x", "active": "yes"},
    ]
    # without columns 'no' is a non-empty string, so true
    assert [type(r) for r in run(rows, when="row.active")] == [Item, Item, InvalidItem]
    spec = source(rows=rows, columns={"email": "email", "active": "boolean"})
    ann, bob, other = iter_items(config(spec), campaign(when="row.active"), now=NOW)
    assert isinstance(ann, Item)
    assert isinstance(bob, FilteredRow)
    assert isinstance(other, InvalidItem)
    assert (
        shown_personal(other.reason, show_pii=True) == "column 'email': 'x' is not an email address"
    )


def test_today_is_the_runs_utc_date() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    (item,) = run(
        [{"email": "ann@example.com"}],
        tokens={"T": "{{ today }} {{ today | add_days(-1) }} {{ (today - today) }}"},
    )
    assert isinstance(item, Item)
    the_campaign = campaign(tokens={"T": "{{ today }}"})
    (late_item,) = iter_items(
        config(source(rows=[{"email": "a@example.com"}])), the_campaign, now=late
    )
    assert isinstance(late_item, Item)
    assert dict(late_item.tokens) == {"{{my.T}}": "2026-12-01"}


def test_date_filters() -> None:
    day = to_date("2026-12-04")
    assert day - date(2026, 12, 1) == 3
    assert add_days(day, 30) == date(2027, 1, 3)
    assert add_days("2026-12-04", -4) == date(2026, 11, 30)
    assert days_until(date(2026, 12, 1), "2026-12-04") == 3
    assert days_until("2026-12-04", date(2026, 12, 1)) == -3
    assert to_date("04/12/2026", "%d/%m/%Y") == day
    assert to_datetime("2026-12-04T09:00:00") == datetime(2026, 12, 4, 9, tzinfo=UTC)
    assert to_datetime("04/12/2026 09:00", "%d/%m/%Y %H:%M").hour == 9


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (
            "{{ row.ends | to_date }}",
            "tokens.{{my.T}}: to_date: 'soon' is not a date in ISO 8601 (YYYY-MM-DD)",
        ),
        (
            "{{ row.ends | to_date('%d/%m/%Y') }}",
            "tokens.{{my.T}}: to_date: 'soon' is not a date in format '%d/%m/%Y'",
        ),
        (
            "{{ today | add_days('3') }}",
            "tokens.{{my.T}}: add_days: the number of days must be a whole number, got '3'",
        ),
        ("{{ today | days_until(row.nope) }}", "tokens.{{my.T}}: 'row' has no attribute 'nope'"),
    ],
)
def test_date_filter_errors_make_invalid_items_naming_the_field(template: str, reason: str) -> None:
    (result,) = run([{"email": "ann@example.com", "ends": "soon"}], tokens={"T": template})
    assert isinstance(result, InvalidItem)
    assert result.reason == reason
