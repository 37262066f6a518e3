"""Limits: calls per window (606), concurrent calls (615), daily quota (607), what counts."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from emulator_testing import Api, error_code
from testing.clock import FakeClock

from mktsync.emulator import EmulatorOptions
from mktsync.emulator.limits import Limiter, cst_day

CAMPAIGN = "/rest/v1/campaigns/1234.json"


def test_the_101st_call_inside_the_default_window_gets_606(api: Api) -> None:
    codes = [error_code(api.get(CAMPAIGN)) for _ in range(101)]
    assert codes[:100] == [None] * 100
    assert codes[100] == "606"
    body = api.get(CAMPAIGN).json()
    assert body["errors"][0]["message"] == "Max rate limit '100' exceeded with in '20' secs"
    assert api.emu.stats()["rejected"]["rate"] == 2


def test_the_window_slides(make_api: Any) -> None:
    clock = FakeClock()
    api: Api = make_api(EmulatorOptions(calls=3, window_seconds=1.0), clock=clock)
    assert [error_code(api.get(CAMPAIGN)) for _ in range(4)] == [None, None, None, "606"]
    clock.advance(1.1)
    assert error_code(api.get(CAMPAIGN)) is None


def test_rejected_calls_count_unless_configured_otherwise() -> None:
    counting = Limiter(calls=2, window_seconds=60, concurrency=10, daily_quota=100)
    for _ in range(5):
        counting.admit()
        counting.release()
    assert counting.quota_used() == 5
    lenient = Limiter(
        calls=2, window_seconds=60, concurrency=10, daily_quota=100, count_rejected=False
    )
    codes = []
    for _ in range(5):
        codes.append(lenient.admit().code)
        lenient.release()
    assert codes == [None, None, "606", "606", "606"]
    assert lenient.quota_used() == 2


@pytest.mark.slow
def test_the_11th_concurrent_call_gets_615(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions(latency=(1.0, 1.0)))
    results: list[str | None] = []
    lock = threading.Lock()

    def call() -> None:
        with httpx.Client(base_url=api.emu.base_url, timeout=10) as http:
            code = error_code(http.get(CAMPAIGN, headers=api.auth))
        with lock:
            results.append(code)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while api.emu.stats()["in_flight"] < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.emu.stats()["in_flight"] == 10
    eleventh = api.get(CAMPAIGN).json()
    for thread in threads:
        thread.join()
    assert eleventh["errors"][0] == {
        "code": "615",
        "message": "Concurrent access limit '10' reached",
    }
    assert results == [None] * 10
    assert api.emu.stats()["rejected"]["concurrency"] == 1
    assert error_code(api.get(CAMPAIGN)) is None  # slots are released when calls return


def test_the_call_after_the_quota_gets_607(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions(daily_quota=5))
    assert [error_code(api.get(CAMPAIGN)) for _ in range(6)] == [None] * 5 + ["607"]
    assert error_code(api.trigger(1234, [318592])) == "607"
    assert api.emu.triggers() == []
    stats = api.emu.stats()
    assert stats["rejected"]["quota"] == 2 and stats["quota_used"] == 7


def test_uncounted_codes_are_refunded(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions(calls=2))
    assert error_code(api.trigger(1237, [318592], {"{{my.T}}": "x"})) == "611"
    assert error_code(api.http.get(CAMPAIGN)) == "601"
    assert [error_code(api.get(CAMPAIGN)) for _ in range(3)] == [None, None, "606"]


def test_quota_day_turns_at_midnight_cst() -> None:
    # 2026-01-02 05:59:59 UTC is 23:59:59 CST on Jan 1; one second later a new day starts.
    before = 1767333599.0
    assert cst_day(before) + 1 == cst_day(before + 1)
    wall = [before]
    limiter = Limiter(
        calls=100, window_seconds=20, concurrency=10, daily_quota=1, wall=lambda: wall[0]
    )
    assert limiter.admit().code is None
    limiter.release()
    assert limiter.admit().code == "607"
    wall[0] = before + 1
    assert limiter.admit().code is None
