from __future__ import annotations

import json
from pathlib import Path

import pytest
from sources_testing import MakeSpec

from mktsync.config.model import Position
from mktsync.errors import SourceError
from mktsync.sources import SOURCES, iter_rows

REPO = Path(__file__).resolve().parents[2]


def test_row_number_is_the_yaml_line(make_spec: MakeSpec) -> None:
    positions = {
        "rows[0]": Position(file="campaigns.yaml", line=31, column=9),
        "rows[1]": Position(file="campaigns.yaml", line=33, column=9),
    }
    spec = make_spec("inline", rows=[{"email": "a@x.io"}, {"email": "b@x.io"}], positions=positions)
    assert list(iter_rows(spec)) == [(31, {"email": "a@x.io"}), (33, {"email": "b@x.io"})]


def test_without_positions_the_index_is_used(make_spec: MakeSpec) -> None:
    assert list(iter_rows(make_spec("inline", rows=[{"a": 1}]))) == [(1, {"a": 1})]
    assert list(iter_rows(make_spec("inline", rows=[]))) == []


def test_a_row_that_is_not_a_mapping(make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="each inline row must be a mapping"):
        list(iter_rows(make_spec("inline", rows=["x"])))


def test_unknown_kind(make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="unknown source type 'xml'"):
        iter_rows(make_spec("xml"))


def test_registry_agrees_with_the_schema() -> None:
    schema = json.loads((REPO / "mktsync" / "schema" / "campaigns.schema.json").read_text("utf-8"))
    assert set(schema["$defs"]["source"]["properties"]["type"]["enum"]) == set(SOURCES)
