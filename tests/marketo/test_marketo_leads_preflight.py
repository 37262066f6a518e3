"""Lead look-ups (batching, _method=GET, duplicates), lead creation and preflight, on the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_testing import CLIENT_ID, CLIENT_SECRET, FAST_RETRY, MakeClient, api_entries, seed

from mktsync.config.model import Limits
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.marketo import CreateResult, MarketoClient


@pytest.fixture(scope="module")
def crowd() -> Any:
    """650 leads with short emails, 300 with long ones, and one email shared by two leads."""
    leads = [{"id": i, "email": f"p{i}@example.com"} for i in range(1, 651)]
    leads += [
        {"id": 1000 + i, "email": f"{'x' * 30}.{i}@long-domain.example.com"} for i in range(300)
    ]
    leads += [{"id": 5001, "email": "Twin@Example.com"}, {"id": 5000, "email": "twin@example.com"}]
    with serve(seed=seed(leads=leads), options=EmulatorOptions()) as emu:
        yield emu, leads


@pytest.fixture
def crowd_client(crowd: Any) -> Any:
    emu, leads = crowd
    emu.reset()
    with MarketoClient(
        emu.base_url, CLIENT_ID, CLIENT_SECRET, limits=Limits(), retry=FAST_RETRY
    ) as client:
        yield client, emu, leads


def test_email_lookup_is_batched_at_300(crowd_client: Any) -> None:
    client, emu, leads = crowd_client
    emails = [lead["email"].upper() for lead in leads[:650]] + ["nobody@example.com"]
    found = client.find_leads_by_email(emails)
    assert found == {lead["email"]: lead["id"] for lead in leads[:650]}
    calls = api_entries(emu, "leads_get")
    assert [len(c["query"]["filterValues"].split(",")) for c in calls] == [300, 300, 51]
    assert {c["method"] for c in calls} == {"GET"}


def test_long_lookups_fall_back_to_post_with_method_get(crowd_client: Any) -> None:
    client, emu, leads = crowd_client
    long_ones = [lead for lead in leads if lead["id"] >= 1000 and lead["id"] < 2000]
    found = client.find_leads_by_email([lead["email"] for lead in long_ones])
    assert len(found) == 300
    (call,) = api_entries(emu, "leads_get")
    assert call["method"] == "POST" and call["query"] == {"_method": "GET"}
    assert len(call["body"]["filterValues"].split(",")) == 300
    assert all(e["status"] != 414 for e in emu.journal())


def test_shared_email_resolves_to_the_lowest_id(crowd_client: Any) -> None:
    client, _, _ = crowd_client
    assert client.find_leads_by_email(["TWIN@example.com", "twin@example.com"]) == {
        "twin@example.com": 5000
    }


def test_find_leads_by_id_batches_and_reports_existing(crowd_client: Any) -> None:
    client, emu, _ = crowd_client
    assert client.find_leads_by_id([*range(1, 401), 99_999]) == set(range(1, 401))
    assert len(api_entries(emu, "leads_get")) == 2


def test_create_leads_reports_each_record(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    results = client.create_leads(
        [{"email": "new@example.com", "firstName": "Ada"}, {"email": "lead1@example.com"}]
    )
    created, skipped = results
    assert created.status == "created" and created.id is not None and created.index == 0
    assert skipped == CreateResult(
        index=1, status="skipped", reason_code="1005", reason=skipped.reason
    )
    (sync,) = api_entries(emu, "leads_sync")
    assert sync["body"]["action"] == "createOnly"
    assert client.find_leads_by_email(["new@example.com"]) == {"new@example.com": created.id}


def test_create_leads_batches_at_300(emu: Emulator, make_client: MakeClient) -> None:
    client = make_client(emu)
    results = client.create_leads([{"email": f"n{i}@example.com"} for i in range(301)])
    assert [r.index for r in results] == list(range(301))
    assert {r.status for r in results} == {"created"}
    assert [len(e["body"]["input"]) for e in api_entries(emu, "leads_sync")] == [300, 1]


# -- preflight ---------------------------------------------------------------------------


def test_preflight_passes_for_a_ready_campaign(emu: Emulator, make_client: MakeClient) -> None:
    result = make_client(emu).preflight(1234, ["{{my.WebinarTitle}}", "{{my.JoinLink}}"])
    assert result.ok and result.reasons == []


@pytest.mark.parametrize(
    ("campaign_id", "tokens", "expected"),
    [
        (9999, [], ["campaign 9999 was not found"]),
        (
            2000,
            [],
            [
                "campaign 2000 (Monthly) is a batch campaign, not a trigger campaign",
                "campaign 2000 (Monthly) is not active",
            ],
        ),
        (3000, [], ["campaign 3000 (Paused) is not active"]),
        (
            4000,
            [],
            [
                "campaign 4000 (No API trigger) cannot be requested: it needs a 'Campaign is "
                "Requested' trigger with source 'Web Service API'"
            ],
        ),
        (
            1234,
            ["{{my.WebinarTitle}}", "{{my.Missing}}"],
            [
                "program 1001 (Webinars) has no My Token 'Missing' (sent as {{my.Missing}}), "
                "nor does folder 15 (Default), folder 14 (Marketing Activities) above it; "
                "available: JoinLink, WebinarTitle"
            ],
        ),
    ],
)
def test_preflight_names_every_reason(
    emu: Emulator, make_client: MakeClient, campaign_id: int, tokens: list[str], expected: list[str]
) -> None:
    result = make_client(emu).preflight(campaign_id, tokens)
    assert not result.ok
    assert result.reasons == expected


def test_lookup_follows_pages_when_matches_exceed_the_batch(crowd_client: Any) -> None:
    client, emu, leads = crowd_client
    emails = [lead["email"] for lead in leads[:299]] + ["twin@example.com"]  # 301 matches
    found = client.find_leads_by_email(emails)
    assert len(found) == 300 and found["twin@example.com"] == 5000
    calls = api_entries(emu, "leads_get")
    assert len(calls) == 2 and "nextPageToken" in calls[1]["query"]
