"""Nothing invisible passes through a plan or a report: bidi controls and zero-width
characters are shown escaped (``\\u202e``) in text and Markdown, and sent unchanged.

A value with U+202E (RIGHT-TO-LEFT OVERRIDE) displays reversed; one with U+200B (ZERO WIDTH
SPACE) looks like another value.  A reviewer must see them, so every text and Markdown
writer shows them escaped; the JSON plan (what is sent) keeps the true value, byte for byte.
"""

from __future__ import annotations

import io
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, csv_text, write_project
from testing.seed import serve_project

from mktsync import plan_config
from mktsync.apply.result import ApplyReport, ScheduleReport
from mktsync.cli import main
from mktsync.cli.progress import Progress
from mktsync.errors import hidden, one_line
from mktsync.report.escape import VALUE_WIDTH, html_text, literal, visible
from mktsync.report.outcome import render_apply_markdown, render_apply_text

RLO, ZWSP = "\u202e", "\u200b"
EMAIL = f"ann{RLO}{ZWSP}@example.com"  # a plausible address to the renderer: it is a lead
WEBINAR = f"w{RLO}{ZWSP}1"
TITLE = f"Git for Ops{RLO}{ZWSP}"
SHOWN = {
    EMAIL: "ann\\u202e\\u200b@example.com",
    WEBINAR: "w\\u202e\\u200b1",
    TITLE: "Git for Ops\\u202e\\u200b",
}

REMINDER = {
    "campaign_id": 1234,
    "source": "regs",
    "lead": LEAD_BY_EMAIL,
    "key": "{{ row.email }}/{{ row.webinar }}",
    "retrigger": "on_change",
    "tokens": {"my.Title": "{{ row.title }}"},
}


def project(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    return write_project(
        tmp_path,
        marketo=MARKETO_FROM_ENV,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": REMINDER},
        files={"regs.csv": csv_text(rows, ["email", "webinar", "title"])},
    )


def cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, emu: Any = None) -> tuple[int, str, str]:
    if emu is not None:
        monkeypatch.setenv("MARKETO_BASE_URL", emu.base_url)
        monkeypatch.setenv("MARKETO_CLIENT_ID", emu.client_id)
        monkeypatch.setenv("MARKETO_CLIENT_SECRET", emu.client_secret)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def nothing_hidden(text: str) -> None:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the reporter's own colours (--color always)
    found = sorted({f"U+{ord(c):04X}" for c in text if hidden(c) and c != "\n"})
    assert not found, f"shown unescaped: {found}"


def walk(tokens: list[Token]) -> list[Token]:
    out = []
    for t in tokens:
        out.append(t)
        out += walk(t.children or [])
    return out


def codes(markdown: str) -> list[str]:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return [t.content for t in walk(md.parse(markdown)) if t.type == "code_inline"]


def test_hostile_token_lead_and_key_are_escaped_in_text_and_markdown_and_true_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [(EMAIL, WEBINAR, "Old title")])
    argv = ["apply", str(path), "--record-only", "--why", "sent by hand", "--yes"]
    code, out, err = cli(argv, monkeypatch)
    assert code == 0, out + err
    project(tmp_path, [(EMAIL, WEBINAR, TITLE)])  # the title changes: '~ retrigger'
    key = f"{EMAIL}/{WEBINAR}"
    shown_key = f"{SHOWN[EMAIL]}/{SHOWN[WEBINAR]}"

    for color in ("never", "always"):
        code, out, err = cli(["plan", str(path), "--color", color], monkeypatch)
        assert code == 0, err
        nothing_hidden(out + err)
        assert f"~ {shown_key}" in out
        assert f"{{{{my.Title}}}}: Old title → {SHOWN[TITLE]}" in out

    code, out, err = cli(["plan", str(path), "--format", "markdown", "--show-pii"], monkeypatch)
    assert code == 0, err
    nothing_hidden(out)
    spans = codes(out)
    assert SHOWN[EMAIL] in spans and shown_key in spans and SHOWN[TITLE] in spans
    code, out, err = cli(["plan", str(path), "--format", "markdown"], monkeypatch)
    nothing_hidden(out)  # masked or not, nothing hidden

    # What is sent keeps the true values: the JSON plan, and the plan file byte for byte.
    code, out, err = cli(["plan", str(path), "--format", "json"], monkeypatch)
    (call,) = json.loads(out)["campaigns"][0]["calls"]
    assert call["tokens"] == {"{{my.Title}}": TITLE}
    (lead,) = call["leads"]
    assert (lead["email"], lead["key"], lead["old_tokens"]) == (
        EMAIL,
        key,
        {"{{my.Title}}": "Old title"},
    )
    saved = tmp_path / "plan.json"
    cli(["plan", str(path), "--out", str(saved)], monkeypatch)
    data = saved.read_bytes()
    assert RLO.encode() in data and ZWSP.encode() in data and b"\\u202e" not in data
    assert data.decode("utf-8") == out


def test_apply_report_and_its_markdown_show_a_hostile_missing_lead_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("bob@example.com", "w1", "Title")])
    summary = tmp_path / "summary.md"
    with serve_project(path) as emu:
        project(tmp_path, [("bob@example.com", "w1", "Title"), (EMAIL, WEBINAR, TITLE)])
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        code, out, err = cli(["apply", str(path), "--yes"], monkeypatch, emu)
    assert code == 3, out + err  # Marketo does not know the lead: a missing lead
    nothing_hidden(out + err)
    assert f"? missing lead: regs row 3: {SHOWN[EMAIL]}" in out
    assert f"key {SHOWN[EMAIL]}/{SHOWN[WEBINAR]}" in out
    nothing_hidden(summary.read_text(encoding="utf-8"))  # it names source and row, no email

    # A value the apply Markdown does show: a batch run still scheduled, by its key.
    _, plan = plan_config(path)
    report = ApplyReport(run_id=1, plan=plan, campaigns=[])
    report.schedules.append(ScheduleReport(name="blast", campaign_id=3001, orphaned=[TITLE]))
    for shown in (render_apply_markdown(report), render_apply_text(report)):
        nothing_hidden(shown)
        assert SHOWN[TITLE] in shown
    assert SHOWN[TITLE] in codes(render_apply_markdown(report))


def test_progress_lines_show_what_marketo_or_the_data_said_escaped() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=False, every=0)
    progress({"event": "preflight_failed", "campaign_id": 1234, "reason": f"no token {TITLE}"})
    progress({"event": "call", "campaign_id": 1234, "outcome": "failed", "code": "1003",
              "reason": f"bad value {RLO}\x1b[2J", "done": 1, "total": 1, "elapsed": 1.0})  # fmt: skip
    text = stream.getvalue()
    nothing_hidden(text)
    assert f"no token {SHOWN[TITLE]}" in text
    assert "bad value \\u202e\\x1b[2J" in text


# -- the rule itself ----------------------------------------------------------------------
NAMED = [
    *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
    0x200E,
    0x200F,
    0x061C,  # LRM, RLM, ALM
    *range(0x200B, 0x200E),  # ZWSP, ZWNJ, ZWJ
    0x2060,
    0xFEFF,  # word joiner, BOM
    0x00AD,
    0x034F,
    0x115F,
    0x3164,
    0xFE0F,
    0xE0041,
    0xE0100,  # soft hyphen, CGJ, fillers, variation selectors, a tag
]


@pytest.mark.parametrize("point", NAMED, ids=lambda p: f"U+{p:04X}")
def test_each_named_character_is_shown_as_its_escape(point: int) -> None:
    char = chr(point)
    if point <= 0xFF:
        expected = f"\\x{point:02x}"
    else:
        expected = f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"
    assert one_line(f"a{char}b") == f"a{expected}b"
    assert literal(f"a{char}b") == f"`a{expected}b`"


def test_every_format_character_is_escaped() -> None:
    format_chars = [
        chr(p) for p in range(sys.maxunicode + 1) if unicodedata.category(chr(p)) == "Cf"
    ]
    assert len(format_chars) > 150
    for char in format_chars:
        assert one_line(char).isascii(), f"U+{ord(char):04X}"


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(categories=["Cf"]),
        st.characters(exclude_characters="\\"),
    ),
    max_size=60,
)
_ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[ntr])")


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_no_format_character_survives_any_writer(text: str) -> None:
    for shown in (one_line(text), literal(text), html_text(text), visible(text)):
        assert not any(unicodedata.category(c) == "Cf" for c in shown), ascii(shown)
    # Only hidden characters change, each into its escape, in place: the rest reads as it was.
    shown = one_line(text)
    assert _ESCAPE.sub("", shown) == "".join(c for c in text if not hidden(c))
    assert one_line(shown) == shown


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_a_code_span_shows_the_escaped_value_through_a_real_renderer(text: str) -> None:
    spans = codes(f"before {literal(text)} after\n")
    assert len(spans) == 1
    nothing_hidden(spans[0])
    plain = "\r" not in text and "\n" not in text and not any(c in text for c in "\u2028\u2029")
    if plain and text.strip(" ") and len(one_line(text)) <= VALUE_WIDTH:
        assert spans[0].strip(" ") == one_line(text).strip(" ")
