"""Types shared by the source tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Callable

from mktsync.config.model import SourceSpec

MakeSpec = Callable[..., SourceSpec]
