"""Fixtures for the render tests; the builders themselves live in ``render_testing``."""

from __future__ import annotations

import pytest

from mktsync.sandbox import make_environment


@pytest.fixture(autouse=True)
def pristine_environment() -> None:
    """A test that changed the cached sandbox would leak into every later test: refuse it."""
    env = make_environment()
    assert set(env.globals) == {"range", "dict", "cycler", "joiner", "namespace"}
