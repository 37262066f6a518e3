"""Reading leads' activity logs: a paging token, then pages, 30 lead ids a call."""

from __future__ import annotations

from marketo_testing import MakeClient, api_entries, seed

from mktsync.emulator import EmulatorOptions, serve
from mktsync.marketo.activities import REQUEST_CAMPAIGN


def test_activities_of_many_leads_are_read_30_leads_a_call(make_client: MakeClient) -> None:
    leads = [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 36)]
    with serve(seed=seed(leads=leads), options=EmulatorOptions()) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, list(range(1, 36)))
        client.trigger_campaign(1234, [7])  # a second request for lead 7
        found = client.find_activities(
            [REQUEST_CAMPAIGN], list(range(1, 41)), "2020-01-01T00:00:00Z"
        )
        assert sorted(a.lead_id for a in found) == sorted([*range(1, 36), 7])
        assert {(a.type_id, a.campaign_id) for a in found} == {(47, 1234)}
        assert all(a.guid and a.date.endswith("Z") for a in found)
        calls = api_entries(emu, "activities")
        assert [len(c["query"]["leadIds"].split(",")) for c in calls] == [30, 10]
        assert len(api_entries(emu, "paging_token")) == 2
        assert client.find_activities([REQUEST_CAMPAIGN], [1], "2999-01-01T00:00:00Z") == []


def test_a_611_while_reading_activities_is_retried(make_client: MakeClient) -> None:
    with serve(seed=seed(), options=EmulatorOptions()) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, [1, 2])
        emu.script_fault("paging_token", 1, "611")
        emu.script_fault("activities", 1, "611")
        found = client.find_activities([REQUEST_CAMPAIGN], [1, 2], "2020-01-01T00:00:00Z")
        assert sorted(a.lead_id for a in found) == [1, 2]
        assert client.stats.retries == {"611": 2}
