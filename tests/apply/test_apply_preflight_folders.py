"""apply with My Tokens defined on parent folders: preflight walks up, the emulator delivers."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, write_project
from testing.seed import project_seed


def folder_seed(path: Path, *, link_on: str) -> dict[str, object]:
    """The demo seed with the program moved into Events (in Marketing) and tokens spread out."""
    [program] = project_seed(path)["programs"]
    by_name = {t["name"]: t for t in program["tokens"]}
    program["folder_id"] = 11
    program["tokens"] = [by_name["Webinar"]]  # Link comes from a folder, or from nowhere
    top = [by_name["Link"]] if link_on == "grandparent" else []
    return {
        "folders": [
            {"id": 10, "name": "Marketing", "tokens": top},
            {"id": 11, "name": "Events", "parent_id": 10},
        ],
        "programs": [program],
    }


def test_token_only_on_a_grandparent_folder_passes_and_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, **folder_seed(path, link_on="grandparent")) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, err
        [sent] = emu.triggers()
        assert sent["tokens"]["{{my.Link}}"] == "https://example.com/c"
        assert len(sent["lead_ids"]) == 3
        walked = [e["path"] for e in emu.journal() if e["endpoint"] in ("tokens_get", "folder")]
        assert len(walked) == 5  # program tokens, program record, Events x2, Marketing tokens


def test_token_defined_nowhere_is_refused_before_anything_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, **folder_seed(path, link_on="nowhere")) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 1
        assert "has no My Token 'Link' (sent as {{my.Link}})" in err
        # ... up to the workspace and root folders every instance has (Adobe, Folders).
        assert (
            "folder 11 (Events), folder 10 (Marketing), folder 15 (Default), "
            "folder 14 (Marketing Activities) above it; available: Webinar"
        ) in err
        assert emu.triggers() == []


def test_plan_counts_the_walk_apply_made_last_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    path = write_project(tmp_path, rows(3))
    code, out, _ = cli(["plan", str(path), "--format", "json"], None, monkeypatch)
    assert json.loads(out)["summary"]["preflight_calls"] == 2  # never applied: the estimate
    with emulator(path, **folder_seed(path, link_on="grandparent")) as emu:
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        changed = rows(3)
        changed[0]["code"] = "NEW"
        write_project(tmp_path, changed)
        code, out, _ = cli(["plan", str(path), "--format", "json"], None, monkeypatch)
        # smart campaign + program tokens + 2 calls per folder (record, tokens) ... as apply saw
        assert json.loads(out)["summary"]["preflight_calls"] == 6
