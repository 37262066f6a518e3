from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest
from sources_testing import MakeSpec

from mktsync.errors import SourceError
from mktsync.sources import iter_rows


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> str:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        target.write_bytes(text.encode("utf-8"))
    else:
        target.write_bytes(text)
    return name


def rows(make_spec: MakeSpec, path: str, **options: str) -> list[tuple[int, dict[str, str]]]:
    return list(iter_rows(make_spec("csv", path=path, **options)))


def test_rows_keep_strings_and_empty_cells(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, "email,id,name\na@example.com,1,\nb@example.com,,Bea\n")
    assert rows(make_spec, path) == [
        (2, {"email": "a@example.com", "id": "1", "name": ""}),
        (3, {"email": "b@example.com", "id": "", "name": "Bea"}),
    ]


def test_row_number_is_the_line_where_a_record_starts(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, 'a,b\r\n1,"two\r\nlines"\r\n\r\n3,"x\ny\nz"\n4,4\n')
    assert rows(make_spec, path) == [
        (2, {"a": "1", "b": "two\r\nlines"}),
        (5, {"a": "3", "b": "x\ny\nz"}),
        (8, {"a": "4", "b": "4"}),
    ]


def test_unicode_and_bom(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, "\ufeffnom,ville\nZoë,Zürich 🚀\n")
    assert rows(make_spec, path) == [(2, {"nom": "Zoë", "ville": "Zürich 🚀"})]


def test_bom_is_skipped_even_with_another_byte_encoding(
    tmp_path: Path, make_spec: MakeSpec
) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfname\nJos\xe9\n")
    assert rows(make_spec, path, encoding="latin-1") == [(2, {"name": "José"})]


def test_utf16_with_its_own_bom(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, "name;city\nZoë;Köln\n".encode("utf-16"))
    assert rows(make_spec, path, encoding="utf-16", delimiter=";") == [
        (2, {"name": "Zoë", "city": "Köln"})
    ]


def test_header_only_gives_no_rows(tmp_path: Path, make_spec: MakeSpec) -> None:
    assert rows(make_spec, write(tmp_path, "email,id\n")) == []


def test_one_row_without_final_newline(tmp_path: Path, make_spec: MakeSpec) -> None:
    assert rows(make_spec, write(tmp_path, "email\nx@example.com")) == [
        (2, {"email": "x@example.com"})
    ]


def test_a_one_megabyte_field(tmp_path: Path, make_spec: MakeSpec) -> None:
    big = "é" * 1_000_000
    path = write(tmp_path, f'id,html\n1,"{big}"\n2,small\n')
    got = rows(make_spec, path)
    assert got[0] == (2, {"id": "1", "html": big})
    assert got[1] == (3, {"id": "2", "html": "small"})


def test_empty_file_has_no_header(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match=r"^registrations: data\.csv: no header row"):
        rows(make_spec, write(tmp_path, ""))


def test_missing_file_is_named_as_written(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError) as info:
        rows(make_spec, "data/nope.csv")
    assert str(info.value) == "registrations: data/nope.csv: file not found"


def test_unterminated_quote_points_at_the_record(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, 'a,b\n1,2\n3,"open\nmore\n', name="data/registrations.csv")
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert str(info.value) == ("registrations: data/registrations.csv:3: unterminated quoted field")


def test_text_after_a_closing_quote_is_an_error(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, 'a,b\n1,"x"y\n')
    with pytest.raises(SourceError, match=re.escape("data.csv:2: ',' expected after '\"'")):
        rows(make_spec, path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2,3", "3 cells, but the header has 2 columns"),
        ("1", "1 cells, but the header has 2 columns"),
    ],
)
def test_wrong_cell_count_is_located(
    tmp_path: Path, make_spec: MakeSpec, line: str, message: str
) -> None:
    path = write(tmp_path, f"a,b\n1,2\n{line}\n")
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert info.value.location == "data.csv:3"
    assert info.value.message == message


def test_duplicate_column_is_an_error(tmp_path: Path, make_spec: MakeSpec) -> None:
    with pytest.raises(SourceError, match="column 'a' appears twice"):
        rows(make_spec, write(tmp_path, "a,b,a\n1,2,3\n"))


def test_bad_byte_names_its_line(tmp_path: Path, make_spec: MakeSpec) -> None:
    # Far beyond the first decoded chunk, so the line must be found, not guessed.
    body = "".join(f"x{i}@example.com\n" for i in range(5000))
    path = write(tmp_path, b"email\n" + body.encode() + b"bad\xff@example.com\nok@example.com\n")
    with pytest.raises(SourceError) as info:
        rows(make_spec, path)
    assert info.value.location == "data.csv:5002"
    assert info.value.message == (
        "cannot decode byte 0xff at byte 88899 as utf-8; "
        "if it was saved by Excel on Windows, set 'encoding: cp1252' on this source"
    )


def test_unknown_encoding_is_located_at_the_option(tmp_path: Path, make_spec: MakeSpec) -> None:
    from mktsync.config.model import Position

    spec = make_spec(
        "csv",
        path=write(tmp_path, "a\n1\n"),
        encoding="klingon",
        positions={"encoding": Position(file="campaigns.yaml", line=24, column=15)},
    )
    with pytest.raises(SourceError) as info:
        list(iter_rows(spec))
    assert str(info.value) == "registrations: campaigns.yaml:24:15: unknown encoding 'klingon'"


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(tmp_path: Path, make_spec: MakeSpec) -> None:
    path = write(tmp_path, "email,note\n" + "x@example.com,some text here\n" * 300_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_rows(make_spec("csv", path=path)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 300_000
    assert peak < 500_000  # the file is 9 MB


def test_rows_stream(tmp_path: Path, make_spec: MakeSpec) -> None:
    # The first row arrives before the broken end of the file is read.
    path = write(tmp_path, "a\n" + "1\n" * 100_000 + '"open\n')
    stream = iter_rows(make_spec("csv", path=path))
    assert next(stream) == (2, {"a": "1"})
    with pytest.raises(SourceError, match="unterminated"):
        list(stream)


def test_iter_records_gives_cells_in_header_order(tmp_path: Path, make_spec: MakeSpec) -> None:
    from mktsync.sources import csv_

    path = write(tmp_path, "b,a\n1,2\n\n3,4\n")
    header, records = csv_.iter_records(make_spec("csv", path=path))
    assert header == ["b", "a"]
    assert list(records) == [(2, ["1", "2"]), (4, ["3", "4"])]
