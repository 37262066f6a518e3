"""Helpers for the emulator tests: the seed, a raw httpx client with a token, error codes."""

from __future__ import annotations

from typing import Any

import httpx
from testing.seed import campaign, lead, program, seed, token

from mktsync.emulator import Emulator

CLIENT = ("abc", "s3cret-value")
SEED = seed(
    client=CLIENT,
    programs=[
        program(1001, "Webinars", token("WebinarTitle", ""), token("Join Link", "https://x")),
        program(1002, "Nested", token("T"), nested=True),
    ],
    campaigns=[
        campaign(1234, "Webinar reminder", type="trigger", program_id=1001),
        campaign(1235, "Monthly batch", type="batch", program_id=1001),
        campaign(1236, "Switched off", type="trigger", active=False, program_id=1001),
        campaign(1237, "Nested trigger", type="trigger", program_id=1002),
        campaign(1238, "Not requestable", requestable=False, program_id=1001),
    ],
    leads=[
        lead(318592, "ada@example.com", firstName="Ada", lastName="Lovelace"),
        lead(318593, "alan@example.com", firstName="Alan"),
        lead(318594, "grace@example.com", company="Navy"),
    ],
)


def token_for(client: httpx.Client, emu: Emulator) -> str:
    params = {
        "grant_type": "client_credentials",
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
    }
    response = client.get("/identity/oauth/token", params=params)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


class Api:
    """A raw httpx client with a bearer token: ``api.get(path, params=...)``."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=emu.base_url, timeout=10)
        self.token = token_for(self.http, emu)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers={**self.auth, **kw.pop("headers", {})}, **kw)

    def trigger(
        self, campaign_id: int, lead_ids: list[int], tokens: dict[str, str] | None = None
    ) -> httpx.Response:
        """Request a campaign; ``tokens`` maps wire names (``{{my.X}}``) to values."""
        data: dict[str, Any] = {"leads": [{"id": i} for i in lead_ids]}
        if tokens:
            data["tokens"] = [{"name": k, "value": v} for k, v in tokens.items()]
        return self.post(f"/rest/v1/campaigns/{campaign_id}/trigger.json", json={"input": data})


def error_code(response: httpx.Response) -> str | None:
    body = response.json()
    if body["success"]:
        return None
    assert response.status_code == 200
    code = body["errors"][0]["code"]
    assert isinstance(code, str)
    return code
