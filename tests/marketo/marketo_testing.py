"""Shared pieces of the Marketo client tests: the seed, credentials, a recording transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from testing import seed as seeds
from testing.seed import campaign, lead, program, token

from mktsync.emulator import Emulator
from mktsync.marketo import MarketoClient, RetryPolicy

CLIENT_ID = "client-under-test"
CLIENT_SECRET = "sEcReT-3f9a1c-never-print"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0)


def seed(**sections: Any) -> dict[str, Any]:
    """Campaign 1234 to trigger, three that refuse a trigger, leads 1-10; ``sections``
    replace the seed's own."""
    webinars = program(1001, "Webinars", token("WebinarTitle", ""), token("JoinLink", ""))
    in_webinars = {"program_id": 1001}
    instance = seeds.seed(
        client=(CLIENT_ID, CLIENT_SECRET),
        programs=[webinars],
        campaigns=[
            campaign(
                1234, "Reminder", type="trigger", active=True, requestable=True, **in_webinars
            ),
            campaign(2000, "Monthly", type="batch", active=False, requestable=False, **in_webinars),
            campaign(
                3000, "Paused", type="trigger", active=False, requestable=False, **in_webinars
            ),
            campaign(
                4000,
                "No API trigger",
                type="trigger",
                active=True,
                requestable=False,
                **in_webinars,
            ),
        ],
        leads=[lead(i, f"lead{i}@example.com") for i in range(1, 11)],
    )
    return instance | sections


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
