"""Campaign endpoints: get, list, smart campaign, trigger and schedule with their error paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from emulator_testing import SEED, Api, error_code

from mktsync.emulator import EmulatorOptions

TRIGGER = "/rest/v1/campaigns/{}/trigger.json"
SCHEDULE = "/rest/v1/campaigns/{}/schedule.json"


def test_trigger_applies_and_answers_only_the_campaign_id(api: Api) -> None:
    tokens = {"{{my.WebinarTitle}}": "Intro", "{{my.Join Link}}": "https://j/1"}
    response = api.trigger(1234, [318592, 318593], tokens)
    body = response.json()
    assert response.status_code == 200
    assert body["success"] is True and body["result"] == [{"id": 1234}]
    assert "errors" not in body
    [applied] = api.emu.triggers()
    assert applied["campaign_id"] == 1234
    assert applied["lead_ids"] == [318592, 318593]
    assert applied["tokens"] == tokens
    assert applied["request_id"] == body["requestId"]
    assert datetime.fromisoformat(applied["time"]).tzinfo is not None


@pytest.mark.parametrize(
    ("campaign_id", "code"),
    [(1235, "1003"), (1236, "1003"), (1238, "1003"), (999, "1013")],
    ids=["batch", "inactive", "not-requestable", "unknown"],
)
def test_trigger_refuses_campaigns_that_cannot_be_requested(
    api: Api, campaign_id: int, code: str
) -> None:
    assert error_code(api.trigger(campaign_id, [318592])) == code
    assert api.emu.triggers() == []


def test_trigger_limits_leads_and_tokens_to_100(make_api: Any) -> None:
    leads = [{"id": i, "email": f"l{i}@example.com"} for i in range(1, 102)]
    tokens = [{"name": f"T{i}", "type": "text"} for i in range(101)]
    seed = {
        **SEED,
        "programs": [{"id": 1001, "name": "Big", "tokens": tokens}],
        "campaigns": [{"id": 1234, "name": "c", "type": "trigger", "program_id": 1001}],
        "leads": leads,
    }
    api: Api = make_api(EmulatorOptions(), seed)
    assert error_code(api.trigger(1234, list(range(1, 101)))) is None
    assert error_code(api.trigger(1234, list(range(1, 102)))) == "1003"
    hundred = {f"{{{{my.T{i}}}}}": "v" for i in range(100)}
    assert error_code(api.trigger(1234, [1], hundred)) is None
    too_many = {f"{{{{my.T{i}}}}}": "v" for i in range(101)}
    assert error_code(api.trigger(1234, [1], too_many)) == "1003"
    assert len(api.emu.triggers()) == 2


@pytest.mark.parametrize(
    "tokens",
    [{"my.WebinarTitle": "x"}, {"{{WebinarTitle}}": "x"}, {"{{my.Missing}}": "x"}],
    ids=["no-braces", "no-my", "not-on-program"],
)
def test_trigger_refuses_bad_token_names(api: Api, tokens: dict[str, str]) -> None:
    assert error_code(api.trigger(1234, [318592], tokens)) == "1003"


@pytest.mark.parametrize(
    "body",
    [
        {"input": {"leads": [{"id": "318592"}]}},
        {"input": {"leads": [{"email": "ada@example.com"}]}},
        {"input": {"leads": []}},
        {"input": {"leads": [{"id": 318592}], "tokens": [{"name": "{{my.WebinarTitle}}"}]}},
    ],
    ids=["string-id", "email", "empty", "token-without-value"],
)
def test_trigger_refuses_malformed_input(api: Api, body: dict[str, Any]) -> None:
    assert error_code(api.post(TRIGGER.format(1234), json=body)) == "1003"


def test_trigger_without_input_is_a_missing_parameter(api: Api) -> None:
    assert error_code(api.post(TRIGGER.format(1234), json={})) == "1002"


def test_trigger_with_tokens_in_a_nested_program_gets_611(api: Api) -> None:
    assert error_code(api.trigger(1237, [318592], {"{{my.T}}": "x"})) == "611"
    assert error_code(api.trigger(1237, [318592])) is None
    assert [t["campaign_id"] for t in api.emu.triggers()] == [1237]


def test_trigger_with_unknown_leads_is_refused_or_filtered(make_api: Any) -> None:
    strict: Api = make_api(EmulatorOptions())
    assert error_code(strict.trigger(1234, [318592, 42])) == "1004"
    lenient: Api = make_api(EmulatorOptions(unknown_leads="ignore"))
    assert error_code(lenient.trigger(1234, [318592, 42])) is None
    assert lenient.emu.triggers()[0]["lead_ids"] == [318592]


def test_trigger_checks_content_type_and_json(api: Api) -> None:
    form = api.post(TRIGGER.format(1234), data={"input": "x"})
    assert error_code(form) == "612"
    broken = api.post(
        TRIGGER.format(1234), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert error_code(broken) == "609"


def test_body_over_1_mb_gets_http_413(api: Api) -> None:
    big = {"input": {"leads": [{"id": 318592}]}, "pad": "x" * (1024 * 1024)}
    response = api.post(TRIGGER.format(1234), json=big)
    assert response.status_code == 413
    assert api.emu.triggers() == []
    assert error_code(api.trigger(1234, [318592])) is None  # the connection is still usable


def test_get_campaign_by_id(api: Api) -> None:
    [campaign] = api.get("/rest/v1/campaigns/1234.json").json()["result"]
    assert campaign["id"] == 1234 and campaign["type"] == "trigger" and campaign["active"] is True
    assert campaign["programId"] == 1001 and campaign["programName"] == "Webinars"
    assert "isTriggerable" not in campaign
    assert error_code(api.get("/rest/v1/campaigns/999.json")) == "1013"


def test_list_campaigns_filters_and_pages(api: Api) -> None:
    everything = api.get("/rest/v1/campaigns.json").json()
    assert [c["id"] for c in everything["result"]] == [1234, 1235, 1236, 1237, 1238]
    assert "moreResult" not in everything
    triggerable = api.get("/rest/v1/campaigns.json", params={"isTriggerable": "true"}).json()
    assert [c["id"] for c in triggerable["result"]] == [1234, 1237]
    by_id = api.get("/rest/v1/campaigns.json", params={"id": "1235,1236"}).json()
    assert [c["id"] for c in by_id["result"]] == [1235, 1236]
    by_name = api.get("/rest/v1/campaigns.json", params={"name": "Monthly batch"}).json()
    assert [c["id"] for c in by_name["result"]] == [1235]
    first = api.get("/rest/v1/campaigns.json", params={"batchSize": 2}).json()
    assert [c["id"] for c in first["result"]] == [1234, 1235] and first["moreResult"] is True
    ids = [c["id"] for c in first["result"]]
    token = first["nextPageToken"]
    while token:
        page = api.get(
            "/rest/v1/campaigns.json", params={"batchSize": 2, "nextPageToken": token}
        ).json()
        ids += [c["id"] for c in page["result"]]
        token = page.get("nextPageToken") if page["moreResult"] else None
    assert ids == [1234, 1235, 1236, 1237, 1238]
    assert error_code(api.get("/rest/v1/campaigns.json", params={"batchSize": 301})) == "1003"
    assert error_code(api.get("/rest/v1/campaigns.json", params={"nextPageToken": "zz"})) == "1003"


def test_smart_campaign_asset(api: Api) -> None:
    body = api.get("/rest/asset/v1/smartCampaign/1234.json").json()
    assert body["errors"] == [] and body["warnings"] == []
    [sc] = body["result"]
    assert sc["type"] == "trigger" and sc["isActive"] is True and sc["isRequestable"] is True
    assert sc["parentProgramId"] == 1001
    off = api.get("/rest/asset/v1/smartCampaign/1238.json").json()["result"][0]
    assert off["isActive"] is True and off["isRequestable"] is False
    batch = api.get("/rest/asset/v1/smartCampaign/1235.json").json()["result"][0]
    assert batch["type"] == "batch" and batch["isRequestable"] is False
    missing = api.get("/rest/asset/v1/smartCampaign/999.json").json()
    assert missing["success"] is True and "result" not in missing
    assert missing["warnings"] == ["No assets found for the given search criteria."]


def _run_at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_schedule_batch_campaign(api: Api) -> None:
    assert api.post(SCHEDULE.format(1235)).json()["result"] == [{"id": 1235}]
    body = {"input": {"runAt": _run_at(timedelta(days=1)), "tokens": []}}
    assert error_code(api.post(SCHEDULE.format(1235), json=body)) is None
    soon = {"input": {"runAt": _run_at(timedelta(minutes=1))}}
    assert error_code(api.post(SCHEDULE.format(1235), json=soon)) is None
    first, later, clamped = api.emu.schedules()
    assert datetime.fromisoformat(later["run_at"]) > datetime.now(UTC) + timedelta(hours=23)
    assert datetime.fromisoformat(first["run_at"]) > datetime.now(UTC) + timedelta(minutes=4)
    assert datetime.fromisoformat(clamped["run_at"]) > datetime.now(UTC) + timedelta(minutes=4)
    assert api.emu.triggers() == []


@pytest.mark.parametrize(
    "run_at",
    [_run_at(timedelta(hours=-1)), _run_at(timedelta(days=800)), "tomorrow", "2030-01-01T00:00:00"],
    ids=["past", "beyond-2-years", "garbage", "no-offset"],
)
def test_schedule_refuses_bad_run_at(api: Api, run_at: str) -> None:
    assert error_code(api.post(SCHEDULE.format(1235), json={"input": {"runAt": run_at}})) == "1042"


def test_schedule_refuses_trigger_campaigns_and_bad_tokens(api: Api) -> None:
    assert error_code(api.post(SCHEDULE.format(1234))) == "1003"
    bad = {"input": {"tokens": [{"name": "{{my.Nope}}", "value": "x"}]}}
    assert error_code(api.post(SCHEDULE.format(1235), json=bad)) == "1003"


def test_clone_to_program_is_capped_per_day(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions(clone_daily_cap=2))
    body = {"input": {"cloneToProgramName": "Copy"}}
    codes = [error_code(api.post(SCHEDULE.format(1235), json=body)) for _ in range(3)]
    assert codes == [None, None, "1020"]
    assert error_code(api.post(SCHEDULE.format(1235))) is None
