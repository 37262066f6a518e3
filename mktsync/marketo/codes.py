"""Marketo's error codes, what each means for a caller, and the exception raised for it.

Marketo answers almost every failure with HTTP 200 and ``{"success": false, "errors":
[{"code": "606", ...}]}``; the code is a *string*.  ``error_for`` turns one such entry
into a typed exception; its class says what a caller may do::

    MarketoError (mktsync.errors)
    ├── AuthError        identity said 401: bad client id or secret
    ├── QuotaExceeded    607: stop the run; the next run resumes
    ├── Retryable        safe to send again after a pause (the request was not carried out)
    │   ├── Throttled        606, 615
    │   ├── Transient        604, 608, 713, 500/502 (envelope or HTML page)
    │   └── ConnectFailed    no connection: the request never left
    ├── TokenRejected    601/602 still answered after the token was renewed
    ├── OutcomeUnknown   the request left but no answer came; it may have been carried out
    ├── NotFound         1013, 702, 610: the object or resource does not exist
    └── RequestFailed    anything else (611, 1003, 603, 609 ...): not retried, except
                         611 on a call that only reads (IDEMPOTENT_RETRY_CODES)

    NotSent (an MktsyncError, not a MarketoError: Marketo answered nothing)
                         a stop came while the call waited (limiter, backoff, token):
                         it never left, or Marketo refused every attempt that did
    ├── DeadlineReached  the call would have waited past its deadline (a read's time
    │                    budget): it never left
    └── LimiterLost      the shared limiter's store went away: no call starts any more
    LimiterUnavailable (an MktsyncError) the shared limiter's store cannot be reached or
                         set up: nothing was sent

>>> isinstance(error_for("606", "Max rate limit '100' exceeded with in '20' secs", "a#1"), Retryable)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mktsync.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    AuthError,
    MarketoError,
    MktsyncError,
    QuotaExceeded,
)

__all__ = [
    "IDEMPOTENT_RETRY_CODES",
    "AuthError",
    "ConnectFailed",
    "DeadlineReached",
    "LimiterLost",
    "LimiterUnavailable",
    "NotFound",
    "NotSent",
    "OutcomeUnknown",
    "QuotaExceeded",
    "RequestFailed",
    "Retryable",
    "Throttled",
    "TokenRejected",
    "Transient",
    "error_for",
    "first_error",
]

TOKEN_CODES = frozenset({"601", "602"})
THROTTLE_CODES = frozenset({"606", "615"})
# 611 is deliberately absent: it is Marketo's catch-all for unhandled exceptions (and the
# answer to a nested-program trigger with tokens), so resending rarely helps; marketo-rest-
# python dropped it from its retry list for that reason (marketo-api.md section 7).
# "500"/"502" also arrive as codes inside a JSON envelope (Marketo's error-code table lists
# both); like the HTML 5xx pages they are passing faults of Marketo's side.
TRANSIENT_CODES = frozenset({"500", "502", "604", "608", "713"})
# Retried only on calls that merely read (lookups, preflight, describe, tokens, activities):
# 611 is Marketo's catch-all, and one passing 611 must not end a whole run. A 6xx means
# the request was not carried out, but 611 on a trigger is also the nested-program quirk,
# which no retry fixes, so trigger, schedule and create keep treating it as a failure.
IDEMPOTENT_RETRY_CODES = frozenset({"611"})
NOT_FOUND_CODES = frozenset({"610", "702", "710", "1013"})


class Retryable(MarketoError):
    """The request was not carried out and may be sent again after a pause."""


class Throttled(Retryable):
    """606 (calls per window) or 615 (concurrent calls): another client shares the limits."""


class Transient(Retryable):
    """A passing fault on Marketo's side: 604, 608, 713, 500/502 in an envelope, an HTML 5xx page."""


class ConnectFailed(Retryable):
    """No connection could be made (connect error or timeout, pool timeout): nothing was sent."""


class TokenRejected(MarketoError):
    """Marketo still refused the access token (601/602) after it was renewed."""


class OutcomeUnknown(MarketoError):
    """The request was sent but no answer came back; Marketo may or may not have carried it out.

    Raised only for calls that are not safe to resend (trigger, lead create); the runner
    marks the items *unknown* instead of resending them.  ``code`` is ``"unknown"`` and
    ``message`` names the transport failure.
    """

    def __init__(self, message: str) -> None:
        super().__init__("unknown", message, None)


class NotSent(MktsyncError):
    """A stop was requested while the call waited for its turn (the rate window or a free
    slot, a backoff, another thread's token renewal): nothing of it was carried out.

    Either no attempt left, or Marketo refused every attempt that did with an answer that
    says it did nothing (``Retryable``).  The caller reports the call *not attempted*.
    """

    exit_code = EXIT_INTERRUPTED


class DeadlineReached(NotSent):
    """The call would have had to wait past its ``Deadline`` (for a rate slot, a free
    concurrency place or a backoff), so it was not sent: a read's time budget is spent.

    Only reads carry a deadline (``activities.read_activities``); they catch it and say
    the budget was spent, so it never reaches a run's verdict (were it to escape, it is
    an error, not an interruption).
    """

    exit_code = EXIT_ERROR


class LimiterLost(NotSent):
    """The shared limiter can no longer reach the store its slots are kept in
    (``shared_limits``): this call did not leave, and no call starts after it.

    A private limiter instead would send past what the other processes on the instance
    are promised, so the run stops (exit 1) and the next run sends the rest.
    """

    exit_code = EXIT_ERROR


class LimiterUnavailable(MktsyncError):
    """The shared limiter's store (PostgreSQL, or the file on this machine) cannot be
    reached or set up: raised before anything is sent, or as ``LimiterLost``'s cause."""


class NotFound(MarketoError):
    """The object asked for does not exist (1013, 702) or the URL is wrong (610)."""


class RequestFailed(MarketoError):
    """Marketo refused the request for a reason resending will not fix."""


def error_for(code: str, message: str, request_id: str | None = None) -> MarketoError:
    """The typed exception for one Marketo error code (a string; ints are tolerated)."""
    code = str(code)
    cls: type[MarketoError]
    if code == "607":
        cls = QuotaExceeded
    elif code in THROTTLE_CODES:
        cls = Throttled
    elif code in TRANSIENT_CODES:
        cls = Transient
    elif code in TOKEN_CODES:
        cls = TokenRejected
    elif code in NOT_FOUND_CODES:
        cls = NotFound
    else:
        cls = RequestFailed
    return cls(code, message, request_id)


def first_error(body: Mapping[str, Any]) -> MarketoError:
    """The exception for a ``success: false`` envelope.

    When Marketo lists several errors the most telling one wins: quota first (stop the
    run), then token, throttle and transient codes (retry), then the first listed.
    """
    request_id = body.get("requestId")
    errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
    if not errors:
        return RequestFailed(
            "unknown", "Marketo answered success: false without errors", request_id
        )
    codes = [str(e.get("code", "")) for e in errors]
    for wanted in ({"607"}, TOKEN_CODES, THROTTLE_CODES, TRANSIENT_CODES):
        for code, entry in zip(codes, errors, strict=True):
            if code in wanted:
                return error_for(code, str(entry.get("message", "")), request_id)
    return error_for(codes[0], str(errors[0].get("message", "")), request_id)
