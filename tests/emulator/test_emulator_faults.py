"""Faults: seeded random rates within statistical bounds, scripted one-shots, every kind."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from emulator_testing import SEED, Api, error_code

from mktsync.emulator import EmulatorOptions
from mktsync.emulator.faults import FAULT_KINDS, Faults, parse_spec

CAMPAIGN = "/rest/v1/campaigns/1234.json"
UNLIMITED = {"calls": 10**6, "daily_quota": 10**6}


def within_bounds(seen: int, n: int, rate: float) -> bool:
    """Within 4.5 standard deviations of the binomial mean: a false alarm is ~1 in 150,000."""
    spread = 4.5 * math.sqrt(n * rate * (1 - rate))
    return abs(seen - n * rate) <= spread


def test_random_rates_hold_within_statistical_bounds() -> None:
    faults = Faults(rates={"606": 0.1, "lost": 0.05, "502": 0.2}, seed=7)
    drawn = [faults.draw("trigger") for _ in range(4000)]
    for kind, rate in (("606", 0.1), ("lost", 0.05), ("502", 0.2)):
        assert within_bounds(drawn.count(kind), 4000, rate), (kind, drawn.count(kind))
    assert within_bounds(drawn.count(None), 4000, 0.65)
    assert faults.injected["606"] == drawn.count("606")


def test_same_seed_same_faults_and_identity_is_spared() -> None:
    one, two = Faults(rates={"615": 0.3}, seed=3), Faults(rates={"615": 0.3}, seed=3)
    assert [one.draw("leads_get") for _ in range(50)] == [two.draw("leads_get") for _ in range(50)]
    assert {one.draw("identity") for _ in range(50)} == {None}


def test_rates_over_http_within_bounds(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions(faults="606=0.25", random_seed=11, **UNLIMITED))
    codes = [error_code(api.get(CAMPAIGN)) for _ in range(300)]
    assert within_bounds(codes.count("606"), 300, 0.25)
    assert api.emu.stats()["faults"]["606"] == codes.count("606")


@pytest.mark.parametrize("kind", ["606", "615", "604", "608", "611", "713"])
def test_envelope_faults_are_not_applied(api: Api, kind: str) -> None:
    api.emu.script_fault("trigger", 1, kind)
    assert error_code(api.trigger(1234, [318592])) == kind
    assert api.emu.triggers() == []
    assert error_code(api.trigger(1234, [318592])) is None  # one-shot


@pytest.mark.parametrize(("kind", "status"), [("502", 502), ("html500", 500)])
def test_html_faults(api: Api, kind: str, status: int) -> None:
    api.emu.set_faults(f"trigger#1={kind}")
    response = api.trigger(1234, [318592])
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert b"<html>" in response.content
    assert api.emu.triggers() == []


def test_reset_breaks_the_connection_before_applying(api: Api) -> None:
    api.emu.script_fault("trigger", 1, "reset")
    with pytest.raises(httpx.TransportError):
        api.trigger(1234, [318592])
    assert api.emu.triggers() == []
    assert error_code(api.trigger(1234, [318592])) is None


def test_the_7th_trigger_is_applied_then_the_connection_drops(api: Api) -> None:
    api.emu.script_fault("trigger", 7, "lost")
    for lead in range(6):
        assert error_code(api.trigger(1234, [318592], {"{{my.WebinarTitle}}": str(lead)})) is None
    with pytest.raises(httpx.RemoteProtocolError):
        api.trigger(1234, [318592], {"{{my.WebinarTitle}}": "seventh"})
    assert error_code(api.trigger(1234, [318592])) is None
    triggers = api.emu.triggers()
    assert len(triggers) == 8
    assert triggers[6]["tokens"] == {"{{my.WebinarTitle}}": "seventh"}
    seventh = [e for e in api.emu.journal() if e["endpoint"] == "trigger"][6]
    assert seventh["fault"] == "lost" and seventh["action"] == "drop"


def test_script_counts_from_now_and_per_endpoint(api: Api) -> None:
    api.trigger(1234, [318592])
    api.emu.script_fault("trigger", 2, "608")
    assert error_code(api.get(CAMPAIGN)) is None
    assert error_code(api.trigger(1234, [318592])) is None
    assert error_code(api.trigger(1234, [318592])) == "608"


def test_identity_can_be_scripted(api: Api) -> None:
    api.emu.script_fault("identity", 1, "502")
    params = {"grant_type": "client_credentials", "client_id": "abc", "client_secret": "x"}
    assert api.http.get("/identity/oauth/token", params=params).status_code == 502


def test_faults_from_the_seed_file(make_api: Any) -> None:
    seed = {**SEED, "faults": {"rates": {"713": 1.0}, "script": [], "seed": 5}}
    api: Api = make_api(EmulatorOptions(), seed)
    assert error_code(api.get(CAMPAIGN)) == "713"
    api.emu.set_faults("")
    assert error_code(api.get(CAMPAIGN)) is None


def test_spec_parsing() -> None:
    rates, script = parse_spec("606=0.05, lost=0.01,trigger#7=lost")
    assert rates == {"606": 0.05, "lost": 0.01}
    assert [(s.endpoint, s.nth, s.fault) for s in script] == [("trigger", 7, "lost")]
    assert set(FAULT_KINDS) >= set(rates)
    for bad in ("999=0.1", "606=2", "606", "trigger#x=lost", "nowhere#1=lost", "606=0.7,615=0.7"):
        with pytest.raises(ValueError):
            parse_spec(bad)
