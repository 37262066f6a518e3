"""Identity: client credentials, token reuse and lifetime, 401, expiry 602 -> 601, revocation."""

from __future__ import annotations

import re

import httpx
from emulator_testing import Api, error_code, token_for
from testing.clock import FakeClock

from mktsync.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorOptions, serve

TOKEN_FORMAT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:ab$")


def creds(emu: Emulator, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        **extra,
    }


def test_identity_get_issues_a_bearer_token(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.base_url) as http:
        response = http.get("/identity/oauth/token", params=creds(emu))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert TOKEN_FORMAT.match(body["access_token"])
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert response.headers["cache-control"] == "no-store"


def test_identity_post_with_query_or_form_returns_the_same_token(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.base_url) as http:
        first = http.post("/identity/oauth/token", params=creds(emu)).json()
        second = http.post("/identity/oauth/token", data=creds(emu)).json()
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] <= first["expires_in"]


def test_reissued_token_reports_its_remaining_lifetime() -> None:
    clock = FakeClock()
    with (
        serve(options=EmulatorOptions(token_ttl=3.0), clock=clock) as emu,
        httpx.Client(base_url=emu.base_url) as http,
    ):
        first = http.get("/identity/oauth/token", params=creds(emu)).json()
        clock.advance(1.1)
        again = http.get("/identity/oauth/token", params=creds(emu)).json()
    assert again["access_token"] == first["access_token"]
    assert first["expires_in"] == 2
    assert again["expires_in"] == 1


def test_bad_credentials_get_401_with_an_oauth_body(emu: Emulator) -> None:
    with httpx.Client(base_url=emu.base_url) as http:
        wrong_secret = http.get("/identity/oauth/token", params=creds(emu, client_secret="nope"))
        wrong_id = http.get("/identity/oauth/token", params=creds(emu, client_id="nobody"))
    assert (wrong_secret.status_code, wrong_id.status_code) == (401, 401)
    assert wrong_secret.json() == {
        "error": "invalid_client",
        "error_description": "Bad client credentials",
    }
    # marketorestpython issue #2: an unknown client id is told apart from a wrong secret.
    assert wrong_id.json() == {
        "error": "unauthorized",
        "error_description": "No client with requested id",
    }


def test_missing_grant_type_is_refused(emu: Emulator) -> None:
    params = creds(emu)
    del params["grant_type"]
    with httpx.Client(base_url=emu.base_url) as http:
        response = http.get("/identity/oauth/token", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_no_seed_means_the_documented_demo_client() -> None:
    with serve() as emu, httpx.Client(base_url=emu.base_url) as http:
        assert (emu.client_id, emu.client_secret) == (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        assert token_for(http, emu)
        assert DEMO_CLIENT_SECRET not in repr(emu)


def test_identity_calls_do_not_count(make_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = make_api(EmulatorOptions(calls=2, daily_quota=2))
    for _ in range(5):
        token_for(api.http, api.emu)
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None
    assert api.emu.stats()["calls"] == 1


def test_missing_header_and_garbage_tokens_get_601(api: Api) -> None:
    assert error_code(api.http.get("/rest/v1/campaigns/1234.json")) == "601"
    garbage = {"Authorization": "Bearer 00000000-0000-4000-8000-000000000000:ab"}
    assert error_code(api.http.get("/rest/v1/campaigns/1234.json", headers=garbage)) == "601"
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None


def test_query_token_is_refused_by_default_and_allowed_when_configured(make_api) -> None:  # type: ignore[no-untyped-def]
    strict: Api = make_api(EmulatorOptions())
    response = strict.http.get(
        "/rest/v1/campaigns/1234.json", params={"access_token": strict.token}
    )
    assert error_code(response) == "601"
    lenient: Api = make_api(EmulatorOptions(allow_query_token=True))
    response = lenient.http.get(
        "/rest/v1/campaigns/1234.json", params={"access_token": lenient.token}
    )
    assert error_code(response) is None


def test_expired_token_gets_602_once_then_601_and_renewal_gives_a_new_token(make_api) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    api: Api = make_api(EmulatorOptions(token_ttl=1.0), clock=clock)
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None
    clock.advance(1.1)
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "602"
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "601"
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "601"
    old = api.token
    api.token = token_for(api.http, api.emu)
    assert api.token != old
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None
    # Neither 602 nor 601 counted toward the limits.
    assert api.emu.stats()["calls"] == 2


def test_revoked_tokens_get_601_and_identity_issues_a_new_one(api: Api) -> None:
    assert api.emu.revoke_tokens() == 1
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) == "601"
    fresh = token_for(api.http, api.emu)
    assert fresh != api.token
    api.token = fresh
    assert error_code(api.get("/rest/v1/campaigns/1234.json")) is None
