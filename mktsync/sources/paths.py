"""Opening a source file the way ``validate`` promised: confined, regular, never blocking.

>>> with open_confined(spec) as raw:          # doctest: +SKIP
...     raw.read()

``validate`` refuses paths that lead out of the repository (``mktsync.config.confine``);
this module checks again at the moment of reading, so a file swapped between the two
cannot escape:

- the path is resolved and checked again, then opened with ``O_NOFOLLOW`` (its last
  part may not have become a link) and ``O_NONBLOCK`` (opening a FIFO would otherwise
  wait for a writer forever);
- ``fstat`` on the open descriptor must say "regular file" — a FIFO, device or
  directory is closed unread;
- on Linux, the descriptor's own path (``/proc/self/fd/N``) must still be inside the
  root, which catches a folder on the way replaced by a link after the check.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from mktsync.config.confine import PathRefused, confined_path, refuse_special
from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def open_confined(spec: SourceSpec, key: str = "path") -> io.BufferedReader:
    """The file ``spec.options[key]`` names, opened for reading, or ``SourceError``."""
    written = str(spec.options[key])
    fd = open_fd(spec, written, key)
    return os.fdopen(fd, "rb")


def confined_file(spec: SourceSpec, written: str, key: str) -> Path:
    """The checked real path of a file ``spec`` names (for SQLite, which opens by path)."""
    fd = open_fd(spec, written, key)
    os.close(fd)
    return confined(spec, written, key)


def confined(spec: SourceSpec, written: str, key: str) -> Path:
    try:
        return confined_path(written, spec.base_dir, spec.policy)
    except PathRefused as exc:
        raise SourceError(spec.name, _where(spec, key), str(exc)) from None


def open_fd(spec: SourceSpec, written: str, key: str) -> int:
    real = confined(spec, written, key)
    try:
        fd = os.open(real, _FLAGS)
    except FileNotFoundError:
        raise SourceError(spec.name, written, "file not found") from None
    except OSError as exc:
        raise SourceError(spec.name, written, f"cannot read: {exc.strerror}") from None
    try:
        refuse_special(os.fstat(fd).st_mode, written)
        _still_inside(fd, spec, written)
    except PathRefused as exc:
        os.close(fd)
        raise SourceError(spec.name, _where(spec, key), str(exc)) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _still_inside(fd: int, spec: SourceSpec, written: str) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        opened = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return  # no /proc: the checks before the open stand alone
    root = spec.policy.root(spec.base_dir)
    if opened != root and root not in opened.parents:
        raise PathRefused(f"'{written}' changed while being opened and now leads outside")


def _where(spec: SourceSpec, key: str) -> str:
    position = spec.positions.get(key) or spec.position
    return str(position)
