"""Usage per API user (issue 24): own calls counted per client id, other users seedable by
seed file, ``--usage`` and ``POST /_emulator/usage``; today's seeded calls use the quota."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
from emulator_testing import SEED, Api, error_code

from mktsync.emulator import EmulatorOptions

USAGE = "/rest/v1/stats/usage.json"


def _users(api: Api) -> dict[str, int]:
    [day] = api.get(USAGE).json()["result"]
    return {u["userId"]: u["count"] for u in day["users"]}


def test_each_client_id_is_counted_as_its_own_api_user(make_api: Any) -> None:
    seed = {**SEED, "clients": [{"client_id": "abc", "client_secret": "s3cret-value"},
                                {"client_id": "crm", "client_secret": "crm-secret"}]}  # fmt: skip
    api: Api = make_api(EmulatorOptions(), seed=seed)
    token = api.http.get("/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": "crm", "client_secret": "crm-secret",
    }).json()["access_token"]  # fmt: skip
    for _ in range(3):
        api.http.get("/rest/v1/campaigns/1234.json", headers={"Authorization": f"Bearer {token}"})
    api.get("/rest/v1/campaigns/1234.json")
    # The token call is not counted (identity is not a REST call); the read counts itself.
    assert _users(api) == {"crm@emulator.example": 3, "abc@emulator.example": 2}


def test_calls_marketo_does_not_count_are_not_in_the_usage(make_api: Any) -> None:
    api: Api = make_api(EmulatorOptions())
    api.emu.script_fault("campaign", 1, "604")
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "604"
    assert _users(api) == {"abc@emulator.example": 1}


def test_seeded_usage_of_today_uses_up_the_daily_quota(make_api: Any) -> None:
    seed = {**SEED, "usage": [{"userId": "crm@example.com", "count": 9}]}
    api: Api = make_api(EmulatorOptions(daily_quota=10), seed=seed)
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "607"


def test_the_emulator_api_adds_usage_and_refuses_bad_entries(api: Api) -> None:
    inspect = httpx.Client(base_url=api.emu.base_url)
    added = inspect.post("/_emulator/usage", json=[{"userId": "bi@example.com", "count": 40}])
    assert added.status_code == 200 and added.json()[0]["total"] == 40
    assert _users(api)["bi@example.com"] == 40
    bad = inspect.post("/_emulator/usage", json=[{"userId": "x", "count": -1}])
    assert bad.status_code == 400 and "count" in bad.json()["error"]
    assert inspect.get("/_emulator/usage").json()[0]["total"] == 41  # 40 + the read above
    inspect.close()


def test_the_usage_option_of_the_command_seeds_other_users() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mktsync", "emulator", "--usage", "crm@example.com=46000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base = line.split()[3]
        day = httpx.get(base + "/_emulator/usage").json()[0]
        assert day["users"] == [{"userId": "crm@example.com", "count": 46000}]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()  # type: ignore[union-attr]
    bad = subprocess.run([sys.executable, "-m", "mktsync", "emulator", "--usage", "crm"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1 and "crm@example.com=46000" in bad.stderr
