"""Preflight finds My Tokens up the folder tree: program, parent folder, grandparent folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from marketo_testing import CLIENT_ID, CLIENT_SECRET, FAST_RETRY, seed
from testing.seed import campaign, folder, program, token

from mktsync.config.model import Limits
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.marketo import MarketoClient

TREE: dict[str, Any] = {
    "folders": [
        folder(10, "Marketing", token("Brand"), token("Title")),
        folder(11, "Events", parent_id=10),
    ],
    "programs": [
        program(1001, "Webinars", token("Title"), folder_id=11),
        program(1002, "Second", folder_id=11),
    ],
    "campaigns": [
        campaign(1234, "Reminder", program_id=1001),
        campaign(1235, "Also in 1001", program_id=1001),
        campaign(1300, "Other", program_id=1002),
    ],
}


@pytest.fixture
def tree() -> Iterator[tuple[Emulator, MarketoClient]]:
    with (
        serve(seed=seed(**TREE), options=EmulatorOptions()) as emu,
        MarketoClient(
            emu.base_url, CLIENT_ID, CLIENT_SECRET, limits=Limits(), retry=FAST_RETRY
        ) as client,
    ):
        yield emu, client


def walk_calls(emu: Emulator) -> list[tuple[str, str]]:
    return [
        (e["endpoint"], e["path"].split("/")[5])
        for e in emu.journal()
        if e["endpoint"] in ("tokens_get", "folder")
    ]


def test_token_on_the_grandparent_folder_passes(tree: Any) -> None:
    emu, client = tree
    result = client.preflight(1234, ["{{my.Brand}}"])
    assert result.ok, result.reasons
    # smart campaign, program tokens, program record, Events tokens, Events record, Marketing tokens
    assert result.calls == 6
    assert walk_calls(emu) == [
        ("tokens_get", "1001"),
        ("folder", "1001.json"),
        ("tokens_get", "11"),
        ("folder", "11.json"),
        ("tokens_get", "10"),
    ]


def test_token_on_the_program_needs_no_walk(tree: Any) -> None:
    emu, client = tree
    # Title is on the program and on the top folder: the program's own token answers.
    result = client.preflight(1234, ["{{my.Title}}"])
    assert result.ok and result.calls == 2
    assert walk_calls(emu) == [("tokens_get", "1001")]


def test_walk_is_made_once_per_program(tree: Any) -> None:
    emu, client = tree
    assert client.preflight(1234, ["{{my.Brand}}"]).ok
    again = client.preflight(1235, ["{{my.Brand}}", "{{my.Title}}"])
    assert again.ok and again.calls == 1  # only the smart campaign; the walk is cached
    assert len(walk_calls(emu)) == 5
    other = client.preflight(1300, ["{{my.Brand}}"])  # another program walks on its own
    assert other.ok and other.calls == 6


def test_token_defined_nowhere_is_refused_with_what_is_available(tree: Any) -> None:
    _, client = tree
    result = client.preflight(1234, ["{{my.Title}}", "{{my.Nowhere}}"])
    assert not result.ok
    assert result.reasons == [
        "program 1001 (Webinars) has no My Token 'Nowhere' (sent as {{my.Nowhere}}), nor does "
        "folder 11 (Events), folder 10 (Marketing), folder 15 (Default), "
        "folder 14 (Marketing Activities) above it; available: Brand, Title"
    ]
