"""Signals during ``apply``: SIGINT, SIGTERM and SIGHUP stop a run in order; a second aborts."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from mktsync.apply.result import StopRequest

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def orderly_stop(stop: StopRequest, err: TextIO) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP stop the run in order (no new call; calls in flight finish
    and are recorded; the summary is printed; exit 128 + the signal's number).  ``stop`` is
    also what the Marketo client waits on, so a call still waiting for its turn (rate
    window, backoff, token) returns at once, not attempted, and a run with nothing on the
    wire exits within a fraction of a second.  A second signal (GitHub sends SIGTERM 7.5 s
    after SIGINT) aborts at once: calls on the wire stay ``pending`` in the ledger, which
    the next run reads as ``unknown`` -- the same state a kill leaves; calls that had not
    left were never marked, so they stay new."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            err.write(
                f"\n{name} again: aborting now; calls on the wire are left pending "
                "(the next run reports them as unknown)\n"
            )
            err.flush()
            os._exit(128 + signum)
        stop.request(name, exit_code=128 + signum)
        err.write(
            f"\n{name}: stopping: no new calls; waiting for the calls in flight "
            f"(send {name} again to abort at once)\n"
        )
        err.flush()

    numbers = [getattr(signal, n) for n in STOP_SIGNALS if hasattr(signal, n)]
    previous = {n: signal.signal(n, handler) for n in numbers}
    try:
        yield
    finally:
        for n, old in previous.items():
            signal.signal(n, old)
