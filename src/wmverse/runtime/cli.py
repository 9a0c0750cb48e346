"""Command line: ``run_synch.py WORLD_FOLDER ...`` and ``wmverse runtime run WORLD_FOLDER ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("world_folder", type=Path, help="folder with run_w.py and run_*.py (examples layout)")
    parser.add_argument("--seed", type=int, default=0, help="seed for random/numpy/torch and ids (default 0)")
    parser.add_argument(
        "--max-steps", type=int, default=20_000, help="stop after this many ticks (default 20000)"
    )
    parser.add_argument("--tick-ms", type=float, default=100.0, help="synthetic ms per tick (default 100)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default WORLD_FOLDER/out)")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="log exceptions raised inside actions and go on (unaiverse's behaviour)",
    )
    parser.add_argument("--no-wire", action="store_true", help="hand messages over without encoding them")
    parser.add_argument("--quiet", action="store_true", help="do not print the transition lines")


def run_command(args: argparse.Namespace) -> int:
    """Runs a world folder; returns the exit code (0 ok, 1 script failure, 2 bad folder/arguments)."""
    from wmverse.runtime.config import RuntimeConfig
    from wmverse.runtime.runner import format_report, run_world

    try:
        config = RuntimeConfig(
            seed=args.seed,
            max_steps=args.max_steps,
            tick_ms=args.tick_ms,
            out_dir=args.out,
            strict=not args.keep_going,
            wire=not args.no_wire,
            quiet=args.quiet,
        )
    except ValueError as exc:
        print(f"run_synch: {exc}", file=sys.stderr)
        return 2
    result = run_world(args.world_folder, config)
    report = format_report(result)
    print(report, file=sys.stderr if result.exit_code else sys.stdout, flush=True)
    return result.exit_code


def build_parser(prog: str = "run_synch.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a unaiverse world folder in one process on a "
        "synthetic clock (no network, no key, no sleeping).",
    )
    _add_run_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of run_synch.py."""
    args = build_parser().parse_args(argv)
    return run_command(args)


def add_subparser(subparsers) -> None:
    """Registers ``wmverse runtime run WORLD_FOLDER ...``."""
    runtime = subparsers.add_parser("runtime", help="run world folders in process on a synthetic clock")
    sub = runtime.add_subparsers(dest="runtime_command", required=True)
    run = sub.add_parser("run", help="run a world folder (same as python run_synch.py)")
    _add_run_arguments(run)
    run.set_defaults(func=run_command)
