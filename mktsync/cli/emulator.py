"""``mktsync emulator``: serve a seeded Marketo emulator on a local port until interrupted."""

from __future__ import annotations

import argparse
from typing import TextIO

from mktsync.cli.options import Subparsers


def add_parser(sub: Subparsers) -> None:
    from mktsync.emulator import cli as emulator_cli

    p = sub.add_parser("emulator", help="run a Marketo emulator on a local port")
    emulator_cli.add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.emulator import cli as emulator_cli

    return emulator_cli.run(args)
