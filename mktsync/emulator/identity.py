"""Client credentials and access tokens: issue, reuse until expiry, expire, revoke."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SCOPE = "apis@emulator.example"


@dataclass
class _Token:
    client_id: str
    expires_at: float
    expiry_reported: bool = False
    revoked: bool = False


@dataclass(frozen=True, kw_only=True)
class Grant:
    """An access token with its remaining lifetime (never shown in reprs)."""

    access_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"Grant(access_token='***', expires_in={self.expires_in})"

    def as_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": SCOPE,
        }


class Identity:
    """The identity service.  One live token per client id, as Marketo does.

    >>> ident = Identity({"abc": "s3cret"}, ttl=3600)
    >>> g = ident.issue("abc", "s3cret")
    >>> ident.issue("abc", "s3cret").access_token == g.access_token, ident.check(g.access_token)
    (True, None)
    """

    def __init__(
        self, clients: Mapping[str, str], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clients = dict(clients)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._current: dict[str, str] = {}

    def knows(self, client_id: str) -> bool:
        """Whether ``client_id`` names a client (custom service) of this instance."""
        return client_id in self._clients

    def issue(self, client_id: str, client_secret: str) -> Grant | None:
        """The client's live token (same one until it expires), or None for bad credentials."""
        expected = self._clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, client_secret):
            return None
        with self._lock:
            now = self._clock()
            token = self._current.get(client_id)
            record = self._tokens.get(token) if token else None
            if token is None or record is None or record.revoked or record.expires_at <= now:
                token = f"{uuid.uuid4()}:ab"
                record = _Token(client_id=client_id, expires_at=now + self._ttl)
                self._tokens[token] = record
                self._current[client_id] = token
            # Marketo floors the remaining lifetime: a fresh 3600 s token says 3599.
            remaining = max(0, int(record.expires_at - now - 1e-9))
            return Grant(access_token=token, expires_in=remaining)

    def check(self, token: str) -> str | None:
        """None if the token is good; "602" on the first use after expiry; "601" otherwise."""
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.revoked:
                return "601"
            if record.expires_at <= self._clock():
                if record.expiry_reported:
                    return "601"
                record.expiry_reported = True
                return "602"
            return None

    def client_of(self, token: str) -> str | None:
        """The client id a token was issued to (None: not a token of this instance)."""
        with self._lock:
            record = self._tokens.get(token)
            return None if record is None else record.client_id

    def revoke_all(self) -> int:
        with self._lock:
            live = [t for t in self._tokens.values() if not t.revoked]
            for record in live:
                record.revoked = True
            self._current.clear()
            return len(live)
