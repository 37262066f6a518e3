"""``Stop``: a request to send nothing more, which wakes every wait at once.

>>> stop = Stop()
>>> stop.wait(0.01)
False
>>> stop.set()
>>> stop.is_set(), stop.wait(60.0)
(True, True)

The client's waits (a rate window, a backoff, another thread's token renewal) wait on it,
so a stop takes effect at once instead of when the wait would have ended.

Why not ``threading.Event``: a stop is set from a signal handler, which Python runs in the
main thread between two bytecodes -- possibly while that same thread is inside
``Event.wait`` holding the event's internal lock, and ``Event.set`` would then wait on that
lock forever.  ``set`` here takes no lock at all: it sets a flag and writes one byte to a
pipe that waiters ``poll``; nobody reads the byte, so the pipe stays readable and every
later wait returns at once.

A ``Deadline`` ends a wait the same way, from the clock instead of a signal: a wait that
would last past it ends at once (``DeadlineReached``), so a read with a time budget
(``mktsync ledger settle --max-seconds``) never waits for a rate slot it cannot use.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field


class Stop:
    """Set once, from any thread or a signal handler; waited on by any number of threads."""

    def __init__(self) -> None:
        self._set = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        # The pipe is closed with the object, whoever drops the last reference.
        self._close = weakref.finalize(self, _close, self._read, self._write)

    def set(self) -> None:
        """Ask every wait to end now.  Signal-safe: a flag and one ``write``, no lock."""
        if self._set:
            return
        self._set = True
        with contextlib.suppress(OSError):  # closed already: nobody is left to wake
            os.write(self._write, b"!")

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for ``set``; return ``is_set()``."""
        if self._set:
            return True
        poller = select.poll()
        poller.register(self._read, select.POLLIN)
        # A set() between the check above and poll() has already written its byte.
        poller.poll(None if timeout is None else max(0.0, timeout) * 1000.0)
        return self._set


@dataclass(frozen=True, kw_only=True)
class Deadline:
    """A moment on ``clock`` after which no wait may last; ``remaining()`` seconds to it.

    >>> Deadline(at=10.0, clock=lambda: 4.0).remaining()
    6.0
    """

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(at=clock() + seconds, clock=clock)

    def remaining(self) -> float:
        return self.at - self.clock()


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
