"""Problems shown where the reviewer reads the change: on the pull request's diff.

One list of located problems (``errors.Problem``: file, line, column, field path, message,
severity), two writers:

- **GitHub Actions workflow commands**, one line each: ``::error file=campaigns.yaml,
  line=14,col=7,title=mktsync campaigns.x.lead::'email' or 'id' is required`` (and
  ``::warning``).  The runner turns each into an annotation on that line of the pull
  request's diff ("Workflow commands for GitHub Actions": "these commands are then sent
  to the runner over stdout"; the runner reads stderr the same way, through the same
  command manager: actions/runner ``Runner.Worker/Handlers/ScriptHandler.cs``).  GitHub
  shows 10 error and 10 warning annotations per step and drops the rest, so past 9 of a
  severity the 10th says how many more the log holds.
- **GitLab's Code Quality report**: a JSON array of ``{"description", "check_name",
  "fingerprint", "severity", "location": {"path", "lines": {"begin"}}}`` (GitLab docs,
  "Code Quality", "Code Quality report format"), uploaded as ``artifacts: reports:
  codequality:``; GitLab shows it in the merge request's widget and on its diff.

Paths are relative to the repository root (``GITHUB_WORKSPACE``, ``CI_PROJECT_DIR``, else
the working directory), as both expect; a problem's file is relative to the working
directory (``config.display_name``).

Values come from strangers' pull requests, so nothing in them may become a second
command.  A message goes through ``errors.one_line`` (no line break, control character
or workflow-command opener is left raw) and is then escaped as GitHub's toolkit escapes
command data (``%`` -> ``%25``, ``\\r`` -> ``%0D``, ``\\n`` -> ``%0A``); a property (file,
title) also gets ``:`` -> ``%3A`` and ``,`` -> ``%2C`` (actions/toolkit
``packages/core/src/command.ts``: ``escapeData``, ``escapeProperty``; the runner
unescapes the same set: ``Runner.Common/ActionCommand.cs``).  So one problem is one line,
its properties end where the runner expects, and its text cannot start a command.

>>> p = Problem(file="campaigns.yaml", line=3, column=5, path="campaigns.x", message="50%: bad")
>>> github_command(p, root=".")
'::error file=campaigns.yaml,line=3,col=5,title=mktsync campaigns.x::50%25: bad'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import IO, Any

from mktsync.config.model import Config
from mktsync.errors import (
    ConfigError,
    PlanError,
    Problem,
    Severity,
    SourceError,
    one_line,
    problem_kind,
    shown_personal,
)
from mktsync.items import InvalidItem
from mktsync.plan import Plan

SHOWN_PER_SEVERITY = 10  # GitHub keeps 10 error and 10 warning annotations per step
CODE_QUALITY_MAX = 1_000  # entries in a Code Quality report, then one counting the rest
# Where a source's row number is a line of a file (each module's docstring says what its
# row number is): a CSV's physical line, a JSON Lines line, an inline row's YAML line.
# A JSON array's index and a query's row are no line of anything.
_ROW_IS_LINE = frozenset({"csv", "jsonl"})
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
_LOCATION = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<column>\d+))?$")


def repository_root(environ: Mapping[str, str] | None = None) -> str:
    """The folder annotation paths are relative to: the checkout GitHub or GitLab made."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_WORKSPACE") or env.get("CI_PROJECT_DIR") or os.getcwd()


def repository_path(file: str, root: str) -> str:
    """``file`` (relative to the working directory, or absolute) relative to ``root``, with
    ``/`` separators; as given when it lies outside ``root``."""
    if not file:
        return file
    absolute = os.path.abspath(file)
    try:
        relative = os.path.relpath(absolute, os.path.abspath(root))
    except ValueError:  # another drive on Windows
        return PurePath(file).as_posix()
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return PurePath(file).as_posix()
    return PurePath(relative).as_posix()


def escape_data(text: str) -> str:
    """A command's message: shown as ``one_line`` shows it, then GitHub's data escapes;
    a personal value still marked is masked (a CI log is as public as the comment)."""
    return (
        one_line(shown_personal(text, show_pii=False))
        .replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
    )


def escape_property(text: str) -> str:
    """A command's property value (file, title): the data escapes, and ``:`` and ``,``,
    which would end the value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _title(problem: Problem) -> str:
    return f"mktsync {problem.path}" if problem.path else "mktsync"


def github_command(problem: Problem, *, root: str) -> str:
    """One problem as an ``::error`` or ``::warning`` workflow command (module doc)."""
    props = []
    if problem.file:
        props.append(f"file={escape_property(repository_path(problem.file, root))}")
        if problem.line > 0:
            props.append(f"line={problem.line}")
            if problem.column > 0:
                props.append(f"col={problem.column}")
    props.append(f"title={escape_property(_title(problem))}")
    return f"::{problem.severity} {','.join(props)}::{escape_data(problem.message)}"


def github_commands(problems: Iterable[Problem], *, root: str) -> list[str]:
    """Errors first, then warnings, at most ``SHOWN_PER_SEVERITY`` of each: past that the
    last one counts the rest, which GitHub would drop without a word."""
    listed = list(problems)
    lines: list[str] = []
    for severity in SEVERITIES:
        of = [p for p in listed if p.severity == severity]
        if len(of) > SHOWN_PER_SEVERITY:
            rest = len(of) - (SHOWN_PER_SEVERITY - 1)
            noun = severity if rest == 1 else f"{severity}s"
            more = f"{rest:,} more {noun} not annotated (GitHub shows {SHOWN_PER_SEVERITY} a step)"
            of = [
                *of[: SHOWN_PER_SEVERITY - 1],
                _note(f"{more}: the step's log lists every one", severity),
            ]
        lines += [github_command(p, root=root) for p in of]
    return lines


def code_quality(
    problems: Iterable[Problem], *, root: str, fallback: str = ""
) -> list[dict[str, Any]]:
    """The problems as a GitLab Code Quality report (module doc).  GitLab needs a path
    for every entry: a problem with no file is put on line 1 of ``fallback`` (the config).
    Past ``CODE_QUALITY_MAX`` entries, one more counts the rest."""
    listed = list(problems)
    if len(listed) > CODE_QUALITY_MAX:
        rest = len(listed) - CODE_QUALITY_MAX
        more = f"{rest:,} more problems not in this report: the job's log lists every one"
        listed = [*listed[:CODE_QUALITY_MAX], _note(more, "warning")]
    entries = []
    for problem in listed:
        path = repository_path(problem.file or fallback, root)
        line = max(problem.line, 1)
        kind = problem_kind(problem)[2]  # the field path with names as *: one check each
        check = f"mktsync {kind}" if kind else "mktsync"
        message = shown_personal(problem.message, show_pii=False)  # unless resolved before
        text = f"{problem.path}: {message}" if problem.path else message
        # The same problem at the same place keeps its fingerprint from run to run, so
        # GitLab can tell a new finding from one the target branch has too.
        identity = "\0".join((check, path, str(line), problem.path, message))
        entries.append(
            {
                "description": one_line(text),
                "check_name": check,
                "fingerprint": hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()[:32],
                "severity": "major" if problem.severity == "error" else "minor",
                "location": {"path": path, "lines": {"begin": line}},
            }
        )
    return entries


def write_code_quality(
    out: IO[str], problems: Iterable[Problem], *, root: str, fallback: str = ""
) -> None:
    """The report as GitLab reads it (``artifacts: reports: codequality:``)."""
    entries = code_quality(problems, root=root, fallback=fallback)
    json.dump(entries, out, indent=2, ensure_ascii=False)
    out.write("\n")


def invalid_problems(
    config: Config,
    invalid: Iterable[InvalidItem],
    *,
    severity: Severity = "warning",
    show_pii: bool = False,
) -> list[Problem]:
    """Invalid rows located in their data file, where a row is a line of one: a CSV or
    JSON Lines file, or inline rows in the config; other rows are in the plan only.
    A personal value a reason quotes is masked unless ``show_pii``, as in the plan."""
    out = []
    for item in invalid:
        spec = config.sources.get(item.source)
        if spec is None:
            continue
        if spec.type in _ROW_IS_LINE and "path" in spec.options:
            file = _shown_path(spec.path())
        elif spec.type == "inline":
            file = _shown_path(config.path)
        else:
            continue
        out.append(
            Problem(
                file=file,
                line=item.row,
                column=0,
                path=f"campaigns.{item.campaign}",
                message=shown_personal(
                    f"invalid row of source '{item.source}': {item.reason}", show_pii=show_pii
                ),
                severity=severity,
            )
        )
    return out


def plan_problems(
    config: Config,
    plan: Plan,
    notes: Sequence[str] = (),
    *,
    config_warnings: bool = True,
    show_pii: bool = False,
) -> list[Problem]:
    """What a plan that was made has to annotate: the config's warnings (unless
    ``config_warnings`` is false: ``validate`` annotates those), the invalid rows
    ``max_invalid`` let through (warnings: the plan goes on without them), and ``notes``
    (the plan's ``warning:`` lines, which name no line of a file)."""
    problems = list(config.warnings) if config_warnings else []
    for cp in plan.campaigns:
        # Only the first few can be shown; reading a spilled list to its end is not needed.
        shown = cp.invalid[: SHOWN_PER_SEVERITY * 2]
        problems += invalid_problems(config, shown, show_pii=show_pii)
    problems += [_note(line.removeprefix("warning: "), "warning") for line in notes]
    return problems


def error_problems(
    error: Exception, config: Config | None = None, *, show_pii: bool = False
) -> list[Problem]:
    """The located problems behind an error: a config's (``ConfigError``), a source read
    at a line (``SourceError``), too many invalid rows (``PlanError.invalid``, located with
    ``config``); any other error is one problem, at the place its message starts with
    (``campaigns.yaml:12:3: ...``) or with no file."""
    if isinstance(error, ConfigError):
        return list(error.problems)
    if isinstance(error, SourceError):
        found = _LOCATION.match(error.location)
        if found:
            return [
                Problem(
                    file=found["file"],
                    line=int(found["line"]),
                    column=int(found["column"] or 0),
                    path=f"sources.{error.source}",
                    message=error.message,
                )
            ]
    first = str(error).split("\n", 1)[0]
    where, _, rest = first.partition(": ")
    found = _LOCATION.match(where) if rest else None
    if found:  # a campaign's own position: "campaigns.yaml:12:3: campaigns.x: ..."
        line, column = int(found["line"]), int(found["column"] or 0)
        head = Problem(file=found["file"], line=line, column=column, path="", message=rest)
    else:
        head = _note(first, "error")
    if not isinstance(error, PlanError) or config is None:
        return [head]
    rows = [i for i in error.invalid if isinstance(i, InvalidItem)]
    return [head, *invalid_problems(config, rows, severity="error", show_pii=show_pii)]


def _note(message: str, severity: Severity) -> Problem:
    """A problem of no file: GitHub shows it on the run, GitLab on the config's line 1."""
    return Problem(file="", line=0, column=0, path="", message=message, severity=severity)


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
