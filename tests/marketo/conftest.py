"""The emulator over a real socket, and a client wired to it, for the Marketo client tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from marketo_testing import CLIENT_ID, CLIENT_SECRET, FAST_RETRY, MakeClient, seed

from mktsync.config.model import Limits
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.marketo import MarketoClient


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    with serve(seed=seed(), options=EmulatorOptions()) as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator: Emulator) -> Emulator:
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """``make_client(emu, **overrides)``; every client made is closed after the test."""
    made: list[MarketoClient] = []

    def make(emulator: Emulator, **kwargs: Any) -> MarketoClient:
        kwargs.setdefault("limits", Limits())
        kwargs.setdefault("retry", FAST_RETRY)
        secret = kwargs.pop("client_secret", CLIENT_SECRET)
        client = MarketoClient(emulator.base_url, CLIENT_ID, secret, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
