"""Where a source file may be: inside the repository, a regular file, never a secret.

>>> confined_path("data/registrations.csv", Path("."), Policy())      # doctest: +SKIP
PosixPath('/home/runner/work/repo/data/registrations.csv')

A pull request controls ``campaigns.yaml`` and the files beside it, and ``plan`` posts
what it reads.  So a path written in the file (a csv/json/jsonl ``path``, a
``sqlite:///`` URL) is refused, with the reason in plain words, when:

- it is absolute (``/proc/self/environ``), starts with ``~``, or holds a NUL;
- after following symbolic links (``os.path.realpath``) it leads outside the root:
  the config file's folder, or ``--data-root``; ``..`` that stays inside is fine;
- it is inside a ``.git`` folder (``actions/checkout`` leaves the job's token in
  ``.git/config``) or under ``/proc``, ``/sys`` or ``/dev`` (a root chosen there);
- with ``--untrusted``, it is not under one of the allowed folders (``data/`` unless
  the command line says ``--allow-path``);
- it exists and is not a regular file: a directory, a FIFO, a device or a socket.

``validate`` calls these to report located errors; the sources call them again when
they open the file (``mktsync.sources.paths``), so a path changed in between is caught.
Messages show the path as written, never where a link points.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mktsync.config.policy import Policy

SYSTEM_TREES = ("/proc", "/sys", "/dev")


class PathRefused(Exception):
    """A source path that may not be read; ``str()`` is the reason, path as written."""


def confined_path(written: str, base_dir: Path, policy: Policy) -> Path:
    """The real path of ``written`` (relative to ``base_dir``), or ``PathRefused``."""
    shown = f"'{written}'"
    if not written.strip():
        raise PathRefused("the path is empty")
    if "\x00" in written:
        raise PathRefused(f"{shown} contains a NUL character")
    if os.path.isabs(written) or written.startswith("~"):
        raise PathRefused(
            f"{shown} is an absolute path; source files must be inside the repository, "
            "written relative to the config file"
        )
    root = policy.root(base_dir)
    joined = os.path.join(base_dir, written)
    real = Path(os.path.realpath(joined))
    where = "--data-root" if policy.data_root is not None else "the config file's folder"
    if not _inside(real, root):
        how = (
            "through a symbolic link"
            if _inside(Path(os.path.normpath(os.path.abspath(joined))), root)
            else "with '..'"
        )
        raise PathRefused(f"{shown} leads outside {where} {how}; source files must be inside it")
    if ".git" in real.relative_to(root).parts:
        raise PathRefused(
            f"{shown} is inside .git, which holds the repository's credentials; "
            "sources may not read it"
        )
    if any(_inside(real, Path(tree)) for tree in SYSTEM_TREES):
        raise PathRefused(f"{shown} is a system file; sources may not read it")
    if policy.untrusted and not any(
        _inside(real, root / allowed) for allowed in policy.allow_paths
    ):
        folders = ", ".join(f"{a.rstrip('/')}/" for a in policy.allow_paths) or "none"
        raise PathRefused(
            f"{shown} is outside the folders an untrusted run may read ({folders}; "
            "the workflow sets them with --allow-path)"
        )
    return real


def check_regular(real: Path, written: str) -> None:
    """``PathRefused`` unless ``real`` (a path without links) is a regular file; no-op if missing."""
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise PathRefused(f"'{written}' cannot be read: {exc.strerror}") from None
    refuse_special(mode, written)


def refuse_special(mode: int, written: str) -> None:
    """``PathRefused`` naming what the file is, unless ``mode`` is a regular file's."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a directory"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    raise PathRefused(f"'{written}' is {kind}, not a regular file")


def sqlite_written_path(url: str) -> str | None:
    """The file part of a ``sqlite:///`` URL as written (``None`` for another URL)."""
    import urllib.parse

    if not url.startswith("sqlite:///"):
        return None
    return urllib.parse.unquote(url.removeprefix("sqlite:///").split("?", 1)[0])


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
