"""A batch campaign's rows are rendered as a campaign's are: the same rows (declared columns
converted), the same ``when`` (bare or braced), the same duplicate-key rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from render_testing import campaign, config, source, template

from mktsync.config.model import Position, Schedule, TokenSpec
from mktsync.items import FilteredRow, InvalidItem, Item, ScheduleItem
from mktsync.render import iter_items, iter_runs

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
ROWS = [
    {"email": "a@example.com", "status": "registered", "seats": "2", "id": "w1"},
    {"email": "b@example.com", "status": "cancelled", "seats": "0", "id": "w2"},
    {"email": "c@example.com", "status": " Registered ", "seats": "", "id": "w3"},
    {"email": "d@example.com", "status": "registered", "seats": "x", "id": "w1"},
]


def schedule(when: str | None, **options: object) -> Schedule:
    return Schedule(
        name="starts-soon",
        campaign_id=3001,
        run_at=template("2027-01-13T15:00:00+00:00", "run_at"),
        source="rows",
        when=template(when, "when") if when is not None else None,
        key=template("{{ row.id }}", "key"),
        tokens=(TokenSpec(name="{{my.Title}}", template=template(" {{ row.status }} ")),),
        position=Position(file="campaigns.yaml", line=40, column=3),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "when",
    [
        "row.status == 'registered'",
        "{{ row.status == 'registered' }}",
        "{{ row.status | trim | lower == 'registered' }}",
        "{% if row.seats %}yes{% endif %}",
        "row.seats",
    ],
)
def test_when_leaves_out_the_rows_it_leaves_out_of_a_campaign(when: str) -> None:
    rows = source(rows=[{k: v for k, v in r.items() if k != "id"} for r in ROWS])
    kept_by_campaign = [
        not isinstance(r, FilteredRow)
        for r in iter_items(config(rows, campaigns=()), campaign(when=when, key="{{ row.email }}"))
    ]
    runs = list(iter_runs(config(source(rows=[{**r, "id": f"k{n}"} for n, r in enumerate(ROWS)])),
                          schedule(when), NOW))  # fmt: skip
    assert [r is not None for r in runs] == kept_by_campaign


def test_declared_columns_convert_and_a_repeated_key_is_refused_as_for_items() -> None:
    typed = source(rows=ROWS, columns={"seats": {"type": "integer", "required": False}})
    runs = list(iter_runs(config(typed), schedule(None), NOW))
    items = list(iter_items(config(typed), campaign(key="{{ row.id }}")))
    assert [type(r) for r in runs] == [ScheduleItem, ScheduleItem, ScheduleItem, InvalidItem]
    assert [type(i) for i in items] == [Item, Item, Item, InvalidItem]
    # A value that does not convert: the same reason for a run as for an item.
    assert isinstance(runs[3], InvalidItem) and isinstance(items[3], InvalidItem)
    assert runs[3].reason == items[3].reason
    # Values are stripped for a run; the first row with a key wins.
    assert runs[2].tokens == (("{{my.Title}}", "Registered"),)  # type: ignore[union-attr]
    again = dataclasses.replace(typed, options={"rows": [ROWS[0], ROWS[0]]})
    first, second = iter_runs(config(again), schedule(None), NOW)
    assert isinstance(first, ScheduleItem) and isinstance(second, InvalidItem)
    assert second.reason == "duplicate key, first seen at row 1"
