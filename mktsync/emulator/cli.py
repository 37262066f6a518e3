"""``mktsync emulator``: serve a seeded Marketo emulator until interrupted.

The main CLI wires this as a subcommand::

    add_arguments(subparsers.add_parser("emulator"))
    ...
    return run(args)
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TextIO

from mktsync.emulator.emulator import Emulator
from mktsync.emulator.faults import parse_spec
from mktsync.emulator.options import EmulatorOptions, parse_latency
from mktsync.emulator.seed import build_world, load_seed
from mktsync.emulator.usage import parse_usage_option

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def _latency(text: str) -> tuple[float, float]:
    try:
        return parse_latency(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _faults(text: str) -> str:
    try:
        parse_spec(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _usage(text: str) -> dict[str, object]:
    try:
        return parse_usage_option(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    d = EmulatorOptions()
    parser.add_argument("--seed", metavar="FILE", help="seed file (YAML or JSON)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument(
        "--latency", type=_latency, default=d.latency, help="seconds per call: 0.15 or 0.15-0.25"
    )
    parser.add_argument(
        "--faults", type=_faults, help='fault spec, e.g. "606=0.05,lost=0.01,trigger#7=lost"'
    )
    parser.add_argument("--token-ttl", type=float, default=d.token_ttl, metavar="S")
    parser.add_argument("--calls", type=int, default=d.calls, metavar="N", help="calls per window")
    parser.add_argument("--window", type=float, default=d.window_seconds, metavar="S")
    parser.add_argument("--concurrency", type=int, default=d.concurrency, metavar="N")
    parser.add_argument("--daily-quota", type=int, default=d.daily_quota, metavar="N")
    parser.add_argument(
        "--allow-query-token",
        action="store_true",
        help="accept access_token in the query string (deprecated by Marketo)",
    )
    parser.add_argument("--random-seed", type=int, default=None, metavar="N")
    parser.add_argument(
        "--usage",
        type=_usage,
        action="append",
        default=[],
        metavar="USER=COUNT",
        help="calls another API user made today, e.g. crm@example.com=46000 (repeatable; "
        "stats/usage.json reports them and they use up the daily quota)",
    )


def build_emulator(args: argparse.Namespace) -> Emulator:
    """The Emulator the parsed arguments describe; ValueError/OSError on bad input."""
    seed = load_seed(args.seed) if args.seed else None
    if getattr(args, "usage", None):
        seed = {**(seed or {}), "usage": [*((seed or {}).get("usage") or []), *args.usage]}
    build_world(seed)  # validate the seed before binding the port
    options = EmulatorOptions(
        token_ttl=args.token_ttl,
        calls=args.calls,
        window_seconds=args.window,
        concurrency=args.concurrency,
        daily_quota=args.daily_quota,
        latency=args.latency,
        faults=args.faults,
        allow_query_token=args.allow_query_token,
        random_seed=args.random_seed,
    )
    return Emulator(seed=seed, options=options, host=args.host, port=args.port)


def run(
    args: argparse.Namespace, out: TextIO | None = None, stop: threading.Event | None = None
) -> int:
    """Serve until Ctrl-C (exit 130) or until ``stop`` is set (exit 0, for tests)."""
    out = out or sys.stdout
    try:
        emulator = build_emulator(args)
    except (ValueError, KeyError, TypeError, OSError) as err:
        print(f"mktsync emulator: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    try:
        emulator.start()
        print(
            f"Marketo emulator at {emulator.base_url} "
            f"client_id={emulator.client_id} client_secret={emulator.client_secret}",
            file=out,
            flush=True,
        )
        (stop or threading.Event()).wait()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m mktsync.emulator.cli``."""
    parser = argparse.ArgumentParser(prog="mktsync emulator")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
