"""Activities: a trigger logs "Request Campaign" (type 47) on each lead it reached, served
by pagingtoken.json + activities.json in Marketo's envelope."""

from __future__ import annotations

from emulator_testing import Api, error_code

TOKEN = "/rest/v1/activities/pagingtoken.json"
ACTIVITIES = "/rest/v1/activities.json"


def _token(api: Api, since: str = "2020-01-01T00:00:00Z") -> str:
    body = api.get(TOKEN, params={"sinceDatetime": since}).json()
    assert body["success"] is True and set(body) == {"requestId", "success", "nextPageToken"}
    token = body["nextPageToken"]
    assert isinstance(token, str)
    return token


def test_a_trigger_leaves_request_campaign_on_each_lead_it_reached(api: Api) -> None:
    assert api.trigger(1234, [318592, 318593]).json()["success"] is True
    body = api.get(
        ACTIVITIES, params={"nextPageToken": _token(api), "activityTypeIds": "47"}
    ).json()
    assert body["success"] is True and body["moreResult"] is False and body["nextPageToken"]
    assert [(a["leadId"], a["activityTypeId"]) for a in body["result"]] == [
        (318592, 47),
        (318593, 47),
    ]
    first = body["result"][0]
    assert first["primaryAttributeValueId"] == 1234
    assert first["primaryAttributeValue"] == "Webinar reminder"
    assert first["marketoGUID"] == str(first["id"])
    assert first["activityDate"].endswith("Z")
    assert api.emu.activities() == body["result"]


def test_filters_paging_and_the_empty_page(api: Api) -> None:
    api.trigger(1234, [318592, 318593, 318594])
    token = _token(api)
    page = api.get(
        ACTIVITIES,
        params={"nextPageToken": token, "activityTypeIds": "47", "leadIds": "318593,318594",
                "batchSize": "1"},
    ).json()  # fmt: skip
    assert [a["leadId"] for a in page["result"]] == [318593] and page["moreResult"] is True
    rest = api.get(
        ACTIVITIES,
        params={"nextPageToken": page["nextPageToken"], "activityTypeIds": "47",
                "leadIds": "318593,318594"},
    ).json()  # fmt: skip
    assert [a["leadId"] for a in rest["result"]] == [318594] and rest["moreResult"] is False
    later = _token(api, "2999-01-01T00:00:00Z")
    empty = api.get(ACTIVITIES, params={"nextPageToken": later, "activityTypeIds": "47"}).json()
    assert empty["success"] is True and "result" not in empty and empty["moreResult"] is False


def test_activity_errors(api: Api) -> None:
    assert error_code(api.get(TOKEN)) == "701"
    assert error_code(api.get(ACTIVITIES, params={"activityTypeIds": "47"})) == "701"
    token = _token(api)
    assert error_code(api.get(ACTIVITIES, params={"nextPageToken": token})) == "701"
    many = ",".join(str(i) for i in range(31))
    too_many = api.get(
        ACTIVITIES, params={"nextPageToken": token, "activityTypeIds": "47", "leadIds": many}
    )
    assert error_code(too_many) == "1003"
    bogus = api.get(ACTIVITIES, params={"nextPageToken": "AAAA", "activityTypeIds": "47"})
    assert error_code(bogus) == "1003"
