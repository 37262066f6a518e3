"""Building the command line loads no command's machinery (issue 16: fast start).

``mktsync --help`` and every command's parser must not import the config validator's
jsonschema, the HTTP client, Jinja, the executor or the emulator: CI runs ``validate``
and ``plan`` on every push, and ``apply --help`` should answer at once.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mktsync import cli
from mktsync.cli.options import Commands

HEAVY = ("jsonschema", "httpx", "jinja2", "yaml", "mktsync.apply", "mktsync.emulator")

PROBE = """
import json, sys
from mktsync.cli import build_parser
parser = build_parser()
parser.format_help()
parser.parse_args({argv!r})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {roots!r}
                        or m.startswith(("mktsync.apply", "mktsync.emulator")))))
"""


def loaded_after(argv: list[str]) -> set[str]:
    roots = sorted({m.split(".")[0] for m in HEAVY})
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, roots=roots)],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["validate"],
        ["plan", "--format", "json"],
        ["apply", "--yes"],
        ["schema"],
        ["ledger", "status"],
    ],
)
def test_building_and_parsing_loads_no_machinery(argv: list[str]) -> None:
    loaded = loaded_after(argv)
    assert not {m for m in loaded if m in HEAVY or m.startswith(HEAVY)}, sorted(loaded)


def test_the_probe_can_see_a_heavy_import() -> None:
    # The emulator command's options come from the emulator itself: choosing it loads it.
    assert "mktsync.emulator" in loaded_after(["emulator", "--port", "0"])


def test_help_lines_agree_with_each_command() -> None:
    """``mktsync --help`` lists the commands without loading them; its one-line help for
    each is the one the command's own module registers."""
    for name, line in cli.COMMANDS.items():
        parser = cli.build_parser()
        sub = next(a for a in parser._actions if isinstance(a, Commands))
        before = parser.format_help()
        sub.load(name)
        assert parser.format_help() == before, name
        assert [a.help for a in sub._choices_actions if a.dest == name] == [line]
