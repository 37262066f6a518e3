"""Folders with My Tokens: programs inherit them, the asset API answers for both, triggers use them."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_testing import CLIENT, Api, error_code
from testing.seed import campaign, folder, lead, program, seed, token

from mktsync.emulator import EmulatorOptions

TOKENS = "/rest/asset/v1/folder/{}/tokens.json"
FOLDER = "/rest/asset/v1/folder/{}.json"

FOLDER_SEED = seed(
    client=CLIENT,
    folders=[
        folder(11, "Events", token("Region", "EMEA"), parent_id=10),
        folder(10, "Marketing", token("Company", "Acme"), token("Region", "World")),
    ],
    programs=[
        program(1001, "Webinars", token("Company", "Acme EU"), folder_id=11),
        program(1002, "Loose"),
    ],
    campaigns=[
        campaign(1234, "Reminder", program_id=1001),
        campaign(1240, "Loose trigger", program_id=1002),
    ],
    leads=[lead(1, "a@example.com")],
)


@pytest.fixture
def fapi(make_api: Any) -> Api:
    api: Api = make_api(EmulatorOptions(), FOLDER_SEED)
    return api


def own_tokens(api: Api, folder_id: int, kind: str) -> dict[str, str]:
    body = api.get(TOKENS.format(folder_id), params={"folderType": kind}).json()
    [entry] = body["result"]
    assert entry["folder"] == {"type": kind, "value": folder_id}
    return {t["name"]: t["value"] for t in entry["tokens"]}


def test_tokens_answer_for_folders_and_programs_with_their_own_tokens(fapi: Api) -> None:
    assert own_tokens(fapi, 10, "Folder") == {"Company": "Acme", "Region": "World"}
    assert own_tokens(fapi, 11, "Folder") == {"Region": "EMEA"}
    assert own_tokens(fapi, 1001, "Program") == {"Company": "Acme EU"}
    assert error_code(fapi.get(TOKENS.format(99), params={"folderType": "Folder"})) == "710"
    assert error_code(fapi.get(TOKENS.format(1001), params={"folderType": "Folder"})) == "711"


def test_folder_records_name_their_parent_up_to_the_top(fapi: Api) -> None:
    program = fapi.get(FOLDER.format(1001), params={"type": "Program"}).json()["result"][0]
    assert program["parent"] == {"id": 11, "type": "Folder"}
    assert program["folderId"] == {"id": 1001, "type": "Program"}
    assert program["path"] == "/Marketing Activities/Default/Marketing/Events/Webinars"
    events = fapi.get(FOLDER.format(11), params={"type": "Folder"}).json()["result"][0]
    assert (events["name"], events["parent"]) == ("Events", {"id": 10, "type": "Folder"})
    # Adobe's Folders page: a top folder sits in the workspace folder, under the root.
    top = fapi.get(FOLDER.format(10), params={"type": "Folder"}).json()["result"][0]
    assert (top["parent"], top["path"]) == (
        {"id": 15, "type": "Folder"},
        "/Marketing Activities/Default/Marketing",
    )
    workspace = fapi.get(FOLDER.format(15), params={"type": "Folder"}).json()["result"][0]
    assert (workspace["folderType"], workspace["parent"]) == ("Zone", {"id": 14, "type": "Folder"})
    root = fapi.get(FOLDER.format(14), params={"type": "Folder"}).json()["result"][0]
    assert (root["name"], root["parent"], root["path"]) == (
        "Marketing Activities",
        None,
        "/Marketing Activities",
    )
    missing = fapi.get(FOLDER.format(77), params={"type": "Folder"}).json()
    assert missing["success"] is True and "result" not in missing and missing["warnings"]


def test_program_record_names_its_folder(fapi: Api) -> None:
    body = fapi.get("/rest/asset/v1/program/1001.json").json()
    assert body["result"][0]["folder"] == {"type": "Folder", "value": 11, "folderName": "Events"}
    loose = fapi.get("/rest/asset/v1/program/1002.json").json()["result"][0]
    assert loose["folder"] == {"type": "Folder", "value": 15, "folderName": "Default"}


def test_trigger_accepts_inherited_tokens_and_refuses_unknown_ones(fapi: Api) -> None:
    # Company is on the program (overriding the folder's), Region on the parent folder.
    tokens = {"{{my.Company}}": "x", "{{my.Region}}": "y"}
    assert error_code(fapi.trigger(1234, [1], tokens)) is None
    assert fapi.emu.triggers()[-1]["tokens"] == tokens
    assert error_code(fapi.trigger(1234, [1], {"{{my.Nowhere}}": "z"})) == "1003"
    # A program outside any folder inherits nothing.
    assert error_code(fapi.trigger(1240, [1], {"{{my.Company}}": "x"})) == "1003"


def test_seed_refuses_bad_folder_trees(make_api: Any) -> None:
    from mktsync.emulator.seed import build_world

    cycle = {
        "folders": [{"id": 1, "name": "A", "parent_id": 2}, {"id": 2, "name": "B", "parent_id": 1}]
    }
    with pytest.raises(ValueError, match="its own ancestor"):
        build_world(cycle)
    with pytest.raises(ValueError, match="parent_id 5 is not a folder"):
        build_world({"folders": [{"id": 1, "name": "A", "parent_id": 5}]})
    with pytest.raises(ValueError, match="folder_id 3 is not a folder"):
        build_world({"programs": [{"id": 1, "name": "P", "folder_id": 3}]})
    with pytest.raises(ValueError, match=r"folders\[0\]\.id 15 is a system folder's"):
        build_world({"folders": [{"id": 15, "name": "Mine"}]})
