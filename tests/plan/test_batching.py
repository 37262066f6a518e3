"""Calls are the fewest the token sets allow, and the plan is deterministic."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testing.plans import row, write_project

from mktsync import plan_config
from mktsync.config.model import Campaign, LeadSpec, Position, Template
from mktsync.items import FilteredRow, InvalidItem, Item
from mktsync.plan import MAX_LEADS_PER_CALL
from mktsync.plan.file import dumps
from mktsync.plan.planner import plan_campaign, plan_campaigns

POS = Position(file="campaigns.yaml", line=1, column=1)
CAMPAIGN = Campaign(
    name="c",
    campaign_id=7,
    source="s",
    lead=LeadSpec(id=Template(text="{{ row.id }}", field="lead.id", position=POS)),
    max_invalid=None,  # invalid items are counted here, not refused
    position=POS,
)


class EmptyLedger:
    def lookup(self, campaign_id: int, keys: list[str]) -> dict[str, object]:
        return {}

    def has_records(self, campaign_id: int) -> bool:
        return False

    def changed_records(self, campaign_id: int, pairs: list[tuple[str, str]]) -> dict[str, None]:
        return dict.fromkeys(key for key, _ in pairs)

    def lead_cache_empty(self) -> bool:
        return True

    def cached_lead_ids(self, emails: object) -> dict[str, int]:
        return {}

    def missed_emails(self, emails: object) -> set[str]:
        return set()

    def fingerprint(self) -> str:
        return "empty"


item_sets = st.lists(
    st.tuples(st.integers(0, 4), st.integers(1, 10**6)), max_size=700
)  # (token-set index, lead id)


@settings(max_examples=60, deadline=None)
@given(item_sets)
def test_calls_are_minimal(pairs: list[tuple[int, int]]) -> None:
    token_sets = [(("{{my.T}}", f"v{i}"),) for i in range(5)]
    items = [
        Item(
            campaign="c",
            campaign_id=7,
            key=f"k{n}",
            lead_id=lead,
            email=None,
            tokens=token_sets[t],
            source="s",
            row=n + 2,
        )
        for n, (t, lead) in enumerate(pairs)
    ]
    plan = plan_campaign(CAMPAIGN, items, EmptyLedger())  # type: ignore[arg-type]
    sizes = Counter(i.tokens for i in items)
    assert len(plan.calls) == sum(math.ceil(n / MAX_LEADS_PER_CALL) for n in sizes.values())
    sent = [p.item for call in plan.calls for p in call.items]
    assert sorted(i.key for i in sent) == sorted(i.key for i in items)  # each exactly once
    for call in plan.calls:
        assert 1 <= len(call.items) <= MAX_LEADS_PER_CALL
        assert all(p.item.tokens == call.tokens for p in call.items)


SHARING = Campaign(
    name="d",
    campaign_id=7,  # the same Marketo campaign as CAMPAIGN
    source="s",
    lead=LeadSpec(id=Template(text="{{ row.id }}", field="lead.id", position=POS)),
    position=POS,
)
OTHER = Campaign(
    name="e",
    campaign_id=8,
    source="s",
    lead=LeadSpec(id=Template(text="{{ row.id }}", field="lead.id", position=POS)),
    position=POS,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4)), max_size=600))
def test_entries_sharing_a_campaign_id_share_calls(pairs: list[tuple[int, int]]) -> None:
    """Calls are the fewest per Marketo campaign id and token set, whichever entries the
    items come from; each item is sent once, under its own entry and key."""
    token_sets = [(("{{my.T}}", f"v{i}"),) for i in range(5)]
    entries = [CAMPAIGN, SHARING, OTHER]
    items: list[list[Item]] = [[], [], []]
    for n, (e, t) in enumerate(pairs):
        c = entries[e]
        items[e].append(
            Item(campaign=c.name, campaign_id=c.campaign_id, key=f"k{n}", lead_id=n + 1,
                 email=None, tokens=token_sets[t], source="s", row=n + 2)
        )  # fmt: skip
    plans = plan_campaigns(list(zip(entries, items, strict=True)), EmptyLedger())  # type: ignore[arg-type]
    groups = Counter((i.campaign_id, i.tokens) for its in items for i in its)
    assert sum(len(p.calls) for p in plans) == sum(
        math.ceil(n / MAX_LEADS_PER_CALL) for n in groups.values()
    )
    sent = [p.item for plan in plans for call in plan.calls for p in call.items]
    assert sorted(sent, key=lambda i: i.row) == sorted(
        (i for its in items for i in its), key=lambda i: i.row
    )  # each exactly once, with its own entry name and key
    for plan in plans:
        for call in plan.calls:
            assert call.campaign_id == plan.campaign_id
            assert all(p.item.campaign_id == call.campaign_id for p in call.items)
            assert all(p.item.tokens == call.tokens for p in call.items)
            assert 1 <= len(call.items) <= MAX_LEADS_PER_CALL


def test_filtered_and_invalid_never_reach_a_call() -> None:
    stream = [
        FilteredRow(campaign="c", campaign_id=7, source="s", row=2),
        InvalidItem(campaign="c", campaign_id=7, source="s", row=3, reason="bad"),
        Item(
            campaign="c",
            campaign_id=7,
            key="k",
            lead_id=1,
            email=None,
            tokens=(),
            source="s",
            row=4,
        ),
    ]
    plan = plan_campaign(CAMPAIGN, stream, EmptyLedger())  # type: ignore[arg-type]
    assert [len(c.items) for c in plan.calls] == [1]
    assert plan.counts["filtered"] == 1 and plan.counts["invalid"] == 1


def test_plan_json_is_byte_identical_across_runs(tmp_path: Path) -> None:
    rows = [row(f"u{i}@example.com", webinar=f"w{i % 3}", code=str(i % 2)) for i in range(250)]
    path = write_project(tmp_path, rows)
    now = datetime(2026, 12, 6, 9, tzinfo=UTC)  # the plan records its instant: pin it
    first = dumps(plan_config(path, now=now)[1])
    second = dumps(plan_config(path, now=now)[1])
    assert first == second
    # and the shared token sets really were grouped: 3 webinars x 2 codes = 6 token sets
    assert plan_config(path)[1].summary.trigger_calls == 6


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=8), st.text(max_size=30)), max_size=4, unique_by=lambda t: t[0]
    )
)
def test_the_fast_token_hash_is_the_ledgers(pairs: list[tuple[str, str]]) -> None:
    """The hash writes its JSON by hand; it must be the digest of what json.dumps writes."""
    import hashlib
    import json

    from mktsync.items import token_hash as fast_token_hash

    def token_hash(tokens: tuple[tuple[str, str], ...]) -> str:  # the definition, spelled out
        canonical = json.dumps(sorted(tokens), ensure_ascii=False, separators=(",", ":"))
        return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()

    tokens = tuple(pairs)
    try:
        expected = token_hash(tokens)
    except UnicodeEncodeError:  # a lone surrogate: neither can hash it
        with pytest.raises(UnicodeEncodeError):
            fast_token_hash(tokens)
        return
    assert fast_token_hash(tokens) == expected


WITH_FIELDS = Campaign(
    name="c",
    campaign_id=7,
    source="s",
    lead=LeadSpec(id=Template(text="{{ row.id }}", field="lead.id", position=POS)),
    fields=(("joinLink", Template(text="{{ row.link }}", field="fields.joinLink", position=POS)),),
    retrigger="on_change",
    max_invalid=None,
    position=POS,
)


class _Sent:
    status = "sent"
    lead_id = None

    def __init__(self, tokens: tuple[tuple[str, str], ...]) -> None:
        from mktsync.items import token_hash

        self.tokens = tokens
        self.token_hash = token_hash(tokens)


class FieldLedger(EmptyLedger):
    """Keys sent before, each with the tokens and fields (``lead.<name>``) it recorded."""

    def __init__(self, recorded: dict[str, tuple[tuple[str, str], ...]]) -> None:
        self.recorded = recorded

    def has_records(self, campaign_id: int) -> bool:
        return bool(self.recorded)

    def changed_records(self, campaign_id: int, pairs: list[tuple[str, str]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, thash in pairs:
            record = _Sent(self.recorded[key]) if key in self.recorded else None
            if record is None or record.token_hash != thash:
                out[key] = record
        return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        # (token-set index, this lead's field value, sent before: 0 no, 1 same field, 2 other)
        st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 2)),
        max_size=500,
    )
)
def test_calls_are_minimal_with_lead_fields(rows: list[tuple[int, int, int]]) -> None:
    """Field values never split calls; only leads whose fields or tokens changed are sent;
    their fields take ceil(n / 300) calls and their triggers the fewest the tokens allow."""
    token_sets = [(("{{my.T}}", f"v{i}"),) for i in range(4)]
    items, recorded = [], {}
    for n, (t, value, before) in enumerate(rows):
        link = f"https://j/{value}"
        items.append(
            Item(
                campaign="c",
                campaign_id=7,
                key=f"k{n}",
                lead_id=n + 1,
                email=None,
                tokens=token_sets[t],
                source="s",
                row=n + 2,
                synced=(("joinLink", link),),
            )
        )
        if before:
            old = link if before == 1 else link + "-old"
            recorded[f"k{n}"] = (*token_sets[t], ("lead.joinLink", old))
    plan = plan_campaign(WITH_FIELDS, items, FieldLedger(recorded))  # type: ignore[arg-type]
    to_send = [i for i, (_, _, before) in zip(items, rows, strict=True) if before != 1]
    sizes = Counter(i.tokens for i in to_send)
    assert len(plan.calls) == sum(math.ceil(n / MAX_LEADS_PER_CALL) for n in sizes.values())
    assert sorted(p.item.key for c in plan.calls for p in c.items) == sorted(i.key for i in to_send)
    assert plan.field_leads == len(to_send)
    assert plan.field_calls == math.ceil(len(to_send) / 300)
    assert plan.counts["unchanged"] == len(items) - len(to_send)
