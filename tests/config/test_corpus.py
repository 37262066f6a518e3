"""Every broken config in tests/configs/invalid gives exactly the output in its .err file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from mktsync.cli import main

INVALID = Path(__file__).resolve().parent.parent / "configs" / "invalid"
CASES = sorted(p.stem for p in INVALID.glob("*.yaml"))


def run_validate(name: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(INVALID)
    try:
        code = main(["validate", f"{name}.yaml", *extra], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_invalid_config_output(name: str) -> None:
    code, out, err = run_validate(name)
    expected = (INVALID / f"{name}.err").read_text(encoding="utf-8")
    assert out == expected
    assert code == 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", CASES)
def test_invalid_config_json(name: str) -> None:
    import json

    code, out, _ = run_validate(name, "--format", "json")
    problems = json.loads(out)
    assert code == 1
    assert problems, "a broken config must report at least one problem"
    assert any(p["severity"] == "error" for p in problems)
    for p in problems:
        assert set(p) == {"file", "line", "column", "path", "message", "severity"}
        assert p["file"] == f"{name}.yaml"
