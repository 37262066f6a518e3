from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sources_testing import MakeSpec

from mktsync.errors import SourceError
from mktsync.sources import iter_rows


def rows(make_spec: MakeSpec, tmp_path: Path, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    (tmp_path / "s.jsonl").write_bytes(data)
    return list(iter_rows(make_spec("jsonl", path="s.jsonl")))


def test_lines_and_blank_lines(tmp_path: Path, make_spec: MakeSpec) -> None:
    data = '\ufeff{"lead_id": 5000, "n": "Zoë 🚀"}\n\n   \r\n{"lead_id": 5011, "x": null}\r\n'
    assert rows(make_spec, tmp_path, data.encode()) == [
        (1, {"lead_id": 5000, "n": "Zoë 🚀"}),
        (4, {"lead_id": 5011, "x": None}),
    ]


def test_empty_file_gives_no_rows(tmp_path: Path, make_spec: MakeSpec) -> None:
    assert rows(make_spec, tmp_path, b"") == []


def test_one_megabyte_field(tmp_path: Path, make_spec: MakeSpec) -> None:
    big = "y" * 1_000_000
    assert rows(make_spec, tmp_path, f'{{"big": "{big}"}}'.encode()) == [(1, {"big": big})]


def test_malformed_line(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError) as info:
        rows(make_spec, tmp_path, b'{"a": 1}\n{"a": 2\n')
    assert str(info.value) == (
        "registrations: s.jsonl:2: invalid JSON: Expecting ',' delimiter (column 8)"
    )


def test_line_that_is_not_an_object(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match=r"s\.jsonl:1: expected a JSON object, got an array"):
        rows(make_spec, tmp_path, b"[1, 2]\n")


def test_bad_byte(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError) as info:
        rows(make_spec, tmp_path, b'{"a": 1}\n{"a": "\xc3("}\n')
    assert info.value.location == "s.jsonl:2"


def test_a_lone_surrogate_escape_is_a_located_error_and_a_pair_is_a_character(
    tmp_path: Path, make_spec: MakeSpec
) -> None:
    """JSON may escape half a surrogate pair alone; no UTF-8 holds it, so it would fail far
    away (QA of issue 16: an internal error in the plan's spill)."""
    pair = b'{"n": "\\ud83d\\ude00"}\n'
    assert rows(make_spec, tmp_path, pair) == [(1, {"n": "\U0001f600"})]
    with pytest.raises(SourceError) as info:
        rows(make_spec, tmp_path, pair + b'{"a": {"b": ["x", "\\uDC00"]}}\n')
    assert str(info.value) == (
        "registrations: s.jsonl:2: a \\u escape in 'a.b' is half of a UTF-16 surrogate pair,"
        " not a character: not valid Unicode (fix the data where it is written)"
    )
