"""Shared pieces of the Marketo client tests: the seed, credentials, a recording transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mktsync.emulator import Emulator
from mktsync.marketo import MarketoClient, RetryPolicy

CLIENT_ID = "client-under-test"
CLIENT_SECRET = "sEcReT-3f9a1c-never-print"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)


def seed(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
        "programs": [
            {
                "id": 1001,
                "name": "Webinars",
                "tokens": [
                    {"name": "WebinarTitle", "type": "text", "value": ""},
                    {"name": "JoinLink", "type": "text", "value": ""},
                ],
            }
        ],
        "campaigns": [
            {
                "id": 1234,
                "name": "Reminder",
                "type": "trigger",
                "active": True,
                "requestable": True,
                "program_id": 1001,
            },
            {
                "id": 2000,
                "name": "Monthly",
                "type": "batch",
                "active": False,
                "requestable": False,
                "program_id": 1001,
            },
            {
                "id": 3000,
                "name": "Paused",
                "type": "trigger",
                "active": False,
                "requestable": False,
                "program_id": 1001,
            },
            {
                "id": 4000,
                "name": "No API trigger",
                "type": "trigger",
                "active": True,
                "requestable": False,
                "program_id": 1001,
            },
        ],
        "leads": [{"id": i, "email": f"lead{i}@example.com"} for i in range(1, 11)],
    }
    base.update(extra)
    return base


class RecordingTransport(httpx.HTTPTransport):
    """A real network transport that remembers the Authorization header of each API call."""

    def __init__(self) -> None:
        super().__init__()
        self.authorizations: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            self.authorizations.append((request.url.path, request.headers["authorization"]))
        return super().handle_request(request)


MakeClient = Callable[..., MarketoClient]


def api_entries(emu: Emulator, endpoint: str) -> list[dict[str, Any]]:
    return [e for e in emu.journal() if e.get("endpoint") == endpoint]
