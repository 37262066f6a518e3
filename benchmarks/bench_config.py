"""Benchmark: adversarial ``campaigns.yaml`` files under 1 MB against ``validate`` (issue 25.3).

    python benchmarks/bench_config.py [--shapes a,b] [--target 5] [--plan] [--code DIR]
                                      [--timeout 900]

Writes each shape below to its own temp folder (with ``data/people.csv``, two rows) and
times ``python -m mktsync validate`` on it in a child process (interpreter start
included), then ``plan`` with ``--plan``.  Each file is under 1 MB; the target is that
each validates in under ``--target`` seconds (issue 25: "any config under 1 MB
validates in under 5 s on 2 cores").  ``--code DIR`` puts DIR first on the child's
``PYTHONPATH``, to measure another checkout's code (``main``'s, before a change) with the
same files.  Exits 1 when a target is missed or a run ends with a traceback or
"internal error".

Shapes:

- ``alias-500k-x2000``: one 500 KB template (a paragraph with one expression, 1,008
  times) anchored in the first campaign and aliased by 2,000 campaigns: the issue's
  736 KB file, about 1 GB of text once expanded;
- ``alias-30k-x2000``: the same with a 30 KB template, 60 MB expanded: under the bound
  on expanded text, so it is valid and has to be cheap;
- ``campaigns-x60000``: one campaign (with a wrong source) aliased 60,000 times: 720,000
  values added by aliases, over the bound of 250,000;
- ``campaigns-x19000``: the same aliased 19,000 times (247,000 values added): 19,001
  errors, ten shown and the rest counted;
- ``merges-deep``: 340 campaigns, each merging (``<<:``) the first one, and its tokens
  merging the previous campaign's tokens and adding one: 57,970 tokens once merged;
- ``tokens-shared``: 1,240 campaigns sharing one mapping of 100 tokens by alias
  (247,800 values added, just under the bound): 124,000 token templates to check;
- ``flow-long``: an inline source whose rows are one flow sequence of 23,000 mappings,
  and a campaign over it;
- ``flow-tiny``: the same with 124,900 one-cell rows (``{e: 1}``): 374,700 values
  written in 1 MB;
- ``templates-distinct``: 900 campaigns with a distinct 900-byte template each (a
  loop, a ``set``, filters: shapes Jinja must compile);
- ``templates-small``: 7,000 campaigns with a distinct short template each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HEAD = """\
version: 1
sources:
  people: {type: csv, path: data/people.csv}
campaigns:
"""
PEOPLE = "email,name\nada@example.com,ada lovelace\nbob@example.com,bob\n"
PARAGRAPH = "<p>Dear {{ row.name | title }}, " + "lorem ipsum dolor sit amet " * 17 + "</p>\n"


def _campaign(name: str, number: int, tokens: str = "", source: str = "people") -> str:
    text = (
        f"  {name}:\n    campaign_id: {number}\n    source: {source}\n"
        '    lead: {email: "{{ row.email }}"}\n'
    )
    return text + (f"    tokens:\n{tokens}" if tokens else "")


def aliased_template(size: int, count: int = 2000) -> str:
    body = PARAGRAPH * (size // len(PARAGRAPH))
    # A literal block: the template's text as written, no escaping needed.
    block = "".join(f"        {line}\n" for line in body.splitlines())
    parts = [HEAD, _campaign("c0", 1, f"      my.Body: &body |\n{block}")]
    for i in range(1, count + 1):
        parts.append(f"  c{i}:\n    campaign_id: {i + 1}\n    source: people\n")
        parts.append('    lead: {email: "{{ row.email }}"}\n    tokens: {my.Body: *body}\n')
    return "".join(parts)


def aliased_campaigns(count: int = 60_000, source: str = "nosuch") -> str:
    first = _campaign("c0", 1, '      my.Name: "{{ row.name | title }}"\n', source)
    first = first.replace("  c0:\n", "  c0: &c\n", 1)
    return HEAD + first + "".join(f"  c{i}: *c\n" for i in range(1, count + 1))


def deep_merges(depth: int = 340) -> str:
    parts = [HEAD, "  c0: &c0\n    campaign_id: 1\n    source: people\n"]
    parts.append('    lead: {email: "{{ row.email }}"}\n')
    parts.append('    tokens: &t0 {my.T0: "{{ row.name }} 0"}\n')
    for i in range(1, depth):
        parts.append(f"  c{i}:\n    <<: *c0\n    campaign_id: {i + 1}\n")
        parts.append(f'    tokens: &t{i} {{<<: *t{i - 1}, my.T{i}: "{{{{ row.name }}}} {i}"}}\n')
    return "".join(parts)


def shared_tokens(count: int = 1240) -> str:
    tokens = "".join(f'      my.T{j}: "{{{{ row.name }}}} {j}"\n' for j in range(100))
    parts = [HEAD, _campaign("c0", 1, tokens).replace("    tokens:\n", "    tokens: &t\n")]
    for i in range(1, count):
        parts.append(f"  c{i}:\n    campaign_id: {i + 1}\n    source: people\n")
        parts.append('    lead: {email: "{{ row.email }}"}\n    tokens: *t\n')
    return "".join(parts)


def long_flow(rows: int = 23_000, row: str = "{{email: p{i}@example.com, name: P{i}}}") -> str:
    flow = ", ".join(row.format(i=i) for i in range(rows))
    column = row.strip("{").split(":")[0]
    campaign = _campaign("c0", 1, f'      my.Name: "{{{{ row.{column} }}}}"\n', "inline")
    return (
        "version: 1\nsources:\n"
        f"  inline:\n    type: inline\n    rows: [{flow}]\n"
        "campaigns:\n" + campaign.replace("row.email", f"row.{column}")
    )


def distinct_templates(count: int = 900) -> str:
    parts = [HEAD]
    for i in range(count):
        template = (
            f"{{% set greeting = 'Hello {i}' %}}{{{{ greeting }}}} "
            f"{{% for word in row.name.split() %}}{{{{ word | title }}}}"
            f"{{% if not loop.last %}} {{% endif %}}{{% endfor %}}, "
            + f"campaign {i}: "
            + "dolor sit amet " * 50
            + f"{{{{ row.email | lower | replace('@', ' at ') }}}} {i}"
        )
        parts.append(_campaign(f"c{i}", i + 1, f"      my.Body: {template!r}\n"))
    return "".join(parts)


def small_templates(count: int = 7_000) -> str:
    parts = [HEAD]
    for i in range(count):
        parts.append(_campaign(f"c{i}", i + 1, f'      my.N: "{{{{ row.name }}}} {i}"\n'))
    return "".join(parts)


SHAPES: dict[str, Callable[[], str]] = {
    "alias-500k-x2000": lambda: aliased_template(500_000),
    "alias-30k-x2000": lambda: aliased_template(30_000),
    "campaigns-x60000": lambda: aliased_campaigns(60_000),
    "campaigns-x19000": lambda: aliased_campaigns(19_000),
    "merges-deep": deep_merges,
    "tokens-shared": shared_tokens,
    "flow-long": long_flow,
    "flow-tiny": lambda: long_flow(124_900, "{{e: 1}}"),
    "templates-distinct": distinct_templates,
    "templates-small": small_templates,
}


def run(folder: Path, argv: list[str], code: str | None, timeout: float) -> tuple[float, str]:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mktsync", *argv],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, f"timeout: stopped after {timeout:g} s"
    seconds = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    lines = text.splitlines()
    tail = lines[-1] if lines else ""
    broken = "Traceback" in text or "internal error" in text
    summary = f"exit {proc.returncode}, {len(lines):,} lines; last: {tail[:150]}"
    return seconds, ("BROKEN " if broken else "") + summary


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--target", type=float, default=5.0, help="seconds per validate")
    parser.add_argument("--plan", action="store_true", help="time plan as well (no target)")
    parser.add_argument("--code", help="a checkout whose code to run (PYTHONPATH)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    missed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.shapes.split(","):
            folder = Path(tmp) / name
            (folder / "data").mkdir(parents=True)
            (folder / "data" / "people.csv").write_text(PEOPLE)
            text = SHAPES[name]()
            (folder / "campaigns.yaml").write_text(text)
            size = len(text.encode())
            assert size < 1_000_000, (name, size)
            seconds, outcome = run(folder, ["validate"], args.code, args.timeout)
            ok = seconds < args.target and not outcome.startswith(("BROKEN", "timeout"))
            missed += not ok
            print(f"{name:24} {size / 1000:7.1f} KB  validate {seconds:7.2f} s  {outcome}")
            print(
                f"target {name} validate < {args.target:g} s: "
                f"{seconds:.2f} {'met' if ok else 'MISSED'}"
            )
            if args.plan:
                seconds, outcome = run(folder, ["plan"], args.code, args.timeout)
                print(f"{name:24} {'':10}  plan     {seconds:7.2f} s  {outcome}")
            sys.stdout.flush()
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
