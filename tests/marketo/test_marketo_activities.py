"""Reading leads' activity logs: a paging token, then pages, 30 lead ids a call, within a
budget, and a result that says whether each lead's log was read to its end."""

from __future__ import annotations

from marketo_testing import MakeClient, api_entries, seed

from mktsync.config.model import Limits
from mktsync.emulator import EmulatorOptions, serve
from mktsync.marketo import RetryPolicy
from mktsync.marketo.activities import REQUEST_CAMPAIGN, ReadBudget


def test_activities_of_many_leads_are_read_30_leads_a_call(make_client: MakeClient) -> None:
    leads = [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 36)]
    with serve(seed=seed(leads=leads), options=EmulatorOptions()) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, list(range(1, 36)))
        client.trigger_campaign(1234, [7])  # a second request for lead 7
        read = client.read_activities(
            [REQUEST_CAMPAIGN], list(range(1, 41)), "2020-01-01T00:00:00Z"
        )
        found = read.activities
        assert read.complete and read.stopped is None and read.pages == 2
        assert sorted(a.lead_id for a in found) == sorted([*range(1, 36), 7])
        assert {(a.type_id, a.primary_id) for a in found} == {(47, 1234)}
        assert all(a.guid and a.date.endswith("Z") for a in found)
        calls = api_entries(emu, "activities")
        assert [len(c["query"]["leadIds"].split(",")) for c in calls] == [30, 10]
        assert len(api_entries(emu, "paging_token")) == 2
        later = client.read_activities([REQUEST_CAMPAIGN], [1], "2999-01-01T00:00:00Z")
        assert later.activities == () and later.complete


def test_a_611_while_reading_activities_is_retried(make_client: MakeClient) -> None:
    with serve(seed=seed(), options=EmulatorOptions()) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, [1, 2])
        emu.script_fault("paging_token", 1, "611")
        emu.script_fault("activities", 1, "611")
        read = client.read_activities([REQUEST_CAMPAIGN], [1, 2], "2020-01-01T00:00:00Z")
        assert sorted(a.lead_id for a in read.activities) == [1, 2] and read.complete
        assert client.stats.retries == {"611": 2}


def test_empty_pages_with_more_results_do_not_end_a_read(make_client: MakeClient) -> None:
    options = EmulatorOptions(faults="activities.empty_pages=40")
    with serve(seed=seed(), options=options) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, [1, 2])
        read = client.read_activities([REQUEST_CAMPAIGN], [1, 2], "2020-01-01T00:00:00Z")
        assert read.complete and read.pages == 41
        assert sorted(a.lead_id for a in read.activities) == [1, 2]


def test_a_log_that_never_ends_stops_at_the_page_budget_and_says_so(
    make_client: MakeClient,
) -> None:
    options = EmulatorOptions(faults="activities.endless=on")
    with serve(seed=seed(), options=options) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, [1, 2])
        read = client.read_activities(
            [REQUEST_CAMPAIGN], [1, 2, 3], "2020-01-01T00:00:00Z", budget=ReadBudget(max_pages=25)
        )
        # What was found is kept; no lead's log was read to its end.
        assert sorted(a.lead_id for a in read.activities) == [1, 2]
        assert not read.complete and read.unread == {1, 2, 3}
        assert read.pages == 25 == len(api_entries(emu, "activities"))
        assert read.stopped == "the page budget (25 pages) was spent"


def test_the_time_budget_is_checked_before_each_page(make_client: MakeClient) -> None:
    options = EmulatorOptions(faults="activities.endless=on")
    with serve(seed=seed(), options=options) as emu:
        client = make_client(emu)
        ticks = iter(range(1000))
        from mktsync.marketo import activities

        read = activities.read_activities(
            client._caller,  # the clock is the only thing replaced: one "second" a look
            [REQUEST_CAMPAIGN],
            [1],
            "2020-01-01T00:00:00Z",
            budget=ReadBudget(max_seconds=5),
            clock=lambda: float(next(ticks)),
        )
        assert read.stopped == "the time budget (5 s) was spent" and read.unread == {1}
        assert read.pages == len(api_entries(emu, "activities")) < 5


def test_a_page_that_would_wait_past_the_time_budget_for_a_rate_slot_is_not_read(
    make_client: MakeClient,
) -> None:
    """The wait for the limiter counts: before, the read waited out the 40 s window."""
    options = EmulatorOptions(faults="activities.endless=on")
    with serve(seed=seed(), options=options) as emu:
        client = make_client(emu, limits=Limits(calls=3, window_seconds=40, safety_margin=0))
        read = client.read_activities(
            [REQUEST_CAMPAIGN], [1], "2020-01-01T00:00:00Z", budget=ReadBudget(max_seconds=5)
        )
        assert read.pages == 2 == len(api_entries(emu, "activities"))  # token, 2 pages: 3 slots
        assert read.unread == {1} and read.stopped is not None
        head, _, wait = read.stopped.partition(" frees in ")
        assert head == (
            "the time budget (5 s) runs out before the next call: the next slot in the rate window"
        )
        assert 35 < float(wait.removesuffix(" s")) <= 40
        assert read.seconds < 5


def test_a_retry_whose_backoff_ends_past_the_time_budget_is_not_sent(
    make_client: MakeClient,
) -> None:
    slow = RetryPolicy(max_attempts=4, base_delay=30.0, max_delay=30.0, max_time=600.0)
    with serve(seed=seed(), options=EmulatorOptions()) as emu:
        client = make_client(emu, retry=slow)
        emu.script_fault("activities", 1, "606")
        read = client.read_activities(
            [REQUEST_CAMPAIGN], [1], "2020-01-01T00:00:00Z", budget=ReadBudget(max_seconds=5)
        )
        assert read.stopped == (
            "the time budget (5 s) runs out before the next call: the retry after 606 would "
            "come after the deadline"
        )
        assert read.unread == {1} and len(api_entries(emu, "activities")) == 1
        assert read.seconds < 5


def test_other_types_sent_anyway_are_dropped(make_client: MakeClient) -> None:
    options = EmulatorOptions(faults="activities.types=all,activities.flow=on")
    with serve(seed=seed(), options=options) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, [1])
        read = client.read_activities([REQUEST_CAMPAIGN], [1], "2020-01-01T00:00:00Z")
        assert [(a.type_id, a.primary_id) for a in read.activities] == [(47, 1234)]
        assert read.ignored == 1  # the flow's "Send Email", from campaign 1234


def test_an_error_mid_read_keeps_what_was_found_and_names_the_unread_leads(
    make_client: MakeClient,
) -> None:
    leads = [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 41)]
    with serve(seed=seed(leads=leads), options=EmulatorOptions()) as emu:
        client = make_client(emu)
        client.trigger_campaign(1234, list(range(1, 41)))
        for nth in range(2, 6):  # the second batch's token: more 604s than retries
            emu.script_fault("paging_token", nth, "604")
        read = client.read_activities(
            [REQUEST_CAMPAIGN], list(range(1, 41)), "2020-01-01T00:00:00Z"
        )
        assert sorted(a.lead_id for a in read.activities) == list(range(1, 31))
        assert read.unread == set(range(31, 41))
        assert read.stopped is not None and "604" in read.stopped
