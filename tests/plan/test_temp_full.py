"""A full temp folder is said in plain words, not as an internal error (QA of issue 16, F4).

SQLite answers SQLITE_FULL ("database or disk is full") when a disk is full and when a
database reaches its ``max_page_count``: the second stands in for the first here.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from testing.plans import write_project

import mktsync.plan.spill
from mktsync.cli import main
from mktsync.errors import TempSpaceError
from mktsync.plan.spill import Spill


def small_spill(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    real_init = Spill.__init__

    def init(self: Spill, columns: int = 1) -> None:
        real_init(self, columns)
        self._conn.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(mktsync.plan.spill.Spill, "__init__", init)


def test_a_full_spill_is_a_temp_space_error(monkeypatch: pytest.MonkeyPatch) -> None:
    small_spill(monkeypatch, 8)
    with Spill() as spill, pytest.raises(TempSpaceError) as info:
        writer = spill.writer(1)
        for n in range(10_000):
            writer.add((("{{my.T}}", f"v{n}"),), ("x" * 200,))
        writer.flush()
    assert str(info.value).startswith("the temp folder is full: the plan keeps its items")


def test_plan_says_the_temp_folder_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {"email": f"u{n}@example.com", "webinar": "w1", "code": f"c{n}", "status": "registered"}
        for n in range(5000)
    ]
    config = write_project(tmp_path, rows)
    small_spill(monkeypatch, 8)
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", str(config)], stdout=out, stderr=err)
    assert code == 1
    assert err.getvalue().startswith("error: the temp folder is full:")
    assert "TMPDIR" in err.getvalue() and "Traceback" not in err.getvalue()
    assert "internal error" not in err.getvalue()
