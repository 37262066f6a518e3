"""Problem lists are capped per kind, with a count of the rest; distinct problems stay.

A kind is the field path with entry, token, field and column names as ``*``, and the
message with the entry's own name as ``*`` and numbers outside quotes as ``#``
(``errors.problem_kind``).  19,000 aliases of one broken campaign are one problem
repeated; two misspelt source names are two problems.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from mktsync.cli import main
from mktsync.errors import ConfigError, Problem, capped, problem_kind


def problem(path: str, message: str, line: int = 7, severity: str = "error") -> Problem:
    return Problem(
        file="campaigns.yaml",
        line=line,
        column=13,
        path=path,
        message=message,
        severity=severity,  # type: ignore[arg-type]
    )


def test_one_kind_shows_ten_then_counts_the_rest_at_the_first_left_out() -> None:
    many = [
        problem(f"campaigns.c{i:03}.source", "no source named 'nosuch' under 'sources'", line=i)
        for i in range(1, 101)
    ]
    shown = capped(reversed(many))
    assert [str(p) for p in shown[:10]] == [str(p) for p in many[:10]]  # in file order
    assert str(shown[10]) == (
        "campaigns.yaml:11:13: … and 90 more errors like this one "
        "(campaigns.*.source: no source named 'nosuch' under 'sources')"
    )
    assert len(shown) == 11


def test_distinct_problems_are_all_kept() -> None:
    names = [f"nosuch{i}" for i in range(30)]
    distinct = [
        problem(f"campaigns.c{i}.source", f"no source named '{name}' under 'sources'")
        for i, name in enumerate(names)
    ]
    assert capped(distinct) == sorted(distinct)


def test_numbers_outside_quotes_do_not_make_a_new_kind() -> None:
    counts = [
        problem(f"campaigns.c{i}.tokens", f"at most 100 entries (Marketo's limit), got {i}")
        for i in range(101, 131)
    ]
    shown = capped(counts)
    assert len(shown) == 11
    assert shown[-1].message == (
        "… and 20 more errors like this one (campaigns.*.tokens: at most 100 entries "
        "(Marketo's limit), got 111)"
    )
    assert problem_kind(counts[0]) == problem_kind(counts[-1])
    assert problem_kind(counts[0]) != problem_kind(
        problem("campaigns.c1.tokens", "at most 100 entries (Marketo's limit), got '101'")
    )


def test_warnings_and_errors_are_counted_apart() -> None:
    errors = [problem(f"campaigns.c{i}.key", "bad key", line=i) for i in range(12)]
    warnings = [
        problem(f"campaigns.c{i}.key", "bad key", line=i, severity="warning") for i in range(3)
    ]
    shown = capped(errors + warnings)
    assert sum(p.severity == "warning" for p in shown) == 3
    assert shown[-1].message == "… and 2 more errors like this one (campaigns.*.key: bad key)"


def test_config_error_caps_what_it_prints() -> None:
    many = [
        problem(f"campaigns.c{i}.source", "no source named 'x' under 'sources'") for i in range(50)
    ]
    error = ConfigError(many)
    assert len(error.problems) == 11
    assert len(error.lines()) == 11


def test_19000_aliases_of_a_broken_campaign_print_eleven_lines_a_kind(tmp_path: Path) -> None:
    head = "version: 1\nsources:\n  people: {type: csv, path: data/people.csv}\ncampaigns:\n"
    first = (
        '  c0: &c\n    campaign_id: 1\n    source: nosuch\n    lead: {email: "{{ row.email }}"}\n'
    )
    text = head + first + "".join(f"  c{i}: *c\n" for i in range(1, 19_001))
    (tmp_path / "campaigns.yaml").write_text(text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text("email\nada@example.com\n")
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(["validate"], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert code == 1
    # Three kinds: the unused source, the campaign id every alias repeats, the source.
    assert len(lines) == 1 + 11 + 11, lines
    assert lines[11] == (
        "campaigns.yaml:6:18: … and 18,990 more errors like this one (campaigns.*.campaign_id: "
        "campaign 'c0' already sends to campaign 1 with the same key; their ledger records "
        "would collide (give one of them another 'key'))"
    )
    assert lines[12] == (
        "campaigns.yaml:7:13: campaigns.c0.source: no source named 'nosuch' under 'sources'"
    )
    assert lines[-1] == (
        "campaigns.yaml:7:13: … and 18,991 more errors like this one "
        "(campaigns.*.source: no source named 'nosuch' under 'sources')"
    )
