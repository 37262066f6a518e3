"""The HTTP server: stdlib ThreadingHTTPServer with HTTP/1.1 keep-alive around ``App``."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mktsync.emulator.app import MAX_BODY, App, Request
from mktsync.emulator.envelope import Reply

_MAX_DRAIN = 16 * 1024 * 1024
# Adobe (rest/performance): "Payloads less than 1024 bytes are not compressed".
GZIP_MIN_BYTES = 1024


def accepts_gzip(header: str) -> bool:
    """``Accept-Encoding: gzip, deflate`` -> True; ``gzip;q=0`` -> False."""
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                return float(q) > 0
            except ValueError:
                return True
    return False


class EmulatorServer(ThreadingHTTPServer):
    """Keeps track of open connections so ``stop`` can close idle keep-alive sockets."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, inspector: Any) -> None:
        self.app = app
        self.inspector = inspector
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is normal under fault tests; stay quiet then.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    # Headers and body are two writes; with Nagle on, the client's delayed ACK costs ~40 ms.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        # The journal is the log; stderr noise would also risk echoing query secrets.
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(Reply(status=411, body=b"Length Required", content_type="text/plain"))
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send(Reply(status=400, body=b"Bad Content-Length", content_type="text/plain"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if 0 < length <= MAX_BODY else b""
        if length > MAX_BODY:
            self._drain(length)
        if self.path.startswith("/_emulator/"):
            status, payload = self.server.inspector(
                self.command, self.path, body, self.client_address[0]
            )
            data = json.dumps(payload, default=str).encode()
            self._send(Reply(status=status, body=data))
            return
        request = Request(
            method=self.command,
            target=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            content_length=length,
        )
        reply = self.server.app.handle(request)
        if reply.action == "reset":
            self._reset()
        elif reply.action == "drop":
            # The request was carried out; the answer never leaves (FIN, no response).
            self.close_connection = True
        else:
            self._send(reply)

    def _drain(self, length: int) -> None:
        # Read an oversized body before answering 413: closing with unread data would make
        # the kernel send RST and the client would see a reset instead of the 413.
        if length > _MAX_DRAIN:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def _send(self, reply: Reply) -> None:
        body = reply.body
        gzipped = (
            len(body) >= GZIP_MIN_BYTES
            and reply.content_type.startswith("application/json")
            and accepts_gzip(self.headers.get("Accept-Encoding", ""))
        )
        if gzipped:
            body = gzip.compress(body, compresslevel=5, mtime=0)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST; the file objects hold socket references,
        # so they must be closed first or the close is deferred (and becomes a FIN).
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        # http.server flushes wfile after the handler returns; give it something harmless.
        self.wfile = io.BytesIO()
