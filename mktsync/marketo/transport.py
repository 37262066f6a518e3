"""One Marketo API call, sent under the limits and retried when that is safe.

``Caller.call`` is what every ``MarketoClient`` method goes through: it takes a limiter
slot, sends the request (the auth flow adds the token), turns Marketo's envelope into a
dict or a typed exception, and retries ``Retryable`` failures with backoff.

The rule for transport failures (why, not what): a failure while *connecting* means
nothing reached Marketo, so it is always safe to resend.  A failure after the request
left (read timeout, connection reset, half a response) may hide a request Marketo
carried out: it is retried only for reads, and raises ``OutcomeUnknown`` otherwise.
Reads are also retried on 611 (``codes.IDEMPOTENT_RETRY_CODES``), with the same backoff.
Marketo's 500/502 *inside its JSON envelope* is retried on reads too; answering a trigger
or a create it raises ``OutcomeUnknown`` (issue 14).  An HTML 5xx page is still retried
on every call (docs/emulator.md, judgement call on HTML 502s).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from mktsync.marketo.auth import SendState
from mktsync.marketo.codes import (
    IDEMPOTENT_RETRY_CODES,
    ConnectFailed,
    OutcomeUnknown,
    RequestFailed,
    Retryable,
    Transient,
    first_error,
)
from mktsync.marketo.limits import Limiter
from mktsync.marketo.retry import RetryPolicy
from mktsync.marketo.stats import ClientStats

# Marketo stops lead endpoints after 30 s and Sync Leads after 90 s (marketo-api.md 7, 5);
# waiting a little longer lets its own 604 reach us instead of our timeout.
CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(35.0, connect=CONNECT_TIMEOUT, pool=30.0)
SYNC_TIMEOUT = httpx.Timeout(95.0, connect=CONNECT_TIMEOUT, pool=30.0)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Caller:
    """Sends API calls for one client; shared by its worker threads."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        limiter: Limiter,
        retry: RetryPolicy,
        stats: ClientStats,
        send_state: SendState,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._stats = stats
        self._state = send_state
        self._clock = clock
        self._sleep = sleep
        self._rng = retry.rng()
        self._rng_lock = threading.Lock()

    def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        idempotent: bool,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        """Send one call until it succeeds or may not be retried; return the envelope."""
        started = self._clock()
        retries = 0
        while True:
            try:
                return self._once(
                    endpoint, method, path, params, json_body, form, idempotent, timeout
                )
            except (Retryable, RequestFailed) as exc:
                if not isinstance(exc, Retryable) and not (
                    idempotent and exc.code in IDEMPOTENT_RETRY_CODES
                ):
                    raise
                retries += 1
                if retries >= self._retry.max_attempts:
                    raise
                with self._rng_lock:
                    delay = self._retry.delay(retries, self._rng)
                if self._clock() - started + delay > self._retry.max_time:
                    raise
                self._stats.retry(exc.code)
                self._sleep(delay)

    def _once(
        self,
        endpoint: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        idempotent: bool,
        timeout: httpx.Timeout,
    ) -> dict[str, Any]:
        with self._limiter.slot():
            self._stats.call(endpoint)
            self._state.api_request_sent = False
            try:
                response = self._http.request(
                    method, path, params=params, json=json_body, data=form, timeout=timeout
                )
            except _NOT_SENT as exc:
                raise ConnectFailed("connect", _failure(endpoint, exc)) from None
            except httpx.TransportError as exc:
                if idempotent or not self._state.api_request_sent:
                    raise Transient("read", _failure(endpoint, exc)) from None
                raise OutcomeUnknown(
                    f"{endpoint}: the request was sent but no answer came back "
                    f"({type(exc).__name__}); Marketo may have carried it out"
                ) from None
        try:
            return decode(response)
        except Transient as exc:
            # Marketo's own 500/502 inside its JSON envelope (a timeout behind its API
            # layer): reads are retried as Adobe advises, but a trigger or create may have
            # been carried out, so its outcome is unknown, never resent blindly.
            if idempotent or exc.code not in ENVELOPE_5XX or not _is_envelope(response):
                raise
            raise OutcomeUnknown(
                f"{endpoint}: Marketo answered error {exc.code} ({exc.message}); "
                "it may have carried the request out"
            ) from None


ENVELOPE_5XX = frozenset({"500", "502"})


def _is_envelope(response: httpx.Response) -> bool:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "success" in body


def _failure(endpoint: str, exc: Exception) -> str:
    # The class name only: httpx messages are safe today, but they are not ours to vouch for.
    return f"{endpoint}: {type(exc).__name__} talking to Marketo"


def decode(response: httpx.Response) -> dict[str, Any]:
    """Marketo's envelope as a dict, or the typed exception for its failure."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "success" in body:
        if body["success"] is True:
            return body
        raise first_error(body)
    if status >= 500:
        kind = "an HTML page" if body is None else "no Marketo envelope"
        raise Transient(str(status), f"Marketo answered HTTP {status} with {kind}")
    if status == 413:
        raise RequestFailed("413", "request body larger than Marketo accepts (1 MB)")
    if status == 414:
        raise RequestFailed("414", "request URL longer than Marketo accepts (8 KB)")
    raise RequestFailed(str(status), f"unexpected answer from Marketo: HTTP {status}")
