"""The activity log's fault switches (``activities.NAME=VALUE``): empty pages with
``moreResult: true``, a log that never ends, a type filter ignored, a campaign flow's own
activities; and activities added by hand (``add_activity``, ``POST /_emulator/activities``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_testing import Api

from mktsync.emulator import EmulatorOptions
from mktsync.emulator.faults import ActivityFaults, activity_faults, parse_spec

TOKEN = "/rest/v1/activities/pagingtoken.json"
ACTIVITIES = "/rest/v1/activities.json"


def _read(api: Api, types: str = "47", leads: str = "") -> list[dict[str, Any]]:
    """Every page of one read, as served."""
    token = api.get(TOKEN, params={"sinceDatetime": "2020-01-01T00:00:00Z"}).json()
    params = {"nextPageToken": token["nextPageToken"], "activityTypeIds": types}
    if leads:
        params["leadIds"] = leads
    pages = []
    for _ in range(60):  # under the 100 calls a window
        page = api.get(ACTIVITIES, params=params).json()
        assert page["success"] is True
        pages.append(page)
        if not page["moreResult"]:
            break
        params["nextPageToken"] = page["nextPageToken"]
    return pages


def test_empty_pages_come_first_with_more_results_and_a_new_token(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(EmulatorOptions(faults="activities.empty_pages=3"))
    api.trigger(1234, [318592])
    pages = _read(api)
    assert ["result" in p for p in pages] == [False, False, False, True]
    assert [p["moreResult"] for p in pages] == [True, True, True, False]
    assert len({p["nextPageToken"] for p in pages}) == 4
    assert [a["leadId"] for a in pages[-1]["result"]] == [318592]


def test_an_endless_log_serves_its_activities_then_empty_pages_forever(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(EmulatorOptions(faults="activities.endless=on"))
    api.trigger(1234, [318592, 318593])
    pages = _read(api)
    assert len(pages) == 60 and all(p["moreResult"] for p in pages)
    assert [a["leadId"] for a in pages[0]["result"]] == [318592, 318593]
    assert not any("result" in p for p in pages[1:])
    api.trigger(1234, [318594])  # a later activity is still served by the same read
    later = api.get(ACTIVITIES, params={"nextPageToken": pages[-1]["nextPageToken"],
                                        "activityTypeIds": "47"}).json()  # fmt: skip
    assert [a["leadId"] for a in later["result"]] == [318594]


def test_flow_activities_come_from_the_campaign_and_only_all_types_serves_them(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(EmulatorOptions(faults="activities.flow=on"))
    api.trigger(1234, [318592])
    (page,) = _read(api)
    assert [a["activityTypeId"] for a in page["result"]] == [47]
    request = page["result"][0]
    assert request["primaryAttributeValueId"] == 1234 and "campaignId" not in request
    (page,) = _read(api, types="6")
    (email,) = page["result"]
    assert (email["activityTypeId"], email["campaignId"]) == (6, 1234)
    assert email["primaryAttributeValueId"] == 701234
    api.emu.set_faults("activities.types=all")
    (page,) = _read(api, types="47")
    assert [a["activityTypeId"] for a in page["result"]] == [47, 6]


def test_activities_added_by_hand_keep_the_log_in_time_order(api: Api) -> None:
    api.trigger(1234, [318592])
    added = api.emu.add_activity(318593, 6, campaign_id=1234, primary_id=9)
    assert added["campaignId"] == 1234 and "_at" not in added
    response = httpx.post(
        api.emu.base_url + "/_emulator/activities",
        json=[{"leadId": 318594, "activityTypeId": 47, "primaryAttributeValueId": 1234,
               "activityDate": "2021-06-01T00:00:00Z"}],
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()[0]["activityDate"] == "2021-06-01T00:00:00Z"
    log = api.emu.activities()
    assert [a["leadId"] for a in log] == [318594, 318592, 318593]
    bad = httpx.post(api.emu.base_url + "/_emulator/activities", json=[{"leadId": 1}])
    assert bad.status_code == 400


def test_switches_are_parsed_checked_and_kept_when_a_spec_does_not_name_them(
    api: Api,
) -> None:
    assert activity_faults("606=0.1,activities.empty_pages=2,activities.types=all") == (
        ActivityFaults(empty_pages=2, all_types=True)
    )
    assert parse_spec("606=0.1,activities.flow=on") == ({"606": 0.1}, [])
    for bad in ("activities.empty_pages=-1", "activities.endless=maybe", "activities.x=1"):
        with pytest.raises(ValueError, match="activities"):
            parse_spec(bad)
    api.emu.set_faults("activities.endless=on")
    api.emu.set_faults("606=0")
    response = httpx.post(
        api.emu.base_url + "/_emulator/faults", json={"spec": "activities.empty_pages=1"}
    )
    assert response.status_code == 200
    api.trigger(1234, [318592])
    first = api.get(ACTIVITIES, params={
        "nextPageToken": api.get(TOKEN, params={"sinceDatetime": "2020-01-01"}).json()[
            "nextPageToken"], "activityTypeIds": "47"}).json()  # fmt: skip
    assert "result" not in first and first["moreResult"] is True
    api.emu.reset()  # back to the options: no switch on
    api.trigger(1234, [318592])
    (page,) = _read(api)
    assert page["moreResult"] is False
