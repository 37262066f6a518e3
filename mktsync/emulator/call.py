"""What an endpoint receives, and the helpers endpoints share (params, paging)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mktsync.emulator.envelope import ApiError
from mktsync.emulator.options import EmulatorOptions


@dataclass(frozen=True, kw_only=True)
class Call:
    """One admitted API call: path ids, flattened parameters, parsed body."""

    endpoint: str
    request_id: str = ""
    ids: tuple[int, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    options: EmulatorOptions = field(default_factory=EmulatorOptions)

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def required(self, name: str) -> str:
        value = self.param(name)
        if value is None:
            raise ApiError("1002", f"Missing value for required parameter '{name}'")
        return value

    def csv(self, name: str) -> list[str]:
        value = self.param(name)
        return [] if value is None else [v.strip() for v in value.split(",") if v.strip()]

    def ints(self, name: str) -> list[int]:
        try:
            return [int(v) for v in self.csv(name)]
        except ValueError:
            raise ApiError("1001", f"Invalid value type for parameter '{name}'") from None


def batch_size(call: Call, maximum: int = 300) -> int:
    raw = call.param("batchSize")
    if raw is None:
        return maximum
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError("1003", f"batchSize must be between 1 and {maximum}")
    return int(raw)


def page(call: Call, rows: list[Any], kind: str) -> tuple[list[Any], dict[str, Any]]:
    """Cut ``rows`` at the caller's ``nextPageToken``; add ``moreResult``/``nextPageToken``."""
    size = batch_size(call)
    start = 0
    token = call.param("nextPageToken")
    if token is not None:
        try:
            prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            start = int(offset)
        except (ValueError, UnicodeDecodeError):
            raise ApiError("1003", "Invalid nextPageToken") from None
        if prefix != kind or start < 0:
            raise ApiError("1003", "Invalid nextPageToken")
    chunk = rows[start : start + size]
    if start + size < len(rows):
        nxt = base64.urlsafe_b64encode(f"{kind}:{start + size}".encode()).decode()
        return chunk, {"moreResult": True, "nextPageToken": nxt}
    return chunk, {"moreResult": False} if token is not None else {}


def iso_datetime(text: str) -> datetime | None:
    """An ISO 8601 time as Marketo accepts it (``Z``, ``+0000`` or ``+00:00``), or None.

    The offset is kept as written (naive when there is none): each caller decides what a
    missing offset means.
    """
    value = text.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
