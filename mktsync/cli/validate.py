"""``mktsync validate``: schema and semantic checks, every problem located, no secrets needed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mktsync.cli.annotate import add_annotation_options, emit, github_wanted
from mktsync.cli.options import (
    Subparsers,
    add_environment,
    add_policy,
    environment_of,
    find_config,
    output_of,
    policy_from,
)
from mktsync.errors import EXIT_ERROR, EXIT_OK

if TYPE_CHECKING:
    from mktsync.config import Config, ValidationResult


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("validate", help="check campaigns.yaml: schema, templates, references")
    p.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="config files (default: $MKTSYNC_CONFIG, else campaigns.yaml, else campaigns.yml)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="github: each problem as a GitHub Actions annotation (workflow command)",
    )
    add_annotation_options(p)
    add_policy(p, untrusted=True)
    add_environment(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.errors import MktsyncError
    from mktsync.sources.contract import validate_all

    output = output_of(args)
    policy = policy_from(args)
    paths = [find_config(f, args) for f in args.files] or [find_config(None, args)]
    # The annotations go with the problems: on stdout beside the text (or as the output,
    # --format github), on stderr when stdout is JSON.
    stream = err if args.format == "json" else out
    try:
        results = [validate_all(path, policy=policy) for path in paths]
        environment = environment_of(args)
        if environment:  # the environment named must exist in each file
            from mktsync.config.environments import select_environment

            for result in results:
                if result.config is not None:
                    select_environment(result.config, environment)
    except MktsyncError as exc:
        from mktsync.report.annotations import error_problems

        emit(args, error_problems(exc), stream, config=paths[0])
        raise
    problems = [p for r in results for p in r.problems]
    if args.format == "json":
        json.dump([p.as_dict() for p in problems], out, indent=2)
        out.write("\n")
    elif args.format == "text":
        for result in results:
            for problem in result.problems:
                out.write(f"{problem}\n")
            if result.ok and result.config is not None and not output.quiet:
                out.write(f"ok: {summary(result, result.config)}\n")
    github = args.format == "github" or github_wanted(args)
    emit(args, problems, stream, config=paths[0], github=github)
    if args.format == "github" and not output.quiet:
        for result in results:  # a line for the log: the commands above are not shown as text
            if result.ok and result.config is not None:
                out.write(f"ok: {summary(result, result.config)}\n")
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


def summary(result: ValidationResult, config: Config) -> str:
    """``campaigns.yaml: 2 sources, 3 campaigns, 9 templates compiled, 1 warning``."""
    from mktsync.config import display_name

    words = [
        f"{result.sources} source{'s' * (result.sources != 1)}",
        f"{result.campaigns} campaign{'s' * (result.campaigns != 1)}",
        f"{result.templates} templates compiled",
    ]
    for what, count in (
        ("schedule", result.schedules),
        ("environment", result.environments),
        ("warning", result.warnings),
    ):
        if count:
            words.append(f"{count} {what}{'s' * (count != 1)}")
    return f"{display_name(config.path)}: {', '.join(words)}"
