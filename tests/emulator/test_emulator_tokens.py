"""Program My Tokens: get, form-encoded upsert, delete; folder errors."""

from __future__ import annotations

from emulator_testing import Api, error_code

TOKENS = "/rest/asset/v1/folder/{}/tokens.json"
DELETE = "/rest/asset/v1/folder/{}/tokens/delete.json"


def names(api: Api) -> list[str]:
    body = api.get(TOKENS.format(1001), params={"folderType": "Program"}).json()
    return [t["name"] for t in body["result"][0]["tokens"]]


def test_get_tokens_of_a_program(api: Api) -> None:
    body = api.get(TOKENS.format(1001), params={"folderType": "Program"}).json()
    assert body["success"] is True and body["errors"] == [] and body["warnings"] == []
    [folder] = body["result"]
    assert folder["folder"] == {"type": "Program", "value": 1001}
    assert folder["tokens"][0] == {
        "name": "WebinarTitle",
        "type": "text",
        "value": "",
        "computedUrl": folder["tokens"][0]["computedUrl"],
    }


def test_folder_errors(api: Api) -> None:
    assert error_code(api.get(TOKENS.format(1001))) == "711"  # default folderType is Folder
    assert error_code(api.get(TOKENS.format(4242), params={"folderType": "Program"})) == "710"
    assert error_code(api.get(TOKENS.format(1001), params={"folderType": "Box"})) == "1003"


def test_create_update_and_delete_tokens(api: Api) -> None:
    form = {"name": "Speaker", "type": "text", "value": "Ada", "folderType": "Program"}
    created = api.post(TOKENS.format(1001), data=form).json()
    assert created["result"][0]["tokens"][0]["value"] == "Ada"
    api.post(TOKENS.format(1001), data={**form, "value": "Grace"})
    assert names(api).count("Speaker") == 1
    assert error_code(api.trigger(1234, [318592], {"{{my.Speaker}}": "x"})) is None
    gone = api.post(
        DELETE.format(1001), data={"name": "Speaker", "type": "text", "folderType": "Program"}
    )
    assert gone.json()["result"] == [{"id": 1001}]
    assert "Speaker" not in names(api)
    assert error_code(api.trigger(1234, [318592], {"{{my.Speaker}}": "x"})) == "1003"
    again = api.post(
        DELETE.format(1001), data={"name": "Speaker", "type": "text", "folderType": "Program"}
    )
    assert error_code(again) == "702"


def test_create_validation(api: Api) -> None:
    base = {"name": "N", "type": "text", "value": "v", "folderType": "Program"}
    assert error_code(api.post(TOKENS.format(1001), json=base)) == "612"
    assert error_code(api.post(TOKENS.format(1001), data={**base, "name": "x" * 51})) == "1003"
    assert error_code(api.post(TOKENS.format(1001), data={**base, "type": "color"})) == "1003"
    assert error_code(api.post(TOKENS.format(1001), data={**base, "type": "date"})) == "1003"
    assert (
        error_code(api.post(TOKENS.format(1001), data={**base, "type": "score", "value": "9e9"}))
        == "1003"
    )
    ok_date = {**base, "type": "date", "value": "2015-04-01"}
    assert error_code(api.post(TOKENS.format(1001), data=ok_date)) is None
    missing = {k: v for k, v in base.items() if k != "name"}
    assert error_code(api.post(TOKENS.format(1001), data=missing)) == "701"
