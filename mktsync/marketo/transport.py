"""One Marketo API call, sent under the limits and retried when that is safe.

``Caller.call`` is what every ``MarketoClient`` method goes through: it takes a limiter
slot, sends the request (the auth flow adds the token), turns Marketo's envelope into a
dict or a typed exception, and retries ``Retryable`` failures with backoff.

The rule for transport failures (why, not what): a failure while *connecting* means
nothing reached Marketo, so it is always safe to resend.  A failure after the request
left (read timeout, connection reset, half a response) may hide a request Marketo
carried out: it is retried only for reads, and raises ``OutcomeUnknown`` otherwise.
Reads are also retried on 611 (``codes.IDEMPOTENT_RETRY_CODES``), with the same backoff.
Every backoff is told to the limiter first (``CallLimiter.backoff``): a shared limiter
makes every process on the instance wait out a 606 (``shared_limits``).
Marketo's 500/502 *inside its JSON envelope* is retried on reads too; answering a trigger
or a create it raises ``OutcomeUnknown`` (issue 14).  An HTML 5xx page is still retried
on every call (docs/emulator.md, judgement call on HTML 502s).

A call that changes Marketo may bring a ``Sending`` (apply's ledger marks): ``leaving`` is
called once the call holds its limiter slot and is about to go out -- never while it
waits -- and ``refused`` when Marketo did nothing with it (a ``Retryable`` answer, or it
never left), before any backoff.  With a ``stop``, every wait (the limiter, a backoff,
another thread's token renewal) ends in ``NotSent`` as soon as the stop is set, so a
cancelled run sends nothing more and leaves ``pending`` only what is on the wire.  A
``deadline`` (a read's time budget) ends the limiter's wait and the backoff the same way,
in ``DeadlineReached``, when they would last past it; a call already on the wire finishes.
With a ``budget`` (the calls a run may make today, issue 24), an attempt takes one as it
leaves; once it is spent the call raises ``ReserveReached`` (a ``NotSent``) before it is marked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from mktsync.marketo.auth import MarketoAuth, SendState
from mktsync.marketo.codes import (
    IDEMPOTENT_RETRY_CODES,
    ConnectFailed,
    DeadlineReached,
    NotSent,
    OutcomeUnknown,
    RequestFailed,
    Retryable,
    Transient,
    first_error,
)
from mktsync.marketo.limits import CallLimiter
from mktsync.marketo.retry import RetryPolicy
from mktsync.marketo.stats import ClientStats
from mktsync.marketo.stop import Deadline, Stop
from mktsync.marketo.usage import CallBudget

# Marketo stops lead endpoints after 30 s and Sync Leads after 90 s (marketo-api.md 7, 5);
# waiting a little longer lets its own 604 reach us instead of our timeout.
CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(35.0, connect=CONNECT_TIMEOUT, pool=30.0)
SYNC_TIMEOUT = httpx.Timeout(95.0, connect=CONNECT_TIMEOUT, pool=30.0)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Sending(Protocol):
    """What the sender of a call that changes Marketo does around it (apply's ledger marks).

    ``leaving``: the call holds its slot and goes out next (may raise ``NotSent`` to keep
    it home).  ``refused``: Marketo did nothing with it, or it never left; undo ``leaving``.
    """

    def leaving(self) -> None: ...
    def refused(self) -> None: ...


class Caller:
    """Sends API calls for one client; shared by its worker threads.

    ``auth`` is renewed before a call takes its slot (``MarketoAuth.prepare``); ``stop``
    ends every wait (see the module docstring); ``sleep`` replaces the backoff's wait in
    tests, and is then not stopped.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        limiter: CallLimiter,
        retry: RetryPolicy,
        stats: ClientStats,
        send_state: SendState,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        auth: MarketoAuth | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.budget: CallBudget | None = None  # the calls this run may still make today
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._stats = stats
        self._state = send_state
        self._clock = clock
        self._sleep = sleep
        self._auth = auth
        self._stop = stop
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
        sending: Sending | None = None,
        deadline: Deadline | None = None,
    ) -> dict[str, Any]:
        """Send one call until it succeeds or may not be retried; return the envelope.

        With ``deadline``, no wait (for the limiter, before a retry) lasts past it.
        """
        started = self._clock()
        retries = 0
        while True:
            try:
                return self._once(
                    endpoint, method, path, params, json_body, form, idempotent, timeout,
                    sending, deadline,
                )  # fmt: skip
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
                if deadline is not None and delay > deadline.remaining():
                    raise DeadlineReached(
                        f"the retry after {exc.code} would come after the deadline"
                    ) from None
                self._stats.retry(exc.code)
                # A shared limiter tells every process on the instance to wait too (606).
                self._limiter.backoff(exc.code, delay)
                self._pause(delay, exc.code)

    def _pause(self, seconds: float, after: str) -> None:
        """The backoff before a retry; a stop ends it, and the call, with ``NotSent``."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif self._stop is not None:
            self._stop.wait(seconds)
        else:
            time.sleep(seconds)
        self._check_stop(f"stopped while backing off after {after}")

    def _check_stop(self, why: str) -> None:
        if self._stop is not None and self._stop.is_set():
            raise NotSent(why)

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
        sending: Sending | None,
        deadline: Deadline | None = None,
    ) -> dict[str, Any]:
        self._check_stop("stopped before the call was sent")
        self._prepare_token()
        with self._limiter.slot(self._stop, deadline):
            if self.budget is not None:
                self.budget.take()  # ReserveReached: kept home, nothing marked
            if sending is not None:
                sending.leaving()
            self._stats.call(endpoint)
            self._state.api_request_sent = False
            try:
                response = self._http.request(
                    method, path, params=params, json=json_body, data=form, timeout=timeout
                )
            except NotSent:  # the auth flow's: not resent after Marketo refused the token
                _refused(sending)
                raise
            except _NOT_SENT as exc:
                _refused(sending)
                raise ConnectFailed("connect", _failure(endpoint, exc)) from None
            except httpx.TransportError as exc:
                if idempotent or not self._state.api_request_sent:
                    _refused(sending)  # a read, or only the identity call was lost
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
                _refused(sending)
                raise
            raise OutcomeUnknown(
                f"{endpoint}: Marketo answered error {exc.code} ({exc.message}); "
                "it may have carried the request out"
            ) from None
        except Retryable:  # 606, 615: Marketo did nothing with it
            _refused(sending)
            raise

    def _prepare_token(self) -> None:
        """Renew the access token before the call takes its slot, if it is due."""
        if self._auth is None:
            return
        try:
            self._auth.prepare(lambda request: self._http.send(request, auth=None))
        except _NOT_SENT as exc:
            raise ConnectFailed("connect", _failure("identity", exc)) from None
        except httpx.TransportError as exc:
            raise Transient("read", _failure("identity", exc)) from None


def _refused(sending: Sending | None) -> None:
    if sending is not None:
        sending.refused()


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
