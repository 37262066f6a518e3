"""Inspection under /_emulator/: journal, triggers, stats, reset, faults; loopback only."""

from __future__ import annotations

import json

from emulator_testing import Api, error_code, token_for


def test_journal_records_what_was_sent_without_secrets(api: Api) -> None:
    api.trigger(1234, [318592], {"{{my.WebinarTitle}}": "Intro"})
    api.get("/rest/v1/leads.json", params={"filterType": "id", "filterValues": "318592"})
    api.http.post("/identity/oauth/token", data={"grant_type": "client_credentials",
                                                 "client_id": "abc", "client_secret": "s3cret-value"})  # fmt: skip
    api.http.get("/rest/v1/campaigns/1.json", params={"access_token": api.token})
    journal = api.http.get("/_emulator/journal").json()
    assert [e["endpoint"] for e in journal] == [
        "identity", "trigger", "leads_get", "identity", "campaign",
    ]  # fmt: skip
    trigger = journal[1]
    assert trigger["method"] == "POST"
    assert trigger["path"] == "/rest/v1/campaigns/1234/trigger.json"
    assert trigger["body"] == {
        "input": {
            "leads": [{"id": 318592}],
            "tokens": [{"name": "{{my.WebinarTitle}}", "value": "Intro"}],
        }
    }
    assert trigger["status"] == 200 and trigger["codes"] == []
    assert trigger["request_id"] == api.emu.triggers()[0]["request_id"]
    assert journal[2]["query"] == {"filterType": "id", "filterValues": "318592"}
    assert journal[3]["body"]["client_secret"] == "***"
    assert journal[4]["codes"] == ["601"]
    dumped = json.dumps(journal)
    assert "s3cret-value" not in dumped and api.token not in dumped
    assert journal == api.emu.journal()


def test_triggers_and_stats_over_http(api: Api) -> None:
    api.trigger(1234, [318592, 318593])
    api.trigger(1235, [318592])
    triggers = api.http.get("/_emulator/triggers").json()
    assert [(t["campaign_id"], t["lead_ids"]) for t in triggers] == [(1234, [318592, 318593])]
    stats = api.http.get("/_emulator/stats").json()
    assert stats["calls"] == 2 and stats["received"] == 3
    assert stats["by_endpoint"] == {"identity": 1, "trigger": 2}


def test_post_faults_and_reset(api: Api) -> None:
    posted = api.http.post("/_emulator/faults", json={"spec": "campaign#1=604"}).json()
    assert posted["script"] == [{"endpoint": "campaign", "nth": 1, "fault": "604"}]
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "604"
    api.http.post("/_emulator/faults", json={"rates": {"713": 1.0}})
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "713"
    assert api.http.post("/_emulator/faults", json={"rates": {"nope": 1}}).status_code == 400
    api.post("/rest/v1/leads.json", json={"input": [{"email": "new@x.io"}]})
    assert api.http.post("/_emulator/reset").json() == {"reset": True}
    assert api.emu.journal() == [] and api.emu.stats()["calls"] == 0
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None  # token survives reset
    found = api.get(
        "/rest/v1/leads.json", params={"filterType": "email", "filterValues": "new@x.io"}
    )
    assert found.json()["result"] == []
    api.http.post("/_emulator/faults", json={"revoke_tokens": True})
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "601"
    assert token_for(api.http, api.emu) != api.token


def test_inspection_refuses_other_clients_and_unknown_names(api: Api) -> None:
    status, body = api.emu._inspect("GET", "/_emulator/journal", b"", "192.0.2.10")
    assert status == 403 and "loopback" in body["error"]
    assert api.emu._inspect("GET", "/_emulator/journal", b"", "::1")[0] == 200
    assert api.http.get("/_emulator/nothing").status_code == 404
