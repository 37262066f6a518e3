"""Marketo access tokens as an ``httpx.Auth`` flow: fetched, cached, renewed, resent.

>>> auth = MarketoAuth("https://123-ABC-456.mktorest.com/identity/oauth/token", "id", "secret")
>>> auth
MarketoAuth(identity_url='https://123-ABC-456.mktorest.com/identity/oauth/token', token=None)

``httpx.Client(auth=auth)`` then adds ``Authorization: Bearer <token>`` to every request.
The token travels only in that header (never the query string, which Marketo deprecated
and which httpx logs), and the client secret only in the identity call's form body.

The client renews a token due for renewal with ``prepare`` *before* a call takes its
limiter slot, so a call marked as leaving is not then held up by an identity call; with a
``stop``, waiting for another thread's renewal, and resending after a 601/602, end in
``NotSent`` once the stop is set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from mktsync.errors import AuthError
from mktsync.marketo.codes import TOKEN_CODES, NotSent, RequestFailed, Transient
from mktsync.marketo.stats import ClientStats
from mktsync.marketo.stop import Stop

_STOP_POLL = 0.05  # s between looks at the stop while another thread renews the token

BAD_CREDENTIALS = "bad client id or secret"
IDENTITY_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=30.0)


class SendState(threading.local):
    """Per thread: is the request on the wire now the API call itself (not identity)?

    The auth flow may send an identity request before the API call; a read timeout
    there says nothing about the API call, which had not left yet.
    """

    api_request_sent: bool = False


class MarketoAuth(httpx.Auth):
    """Client-credentials auth for one Marketo custom service (one client id).

    Before each request it uses the cached token while more than ``renew_margin``
    seconds of it are left, and otherwise asks identity for one.  When Marketo still
    answers 601 (invalid) or 602 (expired) in the body of an HTTP 200, it renews the
    token — even if the cache believed it fresh, as a revoked token looks fresh — and
    resends the same request once with the *new* token.  Threads share one cache and
    renew one at a time, so N workers hitting an expired token make one identity call.
    """

    requires_response_body = True  # 601/602 are in the JSON body, not the status

    def __init__(
        self,
        identity_url: str,
        client_id: str,
        client_secret: str,
        *,
        renew_margin: float = 60.0,
        stats: ClientStats | None = None,
        send_state: SendState | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop: Stop | None = None,
    ) -> None:
        self.identity_url = identity_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.renew_margin = renew_margin
        self.stats = stats or ClientStats()
        self.send_state = send_state or SendState()
        self._clock = clock
        self._stop = stop
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_after = 0.0

    def __repr__(self) -> str:
        held = "<cached>" if self._token else None
        return f"MarketoAuth(identity_url={self.identity_url!r}, token={held})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = yield from self._current_token(rejected=None)
        request.headers["Authorization"] = f"Bearer {token}"
        self.send_state.api_request_sent = True
        response = yield request
        if not is_token_error(response):
            return
        token = yield from self._current_token(rejected=token)
        if self._stop is not None and self._stop.is_set():
            # Marketo refused the first send (601/602: nothing done); the resend would be new.
            raise NotSent("stopped while the access token was renewed")
        request.headers["Authorization"] = f"Bearer {token}"
        self.send_state.api_request_sent = True
        yield request  # what Marketo answers now is the caller's to judge

    def prepare(self, send: Callable[[httpx.Request], httpx.Response]) -> None:
        """Fetch or renew the token now if the next request would have to.

        ``send`` sends the identity request (without this auth).  Called before a call
        takes its limiter slot: identity calls take none, and a call that has its slot is
        about to leave, not waiting for a token.
        """
        flow = self._current_token(rejected=None)
        try:
            request = next(flow)
            while True:
                request = flow.send(send(request))
        except StopIteration:
            return
        finally:
            flow.close()

    @contextmanager
    def _renewing(self) -> Iterator[None]:
        """Hold the renewal lock; waiting for another thread's renewal ends with a stop."""
        if self._stop is None:
            self._lock.acquire()
        else:
            while not self._lock.acquire(timeout=_STOP_POLL):
                if self._stop.is_set():
                    raise NotSent("stopped while waiting for the access token")
        try:
            yield
        finally:
            self._lock.release()

    def _current_token(
        self, *, rejected: str | None
    ) -> Generator[httpx.Request, httpx.Response, str]:
        with self._renewing():
            now = self._clock()
            if self._token is not None and self._token != rejected and now < self._renew_after:
                return self._token
            # Another thread may have renewed while we waited for the lock: then
            # ``self._token`` differs from the rejected one and is fresh, handled above.
            sent_at = self._clock()
            self.send_state.api_request_sent = False
            response = yield self._identity_request()
            self.stats.renewal()
            token, expires_in = _parse_identity(response)
            previous, self._token = self._token, token
            self._expires_at = sent_at + expires_in
            self._renew_after = self._expires_at - self.renew_margin
            if token == previous or self._renew_after <= sent_at:
                # Identity hands back the same token until it expires, so renewing early
                # is pointless once inside the margin: use it until it really expires.
                self._renew_after = self._expires_at
            return token

    def _identity_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.identity_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
            # A request built here gets no timeout from the client: without this it could
            # wait forever.
            extensions={"timeout": IDENTITY_TIMEOUT.as_dict()},
        )


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def is_token_error(response: httpx.Response) -> bool:
    """Whether Marketo refused the access token (601/602 inside a 200 envelope)."""
    if response.status_code != 200:
        return False
    body = _json(response)
    if not isinstance(body, dict) or body.get("success") is not False:
        return False
    errors = body.get("errors") or []
    return any(isinstance(e, dict) and str(e.get("code")) in TOKEN_CODES for e in errors)


def _parse_identity(response: httpx.Response) -> tuple[str, float]:
    status = response.status_code
    body = _json(response)
    if status == 401:
        raise AuthError("401", BAD_CREDENTIALS)
    if status >= 500 or (status == 200 and body is None):
        raise Transient(str(status), f"identity service answered HTTP {status}")
    if isinstance(body, dict) and isinstance(body.get("access_token"), str) and status == 200:
        try:
            expires_in = float(body.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0.0
        return body["access_token"], expires_in
    if isinstance(body, dict) and body.get("error") in ("unauthorized", "invalid_client"):
        raise AuthError(str(status), BAD_CREDENTIALS)
    # Only the OAuth error name goes into the message: descriptions are not ours to trust.
    kind = body.get("error") if isinstance(body, dict) else None
    raise RequestFailed(str(status), f"identity service refused the request ({kind or 'no token'})")
