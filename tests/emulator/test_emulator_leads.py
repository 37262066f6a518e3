"""Leads: get by filter type (300 values, paging, 414, POST + _method=GET) and sync."""

from __future__ import annotations

from typing import Any

from emulator_testing import SEED, Api, error_code

from mktsync.emulator import EmulatorOptions

LEADS = "/rest/v1/leads.json"


def test_get_by_id_and_email_with_default_fields(api: Api) -> None:
    by_id = api.get(LEADS, params={"filterType": "id", "filterValues": "318592,318593,7"}).json()
    assert [lead["id"] for lead in by_id["result"]] == [318592, 318593]
    ada = by_id["result"][0]
    assert set(ada) == {"id", "email", "updatedAt", "createdAt", "firstName", "lastName"}
    assert ada["updatedAt"].endswith("Z")
    assert by_id["result"][1]["lastName"] is None  # requested but empty -> null
    by_email = api.get(LEADS, params={"filterType": "email", "filterValues": "ADA@example.com"})
    assert [lead["id"] for lead in by_email.json()["result"]] == [318592]


def test_get_with_fields_and_custom_filter(make_api: Any) -> None:
    # A custom string field is searchable; a standard one Adobe does not list (company) is
    # not (Adobe, Leads: filterType takes the searchable fields describe2 lists).
    navy = {"id": 318594, "email": "grace@example.com", "company": "Navy", "crmId": "c-9"}
    api: Api = make_api(EmulatorOptions(), {**SEED, "leads": [navy]})
    body = api.get(
        LEADS, params={"filterType": "crmId", "filterValues": "c-9", "fields": "company"}
    ).json()
    assert body["result"] == [{"id": 318594, "company": "Navy"}]
    by_company = api.get(LEADS, params={"filterType": "company", "filterValues": "Navy"})
    assert error_code(by_company) == "1011"


def test_no_match_is_an_empty_success(api: Api) -> None:
    body = api.get(LEADS, params={"filterType": "email", "filterValues": "x@y.z"}).json()
    assert body["success"] is True and body["result"] == []


def test_filter_errors(api: Api) -> None:
    unsupported = api.get(LEADS, params={"filterType": "createdAt", "filterValues": "1"})
    assert error_code(unsupported) == "1011"
    assert "Lookup field 'createdAt' not supported" in unsupported.text
    assert error_code(api.get(LEADS, params={"filterType": "shoeSize", "filterValues": "1"})) == (
        "1011"
    )
    assert error_code(api.get(LEADS, params={"filterValues": "1"})) == "1002"
    assert error_code(api.get(LEADS, params={"filterType": "id"})) == "1002"
    bad_field = api.get(LEADS, params={"filterType": "id", "filterValues": "1", "fields": "zz"})
    assert error_code(bad_field) == "1006"


def test_at_most_300_filter_values(api: Api) -> None:
    values = ",".join(str(i) for i in range(300))
    assert error_code(api.get(LEADS, params={"filterType": "id", "filterValues": values})) is None
    values += ",300"
    assert error_code(api.get(LEADS, params={"filterType": "id", "filterValues": values})) == "1003"


def test_long_uri_gets_414_and_post_with_method_get_works(api: Api) -> None:
    emails = ",".join(f"someone.with.a.long.name{i}@example.com" for i in range(250)) + ","
    emails += "ada@example.com"
    params = {"filterType": "email", "filterValues": emails}
    response = api.get(LEADS, params=params)
    assert response.status_code == 414
    posted = api.post(LEADS, params={"_method": "GET"}, data=params)
    assert posted.status_code == 200
    assert [lead["id"] for lead in posted.json()["result"]] == [318592]
    as_json = api.post(LEADS, params={"_method": "GET"}, json=params)
    assert error_code(as_json) == "612"
    assert [e["endpoint"] for e in api.emu.journal()[-3:]] == ["leads_get"] * 3


def test_paging_over_leads(make_api: Any) -> None:
    seed = {**SEED, "leads": [{"id": i, "email": f"p{i}@example.com"} for i in range(1, 8)]}
    api: Api = make_api(EmulatorOptions(), seed)
    params: dict[str, Any] = {"filterType": "id", "filterValues": "1,2,3,4,5,6,7", "batchSize": 3}
    seen: list[int] = []
    pages = 0
    while True:
        body = api.get(LEADS, params=params).json()
        pages += 1
        seen += [lead["id"] for lead in body["result"]]
        if not body.get("moreResult"):
            break
        params["nextPageToken"] = body["nextPageToken"]
    assert seen == [1, 2, 3, 4, 5, 6, 7] and pages == 3


def sync(api: Api, records: list[Any], **extra: Any) -> Any:
    response = api.post(LEADS, json={"input": records, **extra})
    assert response.status_code == 200
    return response.json()


def test_sync_create_or_update(api: Api) -> None:
    body = sync(api, [{"email": "ada@example.com", "firstName": "Augusta"}, {"email": "n@x.io"}])
    assert body["success"] is True
    updated, created = body["result"]
    assert updated == {"id": 318592, "status": "updated"}
    assert created["status"] == "created" and created["id"] not in (318592, 318593, 318594)
    again = sync(api, [{"email": "m@x.io"}])["result"][0]
    assert again["id"] not in (created["id"], 318592)
    got = api.get(LEADS, params={"filterType": "email", "filterValues": "ada@example.com"})
    assert got.json()["result"][0]["firstName"] == "Augusta"


def test_sync_create_only_and_update_only_skip_with_reasons(api: Api) -> None:
    create = sync(api, [{"email": "ada@example.com"}, {"email": "new@x.io"}], action="createOnly")
    skipped, created = create["result"]
    assert skipped == {
        "status": "skipped",
        "reasons": [{"code": "1005", "message": "Lead already exists"}],
    }
    assert created["status"] == "created"
    update = sync(api, [{"email": "ghost@x.io"}], action="updateOnly")["result"][0]
    assert update["status"] == "skipped" and update["reasons"][0]["code"] == "1004"
    assert "id" not in update
    by_id = sync(api, [{"id": 318593, "lastName": "Turing"}], action="updateOnly", lookupField="id")
    assert by_id["result"] == [{"id": 318593, "status": "updated"}]


def test_sync_record_and_request_errors(api: Api) -> None:
    bad = sync(api, [{"email": "bademail"}, {"email": "ok@x.io"}])
    assert bad["success"] is True
    assert bad["result"][0]["reasons"][0]["code"] == "1003"
    assert bad["result"][1]["status"] == "created"
    assert sync(api, [{"id": 1}], action="createOnly")["result"][0]["status"] == "skipped"
    assert error_code(api.post(LEADS, json={"input": [{"email": "a@b.c"}] * 301})) == "1003"
    assert error_code(api.post(LEADS, json={"input": [], "action": "merge"})) == "1003"
    assert error_code(api.post(LEADS, json={"input": [], "lookupField": "id"})) == "1003"
    assert error_code(api.post(LEADS, json={"records": []})) == "1002"
    assert error_code(api.post(LEADS, data={"input": "x"})) == "612"
