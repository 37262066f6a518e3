"""Error codes -> typed exceptions; envelopes and non-JSON pages -> the right class."""

from __future__ import annotations

import httpx
import pytest

from mktsync.errors import MarketoError, QuotaExceeded
from mktsync.marketo.codes import (
    NotFound,
    RequestFailed,
    Retryable,
    Throttled,
    TokenRejected,
    Transient,
    error_for,
    first_error,
)
from mktsync.marketo.retry import RetryPolicy
from mktsync.marketo.transport import decode


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("606", Throttled),
        ("615", Throttled),
        ("604", Transient),
        ("608", Transient),
        ("713", Transient),
        ("502", Transient),
        ("601", TokenRejected),
        ("602", TokenRejected),
        ("607", QuotaExceeded),
        ("611", RequestFailed),
        ("1003", RequestFailed),
        ("603", RequestFailed),
        ("1013", NotFound),
        ("702", NotFound),
        (606, Throttled),  # an int code must not slip past the string checks
    ],
)
def test_error_for(code: str, cls: type[MarketoError]) -> None:
    exc = error_for(code, "msg", "r#1")
    assert type(exc) is cls
    assert exc.code == str(code) and exc.message == "msg" and exc.request_id == "r#1"


def test_only_throttle_and_transient_are_retryable() -> None:
    assert isinstance(error_for("606", ""), Retryable)
    for code in ("611", "607", "601", "1003", "1013"):
        assert not isinstance(error_for(code, ""), Retryable), code


def test_quota_exits_with_code_4() -> None:
    assert error_for("607", "Daily quota reached").exit_code == 4


def test_first_error_prefers_the_most_telling_code() -> None:
    body = {
        "requestId": "r#2",
        "success": False,
        "errors": [{"code": "1003", "message": "bad"}, {"code": "607", "message": "quota"}],
    }
    exc = first_error(body)
    assert isinstance(exc, QuotaExceeded) and exc.request_id == "r#2"
    assert isinstance(first_error({"success": False}), RequestFailed)


def response(status: int, content: bytes, ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": ctype})


def test_decode_success_and_failure() -> None:
    ok = decode(response(200, b'{"requestId":"a#1","success":true,"result":[{"id":1}]}'))
    assert ok["result"] == [{"id": 1}]
    with pytest.raises(Throttled) as info:
        decode(
            response(
                200, b'{"requestId":"a#2","success":false,"errors":[{"code":"606","message":"m"}]}'
            )
        )
    assert info.value.request_id == "a#2"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_decode_html_5xx_is_transient(status: int) -> None:
    with pytest.raises(Transient) as info:
        decode(response(status, b"<html><body>Bad Gateway</body></html>", "text/html"))
    assert info.value.code == str(status)


@pytest.mark.parametrize("status", [413, 414, 404])
def test_decode_other_http_errors_are_not_retried(status: int) -> None:
    with pytest.raises(RequestFailed) as info:
        decode(response(status, b"<html>no</html>", "text/html"))
    assert info.value.code == str(status)


def test_retry_policy_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, seed=1)
    assert [policy.cap(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    rng = policy.rng()
    for n in range(1, 6):
        delay = policy.delay(n, rng)
        assert policy.cap(n) / 2 <= delay <= policy.cap(n)


def test_retry_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=5.0, max_delay=1.0)
