"""A factory for ``SourceSpec`` records over real files in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sources_testing import MakeSpec

from mktsync.config.model import Position, SourceSpec


@pytest.fixture
def make_spec(tmp_path: Path) -> MakeSpec:
    """``make_spec("csv", path="a.csv", positions={...})``: a spec whose base_dir is tmp_path."""

    def make(
        kind: str, *, positions: dict[str, Position] | None = None, **options: Any
    ) -> SourceSpec:
        return SourceSpec(
            name="registrations",
            type=kind,
            options=options,
            base_dir=tmp_path,
            position=Position(file="campaigns.yaml", line=20, column=3),
            positions=positions or {},
        )

    return make
