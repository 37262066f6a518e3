from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sources_testing import MakeSpec

from mktsync.errors import SourceError
from mktsync.sources import iter_rows, json_


def write(tmp_path: Path, data: str | bytes, name: str = "data.json") -> str:
    (tmp_path / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return name


def rows(make_spec: MakeSpec, path: str, **options: str) -> list[tuple[int, dict[str, Any]]]:
    return list(iter_rows(make_spec("json", path=path, **options)))


def test_top_level_array(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '[{"a": 1, "b": null}, {"a": "zoë", "b": [1, {"c": true}]}]')
    assert rows(make_spec, path) == [
        (1, {"a": 1, "b": None}),
        (2, {"a": "zoë", "b": [1, {"c": True}]}),
    ]


def test_empty_array_and_bom(tmp_path: Path, make_spec: MakeSpec) -> None:
    assert rows(make_spec, write(tmp_path, "\ufeff  [ ]\n")) == []


def test_records_path_skips_siblings(tmp_path: Path, make_spec: MakeSpec) -> None:
    data = {
        "meta": {"note": "a } and a ] inside a string", "list": [1, [2, {"x": "]"}]]},
        "data": {"count": 123456789, "items": [{"i": 1}, {"i": 2}], "after": 1},
    }
    path = write(tmp_path, json.dumps(data, indent=2))
    assert rows(make_spec, path, records_path="data.items") == [(1, {"i": 1}), (2, {"i": 2})]


def test_records_larger_than_a_chunk_and_split_numbers(tmp_path: Path, make_spec: MakeSpec) -> None:
    # Values of every kind land on chunk boundaries: numbers, strings, escapes, a 1 MB field.
    records: list[dict[str, Any]] = [
        {"n": 10**i, "s": 'é\\"\u2028' * i, "f": i / 7} for i in range(1, 2000)
    ]
    records.insert(500, {"big": "x" * 1_000_000})
    path = write(tmp_path, json.dumps(records))
    got = rows(make_spec, path)
    assert [r for _, r in got] == records
    assert [n for n, _ in got] == list(range(1, len(records) + 1))


def test_streams_with_small_memory(tmp_path: Path, make_spec: MakeSpec) -> None:
    records = [{"i": i, "pad": "p" * 200} for i in range(40_000)]
    path = write(tmp_path, json.dumps(records))  # about 9 MB
    assert (tmp_path / path).stat().st_size > 8_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in json_.iter_rows(make_spec("json", path=path)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 1_000_000  # a few 64 KiB chunks, not the file


def test_not_an_array(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '{"items": []}')
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert str(info.value) == (
        "registrations: data.json:1: expected an array of objects at the top level, "
        "found an object (set records_path if the records are inside an object)"
    )


def test_records_path_to_a_missing_key(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '{"data": {"other": []}}')
    with pytest.raises(SourceError, match="records_path: no key 'items' in data"):
        rows(make_spec, path, records_path="data.items")


def test_records_path_through_a_non_object(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '{"data": [1]}')
    with pytest.raises(
        SourceError, match="records_path: expected an object at data, found an array"
    ):
        rows(make_spec, path, records_path="data.items")


def test_record_that_is_not_an_object(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '[\n{"a": 1},\n"two"\n]')
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert info.value.location == "data.json:3"
    assert info.value.message == "record 2 is a string, expected an object"


def test_syntax_error_is_located(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '[\n{"a": 1},\n{"a": 2,,}\n]')
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert info.value.location == "data.json:3"
    assert info.value.message.startswith("invalid JSON: Expecting property name")


def test_truncated_file(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="invalid JSON: Unterminated string"):
        rows(make_spec, write(tmp_path, '[{"a": "open'))
    with pytest.raises(SourceError, match="expected ',' or ']', found the end of the file"):
        rows(make_spec, write(tmp_path, '[{"a": 1}'))


def test_trailing_data(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="unexpected data after the array"):
        rows(make_spec, write(tmp_path, "[] []"))


def test_empty_file(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="found nothing"):
        rows(make_spec, write(tmp_path, ""))


def test_latin1(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, '[{"name": "José"}]'.encode("latin-1"))
    assert rows(make_spec, path, encoding="latin-1") == [(1, {"name": "José"})]
    with pytest.raises(
        SourceError, match=r"cannot decode byte 0xe9 at byte 14 as utf-8; .* cp1252"
    ):
        rows(make_spec, path)


def test_a_lone_surrogate_escape_is_a_located_error(tmp_path: Path, make_spec: MakeSpec) -> None:
    (tmp_path / "s.json").write_text('[{"n": "ok"},\n {"n": "x\\ud800"}]', encoding="utf-8")
    with pytest.raises(SourceError) as info:
        rows(make_spec, "s.json")
    assert str(info.value).startswith(
        "registrations: s.json:2: a \\u escape in 'n' is half of a UTF-16 surrogate pair"
    )
