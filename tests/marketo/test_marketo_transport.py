"""Faults the emulator cannot produce, through ``httpx.MockTransport``; one real closed port."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from mktsync.config.model import Limits
from mktsync.errors import AuthError
from mktsync.marketo import (
    ConnectFailed,
    MarketoClient,
    OutcomeUnknown,
    RetryPolicy,
    TokenRejected,
    Transient,
)

SECRET = "s3cr3t-never-shown"
FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
OK_TRIGGER = {"requestId": "t#1", "success": True, "result": [{"id": 1234}]}
NO_LEADS = {"requestId": "l#1", "success": True, "result": []}


class FakeMarketo:
    """Answers identity with a token and hands API calls to ``api``; records every request."""

    def __init__(self, api: Callable[[httpx.Request], httpx.Response], ttl: int = 3599) -> None:
        self.api = api
        self.ttl = ttl
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.identity_fault: Exception | None = None
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization) as sent

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/identity/oauth/token":
            if self.identity_fault is not None:
                fault, self.identity_fault = self.identity_fault, None
                raise fault
            form = parse_qs(request.content.decode())
            if form.get("client_secret") != [SECRET]:
                return httpx.Response(
                    401,
                    json={"error": "invalid_client", "error_description": "Bad client credentials"},
                )
            self.tokens += 1
            body = {
                "access_token": f"tok-{self.tokens}:ab",
                "token_type": "bearer",
                "expires_in": self.ttl,
            }
            return httpx.Response(200, json=body)
        return self.api(request)

    def api_requests(self, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.path]


def client_for(fake: FakeMarketo, *, secret: str = SECRET, **kwargs: object) -> MarketoClient:
    return MarketoClient(
        "https://123-ABC-456.mktorest.com/rest/",
        "client-id",
        secret,
        limits=Limits(),
        transport=httpx.MockTransport(fake),
        retry=FAST,
        sleep=lambda _: None,
        **kwargs,  # type: ignore[arg-type]
    )


def fail_once(exc: Exception, then: dict[str, object]) -> Callable[[httpx.Request], httpx.Response]:
    state = {"failed": False}

    def api(request: httpx.Request) -> httpx.Response:
        if not state["failed"]:
            state["failed"] = True
            raise exc
        return httpx.Response(200, json=then)

    return api


@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_lost_answer_on_trigger_is_unknown_and_not_resent(
    exc_type: type[httpx.TransportError],
) -> None:
    fake = FakeMarketo(fail_once(exc_type("lost"), OK_TRIGGER))
    with client_for(fake) as client, pytest.raises(OutcomeUnknown) as info:
        client.trigger_campaign(1234, [1, 2])
    assert len(fake.api_requests("/trigger.json")) == 1
    assert info.value.code == "unknown" and exc_type.__name__ in info.value.message


def test_lost_answer_on_lead_create_is_unknown() -> None:
    fake = FakeMarketo(fail_once(httpx.ReadTimeout("lost"), NO_LEADS))
    with client_for(fake) as client, pytest.raises(OutcomeUnknown):
        client.create_leads([{"email": "a@example.com"}])
    assert len(fake.api_requests("/leads.json")) == 1


def test_lost_answer_on_a_read_is_retried() -> None:
    fake = FakeMarketo(fail_once(httpx.ReadTimeout("lost"), NO_LEADS))
    with client_for(fake) as client:
        assert client.find_leads_by_id([1]) == set()
        assert client.stats.retries == {"read": 1}
    assert len(fake.api_requests("/leads.json")) == 2


def test_lost_identity_answer_does_not_make_a_trigger_unknown() -> None:
    fake = FakeMarketo(lambda r: httpx.Response(200, json=OK_TRIGGER))
    fake.identity_fault = httpx.ReadTimeout("identity lost")
    with client_for(fake) as client:
        result = client.trigger_campaign(1234, [1])
    assert result.request_id == "t#1"
    assert len(fake.api_requests("/trigger.json")) == 1  # sent once, after the token came


def test_unknown_outcome_after_retries_gives_up_with_last_error() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("always")

    fake = FakeMarketo(api)
    with client_for(fake) as client, pytest.raises(Transient):
        client.find_leads_by_id([1])
    assert len(fake.api_requests("/leads.json")) == FAST.max_attempts


def test_refused_connection_is_retried_then_raised() -> None:
    # A real socket: bind a port, close it, and nothing listens there any more.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with MarketoClient(
        f"http://127.0.0.1:{port}", "id", SECRET, limits=Limits(), retry=FAST, sleep=lambda _: None
    ) as client:
        with pytest.raises(ConnectFailed) as info:
            client.trigger_campaign(1234, [1])
        assert client.stats.retries == {"connect": FAST.max_attempts - 1}
    assert SECRET not in str(info.value)


def test_token_goes_in_the_header_and_secret_in_the_form_body() -> None:
    fake = FakeMarketo(lambda r: httpx.Response(200, json=OK_TRIGGER))
    with client_for(fake) as client:
        client.trigger_campaign(1234, [1], [("{{my.Title}}", "Hello")])
    identity, trigger = fake.requests
    assert identity.method == "POST" and SECRET not in str(identity.url)
    assert parse_qs(identity.content.decode())["client_secret"] == [SECRET]
    assert trigger.headers["Authorization"] == "Bearer tok-1:ab"
    assert "access_token" not in str(trigger.url)
    assert json.loads(trigger.content) == {
        "input": {"leads": [{"id": 1}], "tokens": [{"name": "{{my.Title}}", "value": "Hello"}]}
    }
    assert (
        str(trigger.url) == "https://123-abc-456.mktorest.com/rest/v1/campaigns/1234/trigger.json"
    )


def test_bad_credentials_raise_auth_error_once() -> None:
    fake = FakeMarketo(lambda r: httpx.Response(200, json=OK_TRIGGER))
    with client_for(fake, secret="wrong") as client, pytest.raises(AuthError) as info:
        client.trigger_campaign(1234, [1])
    assert "bad client id or secret" in str(info.value)
    assert len(fake.requests) == 1  # not retried, trigger never sent


def test_token_is_renewed_ahead_of_expiry_but_only_once_when_identity_repeats_it() -> None:
    now = [0.0]
    fake = FakeMarketo(lambda r: httpx.Response(200, json=NO_LEADS), ttl=100)
    with client_for(fake, clock=lambda: now[0]) as client:
        client.find_leads_by_id([1])
        now[0] = 30.0  # 70 s left: still used
        client.find_leads_by_id([1])
        assert fake.tokens == 1
        now[0] = 50.0  # 50 s left (< 60): renewed ahead of time
        client.find_leads_by_id([1])
        assert fake.tokens == 2
        assert client.stats.token_renewals == 2


def test_http_5xx_page_then_success_is_retried_even_for_trigger() -> None:
    pages = [httpx.Response(502, text="<html>Bad Gateway</html>")]

    def api(request: httpx.Request) -> httpx.Response:
        return pages.pop() if pages else httpx.Response(200, json=OK_TRIGGER)

    fake = FakeMarketo(api)
    with client_for(fake) as client:
        assert client.trigger_campaign(1234, [1]).request_id == "t#1"
        assert client.stats.retries == {"502": 1}
        assert client.stats.calls == {"trigger": 2}


def test_token_refused_after_renewal_is_raised_not_looped() -> None:
    refusal = {"requestId": "x#1", "success": False, "errors": [{"code": "601", "message": "no"}]}
    fake = FakeMarketo(lambda r: httpx.Response(200, json=refusal))
    with client_for(fake) as client, pytest.raises(TokenRejected):
        client.find_leads_by_id([1])
    assert [r.url.path for r in fake.requests] == [
        "/identity/oauth/token",
        "/rest/v1/leads.json",
        "/identity/oauth/token",
        "/rest/v1/leads.json",
    ]
    assert [auth for path, auth in fake.seen if path == "/rest/v1/leads.json"] == [
        "Bearer tok-1:ab",
        "Bearer tok-2:ab",
    ]
