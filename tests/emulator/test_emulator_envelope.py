"""The envelope: requestId form, string codes, 610/605, which keys appear when."""

from __future__ import annotations

import re
import time

from emulator_testing import Api, error_code

REQUEST_ID = re.compile(r"^([0-9a-f]+)#([0-9a-f]+)$")


def test_request_ids_carry_epoch_milliseconds_and_are_unique(api: Api) -> None:
    before = int(time.time() * 1000)
    ids = [api.get("/rest/v1/campaigns/1234.json").json()["requestId"] for _ in range(5)]
    after = int(time.time() * 1000)
    assert len(set(ids)) == 5
    for request_id in ids:
        match = REQUEST_ID.match(request_id)
        assert match is not None
        assert before <= int(match.group(2), 16) <= after


def test_errors_are_http_200_with_string_codes(api: Api) -> None:
    response = api.get("/rest/v1/campaigns/999.json")
    body = response.json()
    assert response.status_code == 200
    assert body["success"] is False and "result" not in body
    assert body["errors"] == [{"code": "1013", "message": "Campaign '999' not found"}]


def test_unknown_path_610_and_wrong_method_605(api: Api) -> None:
    assert error_code(api.get("/rest/v1/nothing.json")) == "610"
    assert error_code(api.get("/rest/v1/campaigns/1234/trigger.json")) == "605"
    assert error_code(api.http.put("/rest/v1/leads.json", headers=api.auth)) == "605"
    stats = api.emu.stats()
    assert stats["calls"] == 1  # 610 counts; 605 is one of Marketo's uncounted codes


def test_lead_db_omits_empty_errors_and_asset_api_keeps_them(api: Api) -> None:
    lead_db = api.get("/rest/v1/campaigns/1234.json").json()
    assert set(lead_db) == {"requestId", "success", "result"}
    asset = api.get("/rest/asset/v1/smartCampaign/1234.json").json()
    assert set(asset) == {"requestId", "success", "result", "errors", "warnings"}


def test_json_content_type_header(api: Api) -> None:
    response = api.get("/rest/v1/campaigns/1234.json")
    assert response.headers["content-type"].startswith("application/json")
