"""A project folder with a ``campaigns.yaml`` and a real SQLite ledger beside it.

``run`` calls ``mktsync.cli.main`` with ``ledger --config <project>/campaigns.yaml``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ledgercmd_testing import Run
from testing.project import LEAD_BY_EMAIL, flow, write_project

from mktsync import cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding ``campaigns.yaml``; its ledger is ``state/ledger.db`` (not yet made)."""
    folder = tmp_path / "project"
    folder.mkdir()
    write_project(
        folder,
        ledger="sqlite:///state/ledger.db",
        sources={"regs": {"type": "inline", "rows": [flow(email="a@example.com")]}},
        campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
    )
    return folder


@pytest.fixture
def run(project: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("status", ...)`` is ``mktsync ledger --config <project>/campaigns.yaml status ...``."""
    monkeypatch.delenv("MKTSYNC_WHO", raising=False)

    def runner(*argv: str, config: bool = True) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        prefix = ["ledger", "--config", str(project / "campaigns.yaml")] if config else ["ledger"]
        code = cli.main([*prefix, *argv], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return runner
