"""Guards for the whole suite: no real credentials, no network beyond loopback."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may see a developer's real Marketo credentials or write to a CI step summary."""
    for name in list(os.environ):
        if name.startswith("MARKETO_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections to anything but this machine: tests talk to the emulator only."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
                raise OSError(f"test tried to reach {host!r}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
