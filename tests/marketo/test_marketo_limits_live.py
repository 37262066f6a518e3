"""The limiter against the emulator's own 606/615 enforcement, with many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from marketo_testing import CLIENT_ID, CLIENT_SECRET, seed

from mktsync.config.model import Limits
from mktsync.emulator import EmulatorOptions, serve
from mktsync.marketo import MarketoClient, RetryPolicy


@pytest.mark.slow
def test_many_threads_never_trip_the_rate_or_concurrency_limit() -> None:
    # Marketo's limits scaled down: 10 calls a second, 3 at once, with some latency so that
    # calls overlap.  No retries allowed: a single 606 or 615 would fail a call.
    options = EmulatorOptions(calls=10, window_seconds=1.0, concurrency=3, latency=(0.01, 0.03))
    limits = Limits(calls=10, window_seconds=1.0, concurrency=3)
    with (
        serve(seed=seed(), options=options) as emu,
        MarketoClient(
            emu.base_url,
            CLIENT_ID,
            CLIENT_SECRET,
            limits=limits,
            retry=RetryPolicy(max_attempts=1),
        ) as client,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        results = list(pool.map(lambda i: client.find_leads_by_id([i % 10 + 1]), range(25)))
        stats = emu.stats()
        journal = emu.journal()
        throttled = client.stats.throttled_waits
    assert len(results) == 25 and all(r for r in results)
    assert sum(stats["rejected"].values()) == 0
    assert not [e for e in journal if set(e["codes"]) & {"606", "615"}]
    assert throttled > 0  # the limiter really held calls back: 25 calls cannot fit one window


def test_safety_margin_keeps_a_share_free() -> None:
    # With half the window left to others, 10 calls must spread over two windows: the
    # emulator, set to 5 a window, never refuses one.
    options = EmulatorOptions(calls=5, window_seconds=0.5)
    limits = Limits(calls=10, window_seconds=0.5, safety_margin=0.5)
    with (
        serve(seed=seed(), options=options) as emu,
        MarketoClient(
            emu.base_url, CLIENT_ID, CLIENT_SECRET, limits=limits, retry=RetryPolicy(max_attempts=1)
        ) as client,
    ):
        for i in range(10):
            client.find_leads_by_id([i + 1])
        assert sum(emu.stats()["rejected"].values()) == 0
