"""``--annotations`` and ``--code-quality`` of ``validate`` and ``plan``: their problems on
the pull request's diff (``report.annotations`` words them; this module only writes).

- GitHub: workflow commands, on by default when ``GITHUB_ACTIONS=true`` (``auto``), forced
  with ``--annotations github``, off with ``none``.  They go with the command's problems:
  ``validate``'s text output is its list of problems (stdout); ``plan``'s stdout is the
  plan itself (a Markdown comment, JSON), so its annotations go to stderr, where its
  errors and warnings are (GitHub's runner reads commands from both).  ``plan`` leaves
  the config's own warnings to ``validate`` (GitHub would show them twice), but its Code
  Quality report, which replaces validate's, holds them.
- GitLab: ``--code-quality FILE`` writes a Code Quality report, always (``[]`` when all
  is well), so the job's ``artifacts: reports: codequality:`` always has its file.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from mktsync.errors import Problem


def add_annotation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--annotations",
        choices=("auto", "github", "none"),
        default="auto",
        help="problems as GitHub Actions annotations on the pull request's diff "
        "(auto: when GITHUB_ACTIONS=true)",
    )
    p.add_argument(
        "--code-quality",
        type=Path,
        metavar="FILE",
        help="also write the problems as a GitLab Code Quality report (JSON) to FILE",
    )


def github_wanted(args: argparse.Namespace) -> bool:
    choice = getattr(args, "annotations", "none")
    return choice == "github" or (
        choice == "auto" and os.environ.get("GITHUB_ACTIONS", "").lower() == "true"
    )


def emit(
    args: argparse.Namespace,
    problems: Sequence[Problem],
    stream: TextIO,
    *,
    config: Path | None = None,
    github: bool | None = None,
    report: Sequence[Problem] | None = None,
) -> None:
    """Write ``problems`` as GitHub annotations to ``stream`` (if wanted; ``github``
    overrides ``--annotations``) and as a Code Quality report (if asked; ``report``, when
    given, is what the report holds instead).  ``config``: where GitLab puts a problem that
    names no file."""
    from mktsync.report.annotations import github_commands, repository_root, write_code_quality

    root = repository_root()
    if github_wanted(args) if github is None else github:
        stream.writelines(f"{line}\n" for line in github_commands(problems, root=root))
    if getattr(args, "code_quality", None):
        from mktsync.config import display_name

        fallback = display_name(config) if config is not None else ""
        path: Path = args.code_quality
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            listed = problems if report is None else report
            write_code_quality(f, listed, root=root, fallback=fallback)
