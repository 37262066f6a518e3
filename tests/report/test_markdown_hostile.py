"""Hostile values from data, through a real CommonMark + GFM renderer: nothing but literal text.

The comment's own markup (the marker, <details>, <summary>, <sub>, <br>, <b>) is allowed;
no HTML element, image, link, autolink, mention or table column may come from the data.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from testing.project import LEAD_BY_EMAIL, csv_source, csv_text, write_project

from mktsync import plan_config
from mktsync.config import load_config
from mktsync.items import Item
from mktsync.ledger import open_ledger
from mktsync.render import iter_items
from mktsync.report import render_markdown
from mktsync.report.escape import VALUE_WIDTH, literal
from mktsync.report.markdown import COMMENT_LIMIT

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "a | b || c |",
    "`tick` `` double `` ```fence```",
    "`",
    "[click](javascript:alert(1))",
    "](javascript:alert(1))",
    "![pic](https://evil.example/p.png)",
    "<https://evil.example/auto>",
    "https://evil.example/bare and www.evil.example",
    "@octocat and @github/security please look",
    "**bold** _em_ ~~strike~~ # heading",
    "line one\nline two\n\n| x | y |\n|---|---|",
    "&lt;img src=x&gt; &amp; &#60;b&#62;",
    "<!-- mktsync-plan -->",
    "</details><details open><summary>fake</summary>",
    "\\`escaped\\` \\| \\<",
    "x" * 10_000,
]


OURS = re.compile(
    r"^(<!-- mktsync-plan -->|</?details>|<summary><b>[^<>]*</b>[^<>]*</summary>|</?sub>|<br>|</?b>)$"
)


def project(tmp_path: Path, retrigger: str, titles: list[str], link: str) -> Path:
    rows = [[f"user{n}@example.com", title, link] for n, title in enumerate(titles)]
    rows.append(["<img src=x>", "bad email", link])  # an invalid row with data in it
    reminder = {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "key": "{{ row.email }}/{{ row.title }}",
        "retrigger": retrigger,
        # Hostile rows that are not addresses must show as invalid rows too.
        "max_invalid": "100%",
        "tokens": {"my.Title": "{{ row.title }}", "my.Link": "{{ row.link }}"},
    }
    return write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder},
        files={"regs.csv": csv_text(rows, ["email", "title", "link"])},
    )


def render(text: str) -> list[Token]:
    md = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])
    return md.parse(text)


def walk(tokens: list[Token]) -> list[Token]:
    out = []
    for t in tokens:
        out.append(t)
        out += walk(t.children or [])
    return out


def check(text: str) -> None:
    tokens = walk(render(text))
    for t in tokens:
        assert t.type not in ("image", "link_open", "autolink"), t
        if t.type in ("html_block", "html_inline"):
            for line in t.content.strip("\n").split("\n"):
                assert OURS.match(line), f"HTML from data: {line[:120]!r}"
        if t.type == "text":  # mentions and bare URLs only ever inside code spans
            assert "@" not in t.content or "***@" in t.content, t.content
            assert "javascript:" not in t.content, t.content
    # Every table row has as many cells as its header: no '|' from data split a cell.
    rows: list[int] = []
    cells = 0
    for t in tokens:
        if t.type == "tr_open":
            cells = 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            rows.append(cells)
        elif t.type == "table_close":
            assert len(set(rows)) == 1, rows
            rows = []


@pytest.mark.parametrize("show_pii", [False, True])
def test_hostile_values_render_as_literal_text(tmp_path: Path, show_pii: bool) -> None:
    path = project(tmp_path, "on_change", HOSTILE, "https://example.com/ok")
    _, plan = plan_config(path)
    text = render_markdown(plan, show_pii=show_pii)
    assert len(text) <= COMMENT_LIMIT
    check(text)
    # The values are there, as code, cut to a sensible length.
    codes = [t.content for t in walk(render(text)) if t.type == "code_inline"]
    assert "<img src=x onerror=alert(1)>" in codes
    assert "a | b || c |" in codes
    assert "[click](javascript:alert(1))" in codes
    assert ("x" * (VALUE_WIDTH - 1) + "…") in codes
    assert not any("x" * (VALUE_WIDTH + 1) in c for c in codes)


def test_hostile_changed_and_retriggered_tokens(tmp_path: Path) -> None:
    for retrigger in ("never", "on_change"):
        path = project(tmp_path, retrigger, ["t1", "t2"], "https://example.com/old")
        config = load_config(path)
        items = [i for i in iter_items(config, config.campaigns["reminder"]) if isinstance(i, Item)]
        with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
            with ledger.lock(command="test"):
                run = ledger.start_run(command="test", config_digest="d", git_commit=None)
                ledger.mark_pending(run, items, lead_ids={i.key: 1 for i in items})
                ledger.mark_sent(run, 1234, [i.key for i in items], request_id="r")
        for link in HOSTILE:
            project(tmp_path, retrigger, ["t1", "t2"], link)
            _, plan = plan_config(path)
            assert plan.summary.changed + plan.summary.retrigger == 2
            text = render_markdown(plan, show_pii=True)
            check(text)
        (tmp_path / ".mktsync" / "ledger.db").unlink()


@pytest.mark.parametrize("value", HOSTILE)
def test_literal_round_trips_through_the_renderer(value: str) -> None:
    for cell in (False, True):
        span = literal(value, cell=cell)
        text = f"| a |\n|---|\n| {span} |\n" if cell else f"before {span} after\n"
        check(text)
        codes = [t.content for t in walk(render(text)) if t.type == "code_inline"]
        shown = re.sub(r"\r\n|\r|\n", "⏎", value)
        shown = shown if len(shown) <= VALUE_WIDTH else shown[: VALUE_WIDTH - 1] + "…"
        assert codes == [shown]


def test_text_plan_never_sends_control_characters_to_a_terminal(tmp_path: Path) -> None:
    from mktsync.report import render_text

    path = project(tmp_path, "on_change", ["\x1b]0;pwned\x07title\x1b[2J"], "x")
    text = render_text(plan_config(path)[1], color=True)
    assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text


def test_sample_rows_limits_rows_for_untrusted_plans(tmp_path: Path) -> None:
    from mktsync.report import REPORTERS, ReportOptions

    path = project(tmp_path, "on_change", [f"t{i}" for i in range(30)], "x")
    _, plan = plan_config(path)
    out = io.StringIO()
    REPORTERS["markdown"](plan, out, ReportOptions(sample_rows=2))
    rows = [line for line in out.getvalue().splitlines() if line.startswith("| + |")]
    assert len(rows) == 2
    text = out.getvalue()
    assert "More not shown: 28 new; the list below names every lead to email." in text
    # The who list still names every lead (issue 22: the reviewer sees who gets the
    # email), masked, each told apart by its row; the rows' values stay a sample.
    assert "<summary><b>Who gets the email</b>: 30 leads</summary>" in text
    assert text.count("`u***@example.com`") == 2
    named = re.findall(r"`u\*\*\*@example\.com \(regs row (\d+)\)`", text)
    assert sorted(map(int, named)) == list(range(2, 32))
    out = io.StringIO()
    REPORTERS["markdown"](plan, out, ReportOptions(sample_rows=0))
    assert "| + |" not in out.getvalue()
    assert "Rows not shown: 30 new; the full plan is in the job's artifact" in out.getvalue()
    assert "Who gets the email" not in out.getvalue()
