"""Traps on loopback for the host tests: a listener that counts connections, a fake
PostgreSQL server that asks for a password and keeps what it is sent, and a way to run
``python -m mktsync`` as a real subprocess in a controlled environment.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


@dataclass
class Seen:
    """One connection a trap accepted: who came, and every byte it sent."""

    peer: str
    peer_port: int = 0
    received: bytes = b""
    answer: bytes = b""  # postgres: what came after the password request (the password)


@dataclass
class Listener:
    """Sockets on 127.0.0.1 (and ::1 when it can be had, same port) that record connections.

    With ``postgres`` set, each connection is answered as a PostgreSQL server that wants a
    clear-text password (so a client that has one sends it, and the bytes are kept).
    """

    postgres: bool = False
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    ipv6: bool = False
    _sockets: list[socket.socket] = field(default_factory=list)
    _markers: set[int] = field(default_factory=set)
    _marked: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Listener:
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        v4.bind(("127.0.0.1", 0))
        v4.listen(64)
        self.port = v4.getsockname()[1]
        self._sockets.append(v4)
        with contextlib.suppress(OSError):
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                v6.bind(("::1", self.port))
            except OSError:
                v6.close()
                raise
            v6.listen(64)
            self._sockets.append(v6)
            self.ipv6 = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def settle(self) -> int:
        """The connections seen so far, once every one already queued has been accepted.

        A process may connect and exit before this thread accepts: a marker connection
        made now on each socket is accepted after anything queued before it.
        """
        for server in self._sockets:
            family, address = server.family, server.getsockname()[:2]
            with socket.socket(family, socket.SOCK_STREAM) as marker:
                marker.bind((address[0], 0))
                port = marker.getsockname()[1]
                self._markers.add(port)
                marker.connect(address)
                deadline = threading.Event()
                for _ in range(200):
                    if port in self._marked:
                        break
                    deadline.wait(0.01)
                else:
                    raise AssertionError("the listener stopped accepting")
        return len(self.seen)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for s in self._sockets:
            s.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        for s in self._sockets:
            selector.register(s, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.05):
                server = key.fileobj
                assert isinstance(server, socket.socket)
                conn, peer = server.accept()
                seen = Seen(peer=str(peer[0]), peer_port=int(peer[1]))
                if seen.peer_port in self._markers:
                    self._marked.add(seen.peer_port)
                    conn.close()
                    continue
                self.seen.append(seen)
                threading.Thread(target=self._talk, args=(conn, seen), daemon=True).start()
        selector.close()

    def _talk(self, conn: socket.socket, seen: Seen) -> None:
        conn.settimeout(2)
        with conn, contextlib.suppress(OSError):
            if not self.postgres:
                while chunk := conn.recv(65536):
                    seen.received += chunk
                return
            while True:  # SSLRequest / GSSENCRequest first: say no, and wait for the startup
                head = _read(conn, 8, seen)
                length, code = struct.unpack("!ii", head)
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    conn.sendall(b"N")
                    continue
                _read(conn, length - 8, seen)
                break
            conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            # 'p' + length + password, if it has one (one small message), or the client
            # hangs up; then this end hangs up too, so no client waits for its timeout.
            chunk = conn.recv(65536)
            seen.received += chunk
            seen.answer += chunk


def _read(conn: socket.socket, n: int, seen: Seen) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    seen.received += data
    return data


@contextlib.contextmanager
def listening(*, postgres: bool = False) -> Iterator[Listener]:
    listener = Listener(postgres=postgres).start()
    try:
        yield listener
    finally:
        listener.stop()


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment with nothing of ours in it but PATH and a fresh HOME."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def mktsync(
    *args: str, cwd: Path, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m mktsync ARGS`` as a real process (never hangs the suite: ``timeout``)."""
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def record_sent(config_path: Path, ledger_url: str) -> None:
    """Put the plan's items for campaign ``welcome`` into the ledger at ``ledger_url``, sent."""
    from mktsync.config import load_config
    from mktsync.items import Item
    from mktsync.ledger import open_ledger
    from mktsync.render import iter_items

    config = load_config(config_path)
    items = [i for i in iter_items(config, config.campaigns["welcome"]) if isinstance(i, Item)]
    with open_ledger(ledger_url, config.base_dir) as ledger:
        with ledger.lock(command="test", timeout=5):
            run = ledger.start_run(command="test", config_digest=config.digest)
            ledger.mark_pending(run, items)
            ledger.mark_sent(run, 1, [i.key for i in items], request_id="r#1")
            ledger.finish_run(run, counts={"sent": len(items)}, exit_status=0)
