"""Conformance: one test per endpoint the emulator serves, against what Adobe documents.

Each test checks the documented request and response shape, error codes and limits of one
endpoint over real HTTP, and names its source in a comment.  Adobe's pages are under
https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/ (the page is
named: *Leads*, *Activities*, *Paging Tokens*, *Folders*, ...); "Swagger" is Adobe's spec
of the same API (AdobeDocs/marketo-developer.en, help/rest-api/assets/swagger-*.json).
Where Adobe is silent the comment says whose observation backs the check instead.
``test_every_endpoint_has_a_conformance_test`` keeps the list complete.
"""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from emulator_testing import SEED, Api, error_code

from mktsync.emulator import EmulatorOptions
from mktsync.emulator.faults import ENDPOINTS
from mktsync.emulator.routes import ROUTES

LEADS = "/rest/v1/leads.json"
TOKEN = "/rest/v1/activities/pagingtoken.json"
ACTIVITIES = "/rest/v1/activities.json"
IDENTITY = "/identity/oauth/token"


def ok(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and body["success"] is True, body
    assert "#" in body["requestId"]
    return body


def test_every_endpoint_has_a_conformance_test() -> None:
    names = {"identity", *(route.name for route in ROUTES)}
    here = sys.modules[__name__].__dict__
    assert sorted(n for n in names if f"test_{n}" not in here) == []
    # The fault scripts accept exactly these names (issue 24: docs/emulator.md named
    # leads_describe2 while /_emulator/faults refused it).
    assert set(ENDPOINTS) == names and len(ENDPOINTS) == len(names)


def test_identity(api: Api) -> None:
    # Adobe, Authentication: GET or POST, a bearer token, expires_in counts down from 3600.
    creds = {"grant_type": "client_credentials", "client_id": api.emu.client_id,
             "client_secret": api.emu.client_secret}  # fmt: skip
    got = api.http.get(IDENTITY, params=creds).json()
    assert set(got) == {"access_token", "token_type", "expires_in", "scope"}
    assert got["token_type"] == "bearer" and 3590 <= got["expires_in"] <= 3599
    assert api.http.post(IDENTITY, params=creds).json()["access_token"] == got["access_token"]
    # Adobe, Error Codes: identity answers HTTP 401 for a bad client id or secret; the two
    # bodies are marketorestpython's (issue #2: "either 'Bad Client Credentials' or 'No
    # client with requested id'"); Adobe does not print them.
    wrong_secret = api.http.get(IDENTITY, params={**creds, "client_secret": "x"})
    unknown_id = api.http.get(IDENTITY, params={**creds, "client_id": "nobody"})
    assert (wrong_secret.status_code, unknown_id.status_code) == (401, 401)
    assert wrong_secret.json()["error_description"] == "Bad client credentials"
    assert unknown_id.json() == {
        "error": "unauthorized",
        "error_description": "No client with requested id",
    }
    # Swagger (identity): identity calls do not count toward the limits.
    assert api.emu.stats()["calls"] == 0


def test_campaign(api: Api) -> None:
    # Swagger Campaign: id, name, type, createdAt, updatedAt required; no isTriggerable field.
    [record] = ok(api.get("/rest/v1/campaigns/1234.json"))["result"]
    assert {"id", "name", "type", "createdAt", "updatedAt", "active"} <= set(record)
    assert "isTriggerable" not in record and record["type"] == "trigger"
    # Adobe, Error Codes: 1013 "Object not found" for a campaign by id.
    assert error_code(api.get("/rest/v1/campaigns/4321.json")) == "1013"


def test_campaigns(api: Api) -> None:
    # Swagger getCampaignsUsingGET: isTriggerable keeps active requestable trigger campaigns;
    # batchSize max 300; long queries as POST with _method=GET.
    body = ok(api.get("/rest/v1/campaigns.json", params={"isTriggerable": "true"}))
    assert [c["id"] for c in body["result"]] == [1234, 1237]
    assert error_code(api.get("/rest/v1/campaigns.json", params={"batchSize": "301"})) == "1003"
    posted = api.post("/rest/v1/campaigns.json", params={"_method": "GET"}, data={"id": "1235"})
    assert [c["id"] for c in ok(posted)["result"]] == [1235]


def test_smart_campaign(api: Api) -> None:
    # Adobe, Smart Campaigns: asset answers carry errors and warnings; isRequestable.
    body = ok(api.get("/rest/asset/v1/smartCampaign/1234.json"))
    assert body["errors"] == [] and body["warnings"] == []
    assert body["result"][0]["isRequestable"] is True
    # Asset lookups that find nothing: success, a warning, no result (marketorestpython #36).
    missing = ok(api.get("/rest/asset/v1/smartCampaign/9.json"))
    assert "result" not in missing and missing["warnings"]


def test_trigger(api: Api) -> None:
    # Adobe, Smart Campaigns (Request Campaign): result holds the campaign id only; at most
    # 100 leads and 100 tokens; Error Codes: 1003 for Request Campaign on a batch campaign.
    body = ok(api.trigger(1234, [318592], {"{{my.WebinarTitle}}": "Q3"}))
    assert body["result"] == [{"id": 1234}]
    assert error_code(api.trigger(1234, list(range(101)))) == "1003"
    tokens = {f"{{{{my.T{i}}}}}": "v" for i in range(101)}
    assert error_code(api.trigger(1234, [318592], tokens)) == "1003"
    assert error_code(api.trigger(1235, [318592])) == "1003"


def test_schedule(api: Api) -> None:
    # Adobe, Smart Campaigns (Schedule Campaign) and Error Codes: batch campaigns only,
    # runAt at most two years ahead (1042); the result is the campaign id.
    path = "/rest/v1/campaigns/{}/schedule.json"
    assert ok(api.post(path.format(1235), json={"input": {}}))["result"] == [{"id": 1235}]
    far = (datetime.now(UTC) + timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error_code(api.post(path.format(1235), json={"input": {"runAt": far}})) == "1042"
    assert error_code(api.post(path.format(1234), json={"input": {}})) == "1003"


def test_leads_get(make_api: Any) -> None:
    fields = [{"name": "joinLink", "dataType": "url"}, {"name": "crmId", "dataType": "string"},
              {"name": "seats", "dataType": "integer"}]  # fmt: skip
    api: Api = make_api(EmulatorOptions(), {**SEED, "lead_fields": fields})
    # Adobe, Leads: custom fields of type string, email or integer are searchable, ...
    assert ok(api.get(LEADS, params={"filterType": "crmId", "filterValues": "x"}))["result"] == []
    assert ok(api.get(LEADS, params={"filterType": "seats", "filterValues": "3"}))["result"] == []
    # ... a url field is not, nor a standard field Swagger does not list: 1011.
    for field in ("joinLink", "company", "firstName", "createdAt"):
        refused = api.get(LEADS, params={"filterType": field, "filterValues": "x"})
        assert error_code(refused) == "1011", field
    # Leads: at most 300 filterValues; a requested field without a value is null.
    many = ",".join(str(i) for i in range(301))
    assert error_code(api.get(LEADS, params={"filterType": "id", "filterValues": many})) == "1003"
    got = ok(api.get(LEADS, params={"filterType": "id", "filterValues": "318593",
                                    "fields": "lastName"}))  # fmt: skip
    assert got["result"] == [{"id": 318593, "lastName": None}]


def test_leads_sync(api: Api) -> None:
    # Adobe, Leads (Create and Update) and Error Codes: one result per record in input order;
    # a skipped record has reasons and no id; 1005 lead exists (createOnly); max 300.
    body = ok(api.post(LEADS, json={"action": "createOnly",
                                    "input": [{"email": "ada@example.com"}, {"email": "n@x.io"}]}))  # fmt: skip
    skipped, created = body["result"]
    assert skipped == {"status": "skipped",
                       "reasons": [{"code": "1005", "message": "Lead already exists"}]}  # fmt: skip
    assert created["status"] == "created" and isinstance(created["id"], int)
    assert error_code(api.post(LEADS, json={"input": [{"email": "a@b.c"}] * 301})) == "1003"
    # Adobe, Error Codes: 1011 for a lookupField that is not searchable.
    refused = api.post(LEADS, json={"lookupField": "company", "input": [{"company": "Navy"}]})
    assert error_code(refused) == "1011"


def test_leads_describe2(make_api: Any) -> None:
    fields = [{"name": "joinLink", "dataType": "url"}, {"name": "crmId", "dataType": "string"}]
    api: Api = make_api(EmulatorOptions(), {**SEED, "lead_fields": fields})
    # Swagger LeadAttribute2: name "API Lead", searchableFields (a list of field lists), and
    # fields with name, displayName, dataType, updateable, crmManaged.
    [result] = ok(api.get("/rest/v1/leads/describe2.json"))["result"]
    assert result["name"] == "API Lead"
    for field in result["fields"]:
        assert {"name", "displayName", "dataType", "updateable", "crmManaged"} <= set(field)
    searchable = [names[0] for names in result["searchableFields"]]
    assert all(len(names) == 1 for names in result["searchableFields"])
    # Swagger filterType: the listed standard fields, then custom string/email/integer ones.
    assert searchable[:12] == ["email", "id", "cookies", "facebookId", "leadPartitionId",
                               "linkedInId", "sfdcAccountId", "sfdcContactId", "sfdcLeadId",
                               "sfdcLeadOwnerId", "sfdcOpptyId", "twitterId"]  # fmt: skip
    assert "crmId" in searchable and "joinLink" not in searchable and "company" not in searchable
    # Adobe, Leads: describe2 lists what filterType accepts -- every one of them, no other.
    for field in searchable:
        assert error_code(api.get(LEADS, params={"filterType": field, "filterValues": "1"})) in (
            None,
            "1001",  # id's values must be integers: the field is accepted, the value is not
        ), field
    described = {f["name"] for f in result["fields"]}
    for field in sorted(described - set(searchable)):
        refused = api.get(LEADS, params={"filterType": field, "filterValues": "1"})
        assert error_code(refused) == "1011", field


def test_leads_describe(api: Api) -> None:
    # Adobe, Leads (Describe): each result has id, displayName, dataType, and rest {name,
    # readOnly} when the field is usable over REST.
    result = ok(api.get("/rest/v1/leads/describe.json"))["result"]
    by_name = {f["rest"]["name"]: f for f in result}
    assert {"id", "displayName", "dataType"} <= set(by_name["email"])
    assert by_name["id"]["rest"]["readOnly"] is True and by_name["email"]["dataType"] == "email"


def test_tokens_get(api: Api) -> None:
    # Adobe, Tokens: folder {type, value} and tokens {name, type, value, computedUrl};
    # Error Codes: 710 parent folder not found, 711 incompatible folder type.
    path = "/rest/asset/v1/folder/{}/tokens.json"
    [entry] = ok(api.get(path.format(1001), params={"folderType": "Program"}))["result"]
    assert entry["folder"] == {"type": "Program", "value": 1001}
    assert {"name", "type", "value", "computedUrl"} <= set(entry["tokens"][0])
    assert error_code(api.get(path.format(999), params={"folderType": "Program"})) == "710"
    assert error_code(api.get(path.format(1001), params={"folderType": "Folder"})) == "711"


def test_tokens_post(api: Api) -> None:
    # Adobe, Tokens: create or update is form-encoded; name up to 50 characters; the types
    # are date, number, rich text, score, sfdc campaign, text.
    path = "/rest/asset/v1/folder/1001/tokens.json"
    form = {"name": "Region", "type": "text", "value": "EMEA", "folderType": "Program"}
    [entry] = ok(api.post(path, data=form))["result"]
    assert [t["name"] for t in entry["tokens"]] == ["Region"]
    assert error_code(api.post(path, json=form)) == "612"
    assert error_code(api.post(path, data={**form, "name": "x" * 51})) == "1003"
    assert error_code(api.post(path, data={**form, "type": "colour"})) == "1003"


def test_tokens_delete(api: Api) -> None:
    # Adobe, Tokens (Delete): form-encoded name, type, folderType; the result is the folder id.
    path = "/rest/asset/v1/folder/1001/tokens/delete.json"
    form = {"name": "WebinarTitle", "type": "text", "folderType": "Program"}
    assert ok(api.post(path, data=form))["result"] == [{"id": 1001}]


def test_folder(api: Api) -> None:
    # Adobe, Folders: the Marketing Activities root (Zone, parent null, path
    # "/Marketing Activities") holds the workspace folder "Default" (Zone, path
    # "/Marketing Activities/Default"), which holds what users create.
    path = "/rest/asset/v1/folder/{}.json"
    [program] = ok(api.get(path.format(1001), params={"type": "Program"}))["result"]
    assert program["folderType"] == "Program" and program["parent"] == {"id": 15, "type": "Folder"}
    assert program["path"] == "/Marketing Activities/Default/Webinars"
    [workspace] = ok(api.get(path.format(15), params={"type": "Folder"}))["result"]
    assert (workspace["name"], workspace["folderType"], workspace["isSystem"]) == (
        "Default", "Zone", True)  # fmt: skip
    assert workspace["parent"] == {"id": 14, "type": "Folder"}
    [root] = ok(api.get(path.format(14), params={"type": "Folder"}))["result"]
    assert (root["name"], root["parent"], root["path"]) == (
        "Marketing Activities", None, "/Marketing Activities")  # fmt: skip
    assert set(root) >= {"folderId", "folderType", "isArchive", "accessZoneId", "workspace"}


def test_program(api: Api) -> None:
    # Adobe, Programs (by id): folder {type, value, folderName}; every program has a folder.
    [program] = ok(api.get("/rest/asset/v1/program/1001.json"))["result"]
    assert program["folder"] == {"type": "Folder", "value": 15, "folderName": "Default"}
    assert program["url"].endswith("#PG1001A1")


def _decoded(token: str) -> str:
    return base64.b32decode(token + "=" * (-len(token) % 8)).decode()


def test_paging_token(api: Api) -> None:
    # Adobe, Paging Tokens: {requestId, success, nextPageToken}; a date-based token
    # "represents a date" (Adobe's example token decodes to "2008-11-06T00:00:00.000+0000,0").
    body = ok(api.get(TOKEN, params={"sinceDatetime": "2014-10-06T13:22:17-08:00"}))
    assert set(body) == {"requestId", "success", "nextPageToken"}
    assert _decoded(body["nextPageToken"]) == "2014-10-06T21:22:17.000+0000,0"
    # Swagger: sinceDatetime is required.
    assert error_code(api.get(TOKEN)) == "701"


def test_activities(api: Api) -> None:
    # Swagger getLeadActivitiesUsingGET: the token is "a datetime ... This endpoint will
    # return activities after this datetime"; Adobe, Activities: nextPageToken is always
    # returned, moreResult says whether to go on.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = ok(api.get(TOKEN, params={"sinceDatetime": tomorrow}))["nextPageToken"]
    api.trigger(1234, [318592])  # logged today: after the token was issued, before its date
    page = ok(api.get(ACTIVITIES, params={"nextPageToken": later, "activityTypeIds": "47"}))
    assert "result" not in page and page["moreResult"] is False and page["nextPageToken"]
    api.emu.add_activity(318593, 47, primary_id=1234, at=datetime.now(UTC) + timedelta(days=2))
    page = ok(api.get(ACTIVITIES, params={"nextPageToken": page["nextPageToken"],
                                          "activityTypeIds": "47"}))  # fmt: skip
    assert [a["leadId"] for a in page["result"]] == [318593]  # once "tomorrow" has come
    # Adobe, Activities: at most 10 activity types and 30 leads a call; batchSize <= 300.
    today = ok(api.get(TOKEN, params={"sinceDatetime": "2020-01-01T00:00:00Z"}))["nextPageToken"]
    for params in ({"activityTypeIds": ",".join(map(str, range(1, 12)))},
                   {"activityTypeIds": "47", "leadIds": ",".join(map(str, range(31)))},
                   {"activityTypeIds": "47", "batchSize": "301"}):  # fmt: skip
        assert error_code(api.get(ACTIVITIES, params={"nextPageToken": today, **params})) == "1003"
    [first] = ok(api.get(ACTIVITIES, params={"nextPageToken": today, "activityTypeIds": "47",
                                             "batchSize": "1"}))["result"]  # fmt: skip
    # Adobe, Activities: the record's fields.
    assert set(first) >= {"id", "marketoGUID", "leadId", "activityDate", "activityTypeId",
                          "primaryAttributeValueId", "primaryAttributeValue", "attributes"}  # fmt: skip


def test_activity_types(api: Api) -> None:
    # Adobe, Activities (Describe) and Swagger ActivityType: id, name, description,
    # primaryAttribute {name, dataType}, attributes [{name, dataType}].
    types = {t["id"]: t for t in ok(api.get("/rest/v1/activities/types.json"))["result"]}
    for entry in types.values():
        assert set(entry) == {"id", "name", "description", "primaryAttribute", "attributes"}
        assert set(entry["primaryAttribute"]) == {"name", "dataType"}
        assert all(set(a) == {"name", "dataType"} for a in entry["attributes"])
    assert types[2]["primaryAttribute"] == {"name": "Webform ID", "dataType": "integer"}  # Adobe
    assert (types[12]["name"], types[13]["name"]) == ("New Lead", "Change Data Value")  # blog
    assert (types[47]["name"], types[6]["name"]) == ("Request Campaign", "Send Email")  # Talend
    # Every activity the emulator logs is of a described type, with described attributes:
    # a trigger (47; 6 with the flow switch), a sync that creates (12) and changes (13).
    api.emu.set_faults("activities.flow=on")
    api.trigger(1234, [318592])
    ok(api.post(LEADS, json={"input": [{"email": "new@x.io"}, {"email": "ada@example.com",
                                                               "firstName": "Augusta"}]}))  # fmt: skip
    logged = api.emu.activities()
    assert {a["activityTypeId"] for a in logged} == {6, 12, 13, 47}
    for activity in logged:
        declared = {a["name"] for a in types[activity["activityTypeId"]]["attributes"]}
        assert {a["name"] for a in activity["attributes"]} <= declared, activity
    [change] = [a for a in logged if a["activityTypeId"] == 13]
    assert change["primaryAttributeValue"] == "FirstName"
    assert {a["name"]: a["value"] for a in change["attributes"]}["New Value"] == "Augusta"


def test_usage(make_api: Any) -> None:
    # Adobe, Usage (help/rest-api/usage.md): result holds one day, date YYYY-MM-DD, total,
    # users [{userId, count}], every API user reported separately.  The read counts itself.
    api: Api = make_api(EmulatorOptions(), seed={**SEED, "usage": [{"userId": "crm@x.io",
                                                                   "count": 7}]})  # fmt: skip
    api.get("/rest/v1/campaigns/1234.json")
    [day] = ok(api.get("/rest/v1/stats/usage.json"))["result"]
    assert set(day) == {"date", "total", "users"}
    datetime.strptime(day["date"], "%Y-%m-%d")
    users = {u["userId"]: u["count"] for u in day["users"]}
    assert all(set(u) == {"userId", "count"} for u in day["users"])
    assert users == {"crm@x.io": 7, "abc@emulator.example": 2} and day["total"] == 9


def test_usage_last7days(make_api: Any) -> None:
    # Adobe, Usage: "Each element in the result array represents one day", seven of them.
    seeded = [{"userId": "bi@x.io", "count": 5, "days_ago": 1}]
    api: Api = make_api(EmulatorOptions(), seed={**SEED, "usage": seeded})
    days = ok(api.get("/rest/v1/stats/usage/last7days.json"))["result"]
    assert len(days) == 7 and [d["total"] for d in days[:2]] == [1, 5]
    dates = [datetime.strptime(d["date"], "%Y-%m-%d") for d in days]
    assert dates == sorted(dates, reverse=True) and dates[0] - dates[1] == timedelta(days=1)
    assert days[1]["users"] == [{"userId": "bi@x.io", "count": 5}]
