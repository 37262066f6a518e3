"""A stop ends every wait of the client: a call waiting for its turn is never sent.

Against the emulator over a real socket; ``httpx.MockTransport`` only to hold an identity
call open, which the emulator cannot do.  The ``Sending`` hooks record when a call left
(``leaving``: apply marks its items pending then) and when Marketo refused it unsent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
from marketo_testing import MakeClient

from mktsync.config.model import Limits
from mktsync.emulator import Emulator
from mktsync.marketo import MarketoClient, NotSent, RetryPolicy, Stop
from mktsync.marketo.limits import Limiter

SLOW_RETRY = RetryPolicy(max_attempts=6, base_delay=60.0, max_delay=60.0, max_time=600.0)


class Hooks:
    def __init__(self) -> None:
        self.events: list[str] = []

    def leaving(self) -> None:
        self.events.append("leaving")

    def refused(self) -> None:
        self.events.append("refused")


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


def wait_until(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(1000):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("never happened")


def trigger_requests(emu: Emulator) -> list[dict[str, object]]:
    return [e for e in emu.journal() if e.get("endpoint") == "trigger"]


def test_a_call_waiting_for_the_rate_window_is_never_sent(
    emu: Emulator, make_client: MakeClient
) -> None:
    stop = Stop()
    client = make_client(emu, limits=Limits(calls=1, window_seconds=600), stop=stop)
    first = Hooks()
    client.trigger_campaign(1234, [1], sending=first)
    assert first.events == ["leaving"]
    second = Hooks()
    thread, raised = in_thread(lambda: client.trigger_campaign(1234, [2], sending=second))
    thread.join(0.3)
    assert thread.is_alive()  # waiting for the window, 600 s away
    stop.set()
    thread.join(30)  # the window has 600 s to go
    assert not thread.is_alive()
    assert [type(e) for e in raised] == [NotSent]
    assert second.events == []  # never marked as leaving: its items stay new
    assert len(trigger_requests(emu)) == 1
    assert client.limiter.used() == 1  # the stopped call took no slot


def test_a_call_backing_off_after_606_is_not_sent_again(
    emu: Emulator, make_client: MakeClient
) -> None:
    stop = Stop()
    client = make_client(emu, retry=SLOW_RETRY, stop=stop)
    emu.script_fault("trigger", 1, "606")
    hooks = Hooks()
    thread, raised = in_thread(lambda: client.trigger_campaign(1234, [1], sending=hooks))
    wait_until(lambda: hooks.events == ["leaving", "refused"])  # now backing off 30-60 s
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    assert [type(e) for e in raised] == [NotSent]
    assert "after 606" in str(raised[0])
    assert [e["codes"] for e in trigger_requests(emu)] == [["606"]]  # sent once, refused


def test_a_stop_ends_the_wait_for_a_free_concurrency_place() -> None:
    stop = Stop()
    limiter = Limiter(Limits(calls=100, concurrency=1))
    with limiter.slot(stop):
        thread, raised = in_thread(lambda: limiter.slot(stop).__enter__())
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [type(e) for e in raised] == [NotSent]
    assert limiter.used() == 1


class HeldIdentity:
    """Identity answers only when released; the API answers ``api``'s bodies in turn."""

    def __init__(self, api: list[dict[str, object]], on_identity: Callable[[], None]) -> None:
        self.api = api
        self.on_identity = on_identity
        self.api_calls = 0
        self.identity_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/identity/oauth/token":
            assert parse_qs(request.content.decode())["grant_type"] == ["client_credentials"]
            self.identity_calls += 1
            self.on_identity()
            token = f"tok-{self.identity_calls}"
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        self.api_calls += 1
        return httpx.Response(200, json=self.api.pop(0))


def mock_client(handler: HeldIdentity, stop: Stop) -> MarketoClient:
    return MarketoClient(
        "https://123-ABC-456.mktorest.com",
        "id",
        "secret",
        limits=Limits(),
        transport=httpx.MockTransport(handler),
        retry=SLOW_RETRY,
        stop=stop,
    )


def test_calls_waiting_for_another_threads_token_renewal_are_not_sent() -> None:
    stop = Stop()
    release = threading.Event()
    fetching = threading.Event()

    def slow_identity() -> None:
        fetching.set()
        release.wait(30)

    ok = {"requestId": "t#1", "success": True, "result": [{"id": 1234}]}
    handler = HeldIdentity([ok, ok], slow_identity)
    with mock_client(handler, stop) as client:
        hooks = [Hooks(), Hooks()]
        first, raised_first = in_thread(lambda: client.trigger_campaign(1, [1], sending=hooks[0]))
        fetching.wait(30)
        second, raised_second = in_thread(lambda: client.trigger_campaign(1, [2], sending=hooks[1]))
        second.join(0.3)
        assert second.is_alive()  # waiting for the first thread's renewal
        stop.set()
        second.join(30)
        assert not second.is_alive()
        release.set()
        first.join(30)
    assert [type(e) for e in raised_first + raised_second] == [NotSent, NotSent]
    assert hooks[0].events == hooks[1].events == []  # the token came first: nothing left
    assert handler.api_calls == 0


def test_a_call_refused_for_its_token_is_not_resent_once_stopped() -> None:
    stop = Stop()
    expired = {"requestId": "t#1", "success": False, "errors": [{"code": "602", "message": "x"}]}
    renewals = []

    def identity() -> None:
        renewals.append(1)
        if len(renewals) == 2:  # the renewal after the 602: the signal comes now
            stop.set()

    handler = HeldIdentity([expired], identity)
    hooks = Hooks()
    with mock_client(handler, stop) as client, pytest.raises(NotSent):
        client.trigger_campaign(1, [1], sending=hooks)
    assert handler.api_calls == 1
    assert hooks.events == ["leaving", "refused"]  # Marketo did nothing: put back
