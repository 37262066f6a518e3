"""Every data mistake in tests/data_mistakes/ gives exactly the output in its expected.txt.

A case is a folder: ``campaigns.yaml``, its data files, ``command`` (``validate`` or
``plan``: where the mistake must be caught) and ``expected.txt``: the command line, what
it prints (stdout, then stderr), and its exit code.  Config-level mistakes are refused
at ``validate``; bad values at ``plan``.  ``MKTSYNC_WRITE_EXPECTED=1`` rewrites the
files from the current output (review the diff before committing it).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from mktsync.cli import main

HERE = Path(__file__).resolve().parent
CASES = sorted(p.name for p in HERE.iterdir() if (p / "campaigns.yaml").is_file())


def run(name: str) -> str:
    command = (HERE / name / "command").read_text(encoding="utf-8").strip()
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(HERE / name)
    try:
        code = main([command, "campaigns.yaml"], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return f"$ mktsync {command} campaigns.yaml\n{out.getvalue()}{err.getvalue()}exit {code}\n"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_data_mistake(name: str) -> None:
    actual = run(name)
    expected_file = HERE / name / "expected.txt"
    if os.environ.get("MKTSYNC_WRITE_EXPECTED"):
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8")
    assert "Traceback" not in actual
    assert "internal error" not in actual
    # a mistake is refused, except a warning-only case, which must say "warning:"
    assert not actual.endswith("exit 0\n") or "warning:" in actual
    assert not (HERE / name / "ledger.db").exists(), "plan must not create a ledger"
