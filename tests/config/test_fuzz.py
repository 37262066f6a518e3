"""Random and mutated YAML never produces a traceback, only located problems."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mktsync.cli import main

REPO = Path(__file__).resolve().parents[2]
SEEDS = [(REPO / "campaigns.yaml").read_text(encoding="utf-8")] + [
    p.read_text(encoding="utf-8", errors="replace")
    for p in sorted((REPO / "tests" / "configs" / "invalid").glob("*.yaml"))[:8]
]
LINE = re.compile(r"^campaigns\.yaml(:\d+:\d+)?: .+$")
YAML_BITS = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        ":",
        "- ",
        "\n",
        "  ",
        "\t",
        "'",
        '"',
        "&a ",
        "*a",
        "{{",
        "}}",
        "#",
        "|",
        ">",
        "!!python/object:os.system",
        "~",
        "null",
        "1e9",
        "-1",
        "version: 1",
        "campaign_id: x",
        "\x00",
        "é",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "dup-line"]))
        if action == "insert":
            text = text[:pos] + draw(st.one_of(YAML_BITS, st.text(max_size=5))) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 30)) :]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
            text = "".join(lines)
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["version", "sources", "campaigns", "lead", "type", "x"])
            | st.text(max_size=6),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "campaigns.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        out, err = io.StringIO(), io.StringIO()
        import os

        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            code = main(["validate", "campaigns.yaml"], stdout=out, stderr=err)
        finally:
            os.chdir(cwd)
    assert code in (0, 1), (code, err.getvalue())
    assert "internal error" not in err.getvalue()
    assert "Traceback" not in out.getvalue() + err.getvalue()
    for line in out.getvalue().splitlines():
        assert line.startswith("ok: ") or LINE.match(line), line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_configs_give_located_problems(text: str) -> None:
    check(text)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_random_documents_give_located_problems(value: object) -> None:
    check(yaml.safe_dump(value, allow_unicode=True))
