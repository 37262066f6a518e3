"""validate compares the columns templates read with the columns sources have."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from testing.project import LEAD_BY_EMAIL, Flow, csv_source, csv_text, flow, write_project

from mktsync.config import display_name
from mktsync.config.reads import as_condition, constant_when, fields_read, make_environment
from mktsync.sources.contract import validate_all

POOL = ["email", "status", "join_code", "JoinCode", "days_left", "id", "Zoë", "first name"]
MISSING = re.compile(r"column '([^']*)' is not in source")


def read(column: str, form: int) -> str:
    if form == 0 and column.isidentifier():
        return f"row.{column}"
    if form == 1:
        return f"row.get('{column}')"
    return f"row['{column}']"


@settings(max_examples=60, deadline=None)
@given(
    header=st.lists(st.sampled_from(POOL), unique=True, min_size=1),
    reads=st.lists(st.tuples(st.sampled_from(POOL), st.integers(0, 2)), min_size=1, max_size=5),
)
def test_missing_column_is_reported_iff_a_template_reads_a_column_the_header_lacks(
    header: list[str], reads: list[tuple[str, int]]
) -> None:
    tokens = {
        f"my.T{i}": f"x{{{{ {read(column, form)} }}}}" for i, (column, form) in enumerate(reads)
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = write_project(
            Path(tmp),
            name="c.yaml",
            sources={"s": csv_source("d.csv")},
            campaigns={
                "c": {"campaign_id": 1, "source": "s", "lead": flow(id="7"), "tokens": tokens}
            },
            files={"d.csv": csv_text([header])},
        )
        result = validate_all(path)
    reported = {m.group(1) for p in result.problems for m in [MISSING.search(p.message)] if m}
    assert reported == {column for column, _ in reads} - set(header)
    assert result.ok == (not reported)


def project(
    tmp_path: Path, source: dict[str, Any], when: str = "row.status == 'x'", token: str = ""
) -> Path:
    """Campaign ``c`` on source ``s``: problems are located on these lines (``when`` on 11
    after a three-line source)."""
    c = {
        "campaign_id": 1,
        "source": "s",
        "when": when,
        "lead": LEAD_BY_EMAIL,
        **({"tokens": Flow({"my.T": token})} if token else {}),
    }
    return write_project(tmp_path, sources={"s": source}, campaigns={"c": c})


def messages(path: Path) -> list[str]:
    return [str(p) for p in validate_all(path).problems]


def test_sqlite_columns_come_from_the_query_without_reading_rows(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "d.db") as db:
        db.execute("CREATE TABLE r (email TEXT, status TEXT)")
        db.executemany("INSERT INTO r VALUES (?, ?)", [("a@example.com", "x")] * 1000)
    source = {
        "type": "sql",
        "url": "sqlite:///d.db",
        "query": "SELECT email, status AS state FROM r;",
    }
    path = project(tmp_path, source)
    (problem,) = messages(path)
    assert problem.endswith(
        "campaigns.c.when: column 'status' is not in source 's' (the query: email, state); "
        "did you mean 'state'?"
    )
    assert problem.startswith(f"{display_name(path)}:11:11: ")


def test_a_broken_query_is_located_at_the_query(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "d.db").close()
    source = {"type": "sql", "url": "sqlite:///d.db", "query": "SELECT nope FROM nowhere"}
    (problem,) = messages(project(tmp_path, source))
    assert ":6:12: sources.s.query: query failed: no such table: nowhere" in problem


def test_a_sql_source_needing_a_secret_is_not_opened(tmp_path: Path) -> None:
    source = {"type": "sql", "url": "${MKTSYNC_WAREHOUSE_URL}", "query": "SELECT 1"}
    assert messages(project(tmp_path, source)) == []


def test_declared_jsonl_columns_and_did_you_mean_ignores_case(tmp_path: Path) -> None:
    source = {"type": "jsonl", "path": "d.jsonl", "columns": flow(Email="email", Status="string")}
    (tmp_path / "d.jsonl").write_text("")
    problems = messages(project(tmp_path, source))
    assert [p.split(": ", 2)[2] for p in problems] == [
        "column 'status' is not in source 's' (declared columns: Email, Status); did you mean 'Status'?",
        "column 'email' is not in source 's' (declared columns: Email, Status); did you mean 'Email'?",
    ]


def test_undeclared_json_columns_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text("[]")
    assert messages(project(tmp_path, {"type": "json", "path": "d.json"})) == []


def test_a_missing_file_is_only_the_existing_warning(tmp_path: Path) -> None:
    problems = messages(project(tmp_path, {"type": "csv", "path": "later.csv"}))
    assert len(problems) == 1
    assert "warning: file 'later.csv' does not exist (yet)" in problems[0]


def test_number_comparison_warns_only_for_untyped_csv_cells(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("email,n\na@example.com,3\n")
    plain = {"type": "csv", "path": "d.csv"}
    (warning,) = messages(project(tmp_path, plain, when="row.n >= 3"))
    assert "warning: row.n is text (a CSV cell), so comparing it with the number 3" in warning
    typed = {**plain, "columns": flow(email="email", n="integer")}
    assert messages(project(tmp_path, typed, when="row.n >= 3")) == []
    assert messages(project(tmp_path, plain, when="row.n == '3'")) == []


def test_the_header_is_all_validate_reads(tmp_path: Path) -> None:
    # a broken record far below the header is plan's business, not validate's
    (tmp_path / "d.csv").write_text(
        "email,status\n" + "a@example.com,x\n" * 100 + '"unterminated\n'
    )
    assert messages(project(tmp_path, {"type": "csv", "path": "d.csv"})) == []


def test_fields_read_and_their_lines() -> None:
    tree = make_environment().parse(
        "{{ row.a }}\n{{ row['b c'] }}{{ row.get('d', 1) }}\n{{ row.items() }}"
    )
    assert [(r.column, r.line) for r in fields_read(tree)] == [("a", 1), ("b c", 2), ("d", 2)]


def test_constant_when_shapes() -> None:
    env = make_environment()

    def why(text: str) -> str | None:
        return constant_when(env.parse(as_condition(text)), text)

    assert why("row.status == 'x'") is None
    assert why("row[name] == 'x'") is None  # dynamic: depends on the row
    assert why("{% if row.a %}yes{% endif %}") is None
    for constant in (
        "true",
        "0",
        "'registered'",
        "registered",
        "now.year > 2000",
        "row",
        "{{ 1 }}",
    ):
        assert why(constant) is not None, constant
    assert "outside" in str(why("x {{ row.a }}"))
