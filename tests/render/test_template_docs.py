"""docs/templates.md documents every name, global, filter and test of the sandbox."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from mktsync.sandbox import make_environment

REPO = Path(__file__).resolve().parent.parent.parent


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_template_docs", REPO / "tools" / "gen_template_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_name_filter_and_test_is_documented_and_the_file_is_current() -> None:
    gen = generator()
    assert gen.missing() == []
    assert gen.main(["--check"]) == 0, "run: python tools/gen_template_docs.py"


def test_a_new_filter_without_a_line_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_environment()
    monkeypatch.setitem(env.filters, "shout", str.upper)
    assert generator().missing() == ["undocumented filter: shout"]


def test_the_nondeterministic_filter_is_gone() -> None:
    # `random` would change a token on every run, so retrigger: on_change would fire forever
    assert "random" not in make_environment().filters
    text = (REPO / "docs" / "templates.md").read_text(encoding="utf-8")
    assert "`{{ today \\| add_days(3) }}` | `2026-12-04`" in text
