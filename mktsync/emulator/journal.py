"""The record of every call received, with secrets redacted."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

REDACTED = "***"
SECRET_KEYS = frozenset({"access_token", "client_secret"})
_MAX_TEXT = 4096


def redact_params(params: Mapping[str, list[str]]) -> dict[str, str]:
    return {
        key: REDACTED if key in SECRET_KEYS else ",".join(values) for key, values in params.items()
    }


def body_for_journal(body: bytes, content_type: str) -> Any:
    """The body as JSON, a redacted form, or (shortened) text; never a secret."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return redact_params(parse_qs(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        pass
    if any(key in text for key in SECRET_KEYS):
        return REDACTED
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + f"... ({len(body)} bytes)"


class Journal:
    """Append-only list of call records (thread-safe).

    >>> j = Journal()
    >>> j.record({"endpoint": "trigger", "status": 200})["seq"]
    1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._endpoints: Counter[str] = Counter()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"seq": len(self._entries) + 1, "time": datetime.now(UTC).isoformat(), **entry}
            self._entries.append(entry)
            self._endpoints[str(entry.get("endpoint") or "unrouted")] += 1
            return entry

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._endpoints)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._endpoints.clear()
