"""``mktsync schema``: print the JSON Schema of campaigns.yaml (for editors and other tools)."""

from __future__ import annotations

import argparse
from typing import TextIO

from mktsync.cli.options import Subparsers
from mktsync.errors import EXIT_OK


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of campaigns.yaml")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.config import schema_text

    out.write(schema_text())
    return EXIT_OK
