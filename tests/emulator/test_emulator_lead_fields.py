"""Lead fields: the seeded describe schema, and per-record field checks in a leads.json sync."""

from __future__ import annotations

from typing import Any

from emulator_testing import SEED, Api

from mktsync.emulator import EmulatorOptions

FIELDS = [
    {"name": "webinarJoinLink", "displayName": "Webinar Join Link", "dataType": "url"},
    {"name": "shortCode", "displayName": "Short Code", "dataType": "string", "length": 4},
    {"name": "score2", "dataType": "integer", "readOnly": True},
]


def seeded(make_api: Any) -> Api:
    api: Api = make_api(EmulatorOptions(), {**SEED, "lead_fields": FIELDS})
    return api


def test_describe2_lists_seeded_and_standard_fields(make_api: Any) -> None:
    api = seeded(make_api)
    (result,) = api.get("/rest/v1/leads/describe2.json").json()["result"]
    by_name = {f["name"]: f for f in result["fields"]}
    assert by_name["webinarJoinLink"] == {
        "name": "webinarJoinLink",
        "displayName": "Webinar Join Link",
        "dataType": "url",
        "length": 255,
        "updateable": True,
        "crmManaged": False,
    }
    assert by_name["shortCode"]["length"] == 4
    assert by_name["score2"]["updateable"] is False
    assert by_name["id"]["updateable"] is False and by_name["email"]["updateable"] is True
    described = api.get("/rest/v1/leads/describe.json").json()["result"]
    assert {"name": "webinarJoinLink", "readOnly": False} in [f["rest"] for f in described]


def test_sync_skips_bad_records_and_updates_the_others_in_one_call(make_api: Any) -> None:
    api = seeded(make_api)
    body = {
        "action": "updateOnly",
        "lookupField": "id",
        "input": [
            {"id": 318592, "webinarJoinLink": "https://j/1"},
            {"id": 318593, "webinarJoinLnk": "https://j/2"},
            {"id": 318594, "shortCode": "TOO-LONG"},
        ],
    }
    reply = api.post("/rest/v1/leads.json", json=body).json()
    assert reply["success"] is True
    statuses = [(r["status"], [x["code"] for x in r.get("reasons", [])]) for r in reply["result"]]
    assert statuses == [("updated", []), ("skipped", ["1006"]), ("skipped", ["1003"])]
    assert "webinarJoinLnk" in reply["result"][1]["reasons"][0]["message"]
    leads = {lead["id"]: lead for lead in api.get("/_emulator/leads").json()}
    assert leads[318592]["webinarJoinLink"] == "https://j/1"
    assert "shortCode" not in leads[318594]
