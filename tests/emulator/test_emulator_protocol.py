"""Protocol details real clients rely on: indexed lookups, _method=GET in the form body,
JSON-envelope 5xx faults, 1011 for lookups on non-searchable fields, gzip on request."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_testing import CLIENT, Api, error_code
from testing.seed import lead, seed

from mktsync.emulator import EmulatorOptions

LEADS = "/rest/v1/leads.json"
N = 5000


@pytest.fixture
def big(make_api: Any) -> Api:
    people = [lead(i, f"Person{i}@Example.com", crmId=f"c{i}") for i in range(1, N + 1)]
    api: Api = make_api(EmulatorOptions(), seed(client=CLIENT, leads=people))
    return api


def lookup(api: Api, field: str, values: list[str]) -> list[int]:
    body = api.get(LEADS, params={"filterType": field, "filterValues": ",".join(values)}).json()
    assert body["success"], body
    return sorted(lead["id"] for lead in body["result"])


def test_lookups_read_an_index_not_every_lead(big: Api) -> None:
    emails = [f"person{i}@example.com" for i in range(1, 301)]
    assert lookup(big, "email", emails) == list(range(1, 301))
    # The first email lookup builds the email index: one pass over the leads.
    assert big.emu.lead_index() == {"fields": ["email"], "rows_scanned": N}
    for start in (1000, 2000, 4700):
        wanted = [f"PERSON{i}@example.com" for i in range(start, start + 300)]
        assert lookup(big, "email", wanted) == list(range(start, start + 300))
    assert lookup(big, "id", ["17", "4999", "123456"]) == [17, 4999]  # ids are the dict's keys
    assert big.emu.lead_index()["rows_scanned"] == N  # three more lookups read no lead
    assert lookup(big, "crmId", ["c7", "c8"]) == [7, 8]  # any lookup field: one more pass
    assert big.emu.lead_index() == {"fields": ["crmId", "email"], "rows_scanned": 2 * N}


def test_the_index_follows_creates_and_updates(big: Api) -> None:
    assert lookup(big, "email", ["person5@example.com"]) == [5]
    sync = {"action": "updateOnly", "lookupField": "id", "input": [{"id": 5, "email": "new5@x.io"}]}
    assert big.post(LEADS, json=sync).json()["result"] == [{"id": 5, "status": "updated"}]
    created = big.post(LEADS, json={"action": "createOnly", "input": [{"email": "fresh@x.io"}]})
    [new] = created.json()["result"]
    assert new["status"] == "created" and new["id"] == N + 1  # no scan for the next id
    assert lookup(big, "email", ["person5@example.com"]) == []
    assert lookup(big, "email", ["NEW5@x.io", "fresh@x.io"]) == [5, N + 1]
    assert big.emu.lead_index()["rows_scanned"] == N


def test_method_get_in_the_form_body_as_marketorestpython_sends_it(api: Api) -> None:
    form = {"_method": "GET", "filterType": "email", "filterValues": "ada@example.com"}
    response = api.post(LEADS, data=form)
    body = response.json()
    assert body["success"] is True, body
    assert [lead["id"] for lead in body["result"]] == [318592]
    [entry] = [e for e in api.emu.journal() if e["endpoint"] == "leads_get"]
    assert entry["method"] == "POST"
    # Without the override a form body to leads.json is a sync with the wrong content type.
    plain = api.post(LEADS, data={"filterType": "email", "filterValues": "ada@example.com"})
    assert error_code(plain) == "612"


@pytest.mark.parametrize(("kind", "code"), [("json502", "502"), ("json500", "500")])
def test_json_envelope_5xx_faults(api: Api, kind: str, code: str) -> None:
    api.emu.set_faults(f"trigger#1={kind}")
    response = api.trigger(1234, [318592])
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["errors"][0]["code"] == code
    assert api.emu.triggers() == []  # like the other envelope faults, nothing was carried out
    assert error_code(api.trigger(1234, [318592])) is None


def test_lookups_on_non_searchable_fields_get_1011(api: Api) -> None:
    by_name = api.get(LEADS, params={"filterType": "firstName", "filterValues": "Ada"})
    assert error_code(by_name) == "1011"
    assert "firstName" in by_name.json()["errors"][0]["message"]
    sync = {"lookupField": "lastName", "input": [{"lastName": "Lovelace"}]}
    assert error_code(api.post(LEADS, json=sync)) == "1011"
    assert error_code(api.post(LEADS, json={**sync, "lookupField": "shoeSize"})) == "1003"


def test_gzip_only_when_asked_and_only_from_1024_bytes(big: Api) -> None:
    params = {"filterType": "id", "filterValues": ",".join(map(str, range(1, 51)))}
    asked = big.get(LEADS, params=params, headers={"Accept-Encoding": "gzip"})
    assert asked.headers["content-encoding"] == "gzip"
    assert asked.json()["success"] is True and len(asked.json()["result"]) == 50  # decoded
    assert int(asked.headers["content-length"]) < len(asked.content)  # gzip on the wire
    plain = big.get(LEADS, params=params, headers={"Accept-Encoding": "identity"})
    assert (
        "content-encoding" not in plain.headers and plain.json()["result"] == asked.json()["result"]
    )
    refused = big.get(LEADS, params=params, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    small = big.get(
        LEADS, params={**params, "filterValues": "1"}, headers={"Accept-Encoding": "gzip"}
    )
    assert len(small.content) < 1024 and "content-encoding" not in small.headers
