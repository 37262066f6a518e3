"""Marketo's response envelope, request ids, and the HTML pages its gateway sends."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["respond", "reset", "drop"]

MESSAGES = {
    "601": "Access token invalid",
    "602": "Access token expired",
    "604": "Request timed out",
    "605": "Request method '{method}' not supported",
    "606": "Max rate limit '{calls}' exceeded with in '{window}' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit '{concurrency}' reached",
    "713": "Transient Error",
}

# Marketo's note on its error table: calls answered with these are not counted against the
# rate limit or the daily quota (marketo-api.md section 7).
UNCOUNTED_CODES = frozenset({"601", "602", "604", "605", "608", "611"})


class ApiError(Exception):
    """A whole-request failure: HTTP 200, ``success: false``, one ``errors`` entry."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, "Invalid data")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What an endpoint answered: a result list (or none, for "not found" warnings)."""

    result: Sequence[Any] | None = None
    warnings: Sequence[Any] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One HTTP answer, or an instruction to break the connection instead."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    action: Action = "respond"
    codes: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)


class RequestIds:
    """Marketo-style ids ``<hex>#<epoch-ms-hex>``, e.g. ``e42b#14272d07d78``; unique per run."""

    def __init__(self) -> None:
        self._counter = itertools.count(secrets.randbelow(0xF000) + 0x1000)

    def next(self) -> str:
        return f"{next(self._counter) & 0xFFFFF:x}#{int(time.time() * 1000):x}"


def json_reply(payload: Mapping[str, Any], codes: tuple[str, ...] = (), status: int = 200) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status=status, body=body, codes=codes)


def success(request_id: str, outcome: Outcome, *, asset: bool) -> Reply:
    # Lead-database answers omit empty errors/warnings; asset answers always carry both.
    payload: dict[str, Any] = {"requestId": request_id, "success": True}
    if asset:
        payload["errors"] = []
        payload["warnings"] = list(outcome.warnings)
    elif outcome.warnings:
        payload["warnings"] = list(outcome.warnings)
    if outcome.result is not None:
        payload["result"] = list(outcome.result)
    payload.update(outcome.extra)
    return json_reply(payload)


def failure(request_id: str, code: str, message: str, *, asset: bool = False) -> Reply:
    payload: dict[str, Any] = {
        "requestId": request_id,
        "success": False,
        "errors": [{"code": code, "message": message}],
    }
    if asset:
        payload["warnings"] = []
    return json_reply(payload, codes=(code,))


def html_reply(status: int, title: str) -> Reply:
    page = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Reply(
        status=status,
        body=page.encode(),
        content_type="text/html",
        codes=(str(status),),
    )
