"""``apply --reviewed`` matching (issue 21): an item due now is sent only when the reviewed
plan sends it with the same campaign id, key, lead, tokens and lead fields.

The digests in ``plan.filecalls.ReviewedSet`` are checked against a plain model (tuples in a
set), for plans held in memory and for the same plans written with ``plan --out``'s writer
and read back a call at a time, whatever the order of token and field names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mktsync.config.model import Limits
from mktsync.items import Item
from mktsync.plan import Binding, Call, CampaignPlan, Plan, PlannedItem
from mktsync.plan.file import load_plan, write_plan
from mktsync.plan.filecalls import ReviewedSet

text = st.text(min_size=1, max_size=6)  # any text: NUL, surrogates, non-ASCII
pairs = st.lists(st.tuples(text, text), max_size=3, unique_by=lambda p: p[0])


@st.composite
def items(draw: st.DrawFn) -> Item:
    lead_id = draw(st.one_of(st.none(), st.integers(1, 3)))
    return Item(
        campaign="c",
        campaign_id=draw(st.sampled_from([1, 2])),
        key=draw(st.sampled_from(["k1", "k2", "k3", "é/中"])),
        lead_id=lead_id,
        email=None if lead_id else draw(st.sampled_from(["a@example.com", "b@example.com"])),
        tokens=tuple(sorted((f"{{{{my.{n}}}}}", v) for n, v in draw(pairs))),
        source="s",
        row=draw(st.integers(2, 9)),
        synced=tuple(draw(pairs)),
    )


def model(item: Item) -> tuple[object, ...]:
    return (
        item.campaign_id,
        item.key,
        item.lead,
        tuple(sorted(item.tokens)),
        tuple(sorted(item.fields)),
    )


def plan_of(reviewed: list[Item], *, shuffled: bool) -> Plan:
    """A plan sending ``reviewed``, one call each; token and field order reversed if asked."""

    def call(item: Item) -> Call:
        tokens = item.tokens[::-1] if shuffled else item.tokens
        fields = item.synced[::-1] if shuffled else item.synced
        sent = Item(**{**_fields(item), "tokens": tokens, "synced": fields})
        return Call(
            campaign_id=item.campaign_id,
            tokens=tokens,
            items=(PlannedItem(item=sent, action="trigger"),),
        )

    campaigns = tuple(
        CampaignPlan(
            name=f"c{cid}",
            campaign_id=cid,
            source="s",
            counts={},
            calls=tuple(call(i) for i in reviewed if i.campaign_id == cid),
            invalid=(),
            unknown=(),
            lookup_emails=0,
            lookup_calls=0,
            one_lead_per_call=False,
        )
        for cid in sorted({i.campaign_id for i in reviewed})
    )
    return Plan(
        config_path="campaigns.yaml",
        config_digest="0",
        ledger_fingerprint="empty",
        limits=Limits(),
        max_calls=None,
        retry_unknown=False,
        campaigns=campaigns,
        now=datetime(2026, 12, 5, tzinfo=UTC),
        binding=Binding(),
    )


def _fields(item: Item) -> dict[str, object]:
    return {name: getattr(item, name) for name in Item.__dataclass_fields__}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reviewed=st.lists(items(), max_size=8),
    due=st.lists(items(), max_size=8),
    shuffled=st.booleans(),
    through_file=st.booleans(),
)
def test_reasons_agree_with_the_model(
    tmp_path: Path, reviewed: list[Item], due: list[Item], shuffled: bool, through_file: bool
) -> None:
    plan = plan_of(reviewed, shuffled=shuffled)
    if through_file:  # as apply --reviewed reads a pull request's artifact
        path = tmp_path / "reviewed.json"
        with open(path, "w", encoding="utf-8") as f:
            write_plan(plan, f)
        plan = load_plan(path)
    seen = {model(i) for i in reviewed}
    keys = {(i.campaign_id, i.key) for i in reviewed}
    expected = [
        None if model(i) in seen else "differs" if (i.campaign_id, i.key) in keys else "new"
        for i in due + reviewed
    ]
    found = ReviewedSet.of(plan)
    try:
        assert found.reasons(due + reviewed) == expected
        assert found.items == len(reviewed)
    finally:
        found.close()


def test_what_is_compared_and_what_is_not() -> None:
    """The entry's name, source and row may change (a renamed entry, a re-sorted file);
    the lead, a token value or a field value may not."""
    base = Item(
        campaign="reminder",
        campaign_id=1234,
        key="ann@example.com/w1",
        lead_id=None,
        email="ann@example.com",
        tokens=(("{{my.Webinar}}", "w1"),),
        source="regs",
        row=2,
        synced=(("joinLink", "https://x/1"),),
    )
    found = ReviewedSet.of(plan_of([base], shuffled=False))
    moved = Item(**{**_fields(base), "campaign": "renamed", "source": "other", "row": 9})
    other_lead = Item(**{**_fields(base), "email": "bob@example.com"})
    other_token = Item(**{**_fields(base), "tokens": (("{{my.Webinar}}", "w2"),)})
    other_field = Item(**{**_fields(base), "synced": (("joinLink", "https://x/2"),)})
    other_campaign = Item(**{**_fields(base), "campaign_id": 99})
    assert found.reasons([moved, other_lead, other_token, other_field, other_campaign]) == [
        None,
        "differs",
        "differs",
        "differs",
        "new",
    ]
