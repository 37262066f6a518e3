"""Fixtures: a seeded emulator on 127.0.0.1:0 per test, and a raw httpx client for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_testing import SEED, Api
from testing.clock import FakeClock

from mktsync.emulator import Emulator, EmulatorOptions, serve


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with serve(seed=SEED, options=EmulatorOptions()) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.http.close()


@pytest.fixture
def make_api() -> Iterator[Any]:
    """``make_api(options=..., seed=..., clock=...)`` for tests that need their own limits
    (or a clock they move by hand)."""
    opened: list[tuple[Any, Api]] = []

    def make(
        options: EmulatorOptions, seed: dict[str, Any] | None = None, clock: FakeClock | None = None
    ) -> Api:
        timed = {"clock": clock} if clock is not None else {}
        ctx = serve(seed=SEED if seed is None else seed, options=options, **timed)
        client = Api(ctx.__enter__())
        opened.append((ctx, client))
        return client

    yield make
    for ctx, client in opened:
        client.http.close()
        ctx.__exit__(None, None, None)
