"""``wmverse runtime join``: agent scripts joined to a served world, rejoining it when it is lost."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from wmverse.cli_args import non_negative_float, non_negative_int, positive_float, positive_int

__all__ = ["REJOIN_VAR", "add_join_arguments", "join_command"]


#: Environment variable counting a joiner's rejoins (it re-executes itself with the same arguments).
REJOIN_VAR = "WMVERSE_REJOIN_ATTEMPT"


def _rejoin_argv(args: argparse.Namespace) -> list[str]:
    """The ``wmverse runtime join`` command line of ``args`` (the same identity folder: the same peer id)."""
    argv = ["--world", args.world, "--connect-timeout", str(args.connect_timeout)]
    argv += ["--discovery-timeout", str(args.discovery_timeout), "--hub-timeout", str(args.hub_timeout)]
    argv += ["--reconnects", str(args.reconnects)]
    for flag, value in (("--token", args.token), ("--identity", args.identity), ("--out", args.out)):
        if value is not None:
            argv += [flag, str(value)]
    if args.journal is not None:  # a lockstep world holds its tick: come back where this process was
        argv += ["--journal", str(args.journal), "--checkpoint-every", str(args.checkpoint_every), "--resume"]
        argv += ["--keep", str(args.keep)]
    argv += ["--quiet"] if args.quiet else []
    argv += ["--keep-going"] if args.keep_going else []
    return [sys.executable, "-m", "wmverse.cli", "runtime", "join", *argv, *map(str, args.scripts)]


def join_command(args: argparse.Namespace) -> int:
    """Runs agent scripts in this process, joined to a served world; after losing it mid-run, rejoins (a fresh
    process image with the same arguments and identity) up to ``--reconnects`` times."""
    from wmverse.runtime import background
    from wmverse.runtime.collector import young_threshold
    from wmverse.runtime.remote import EXIT_LOST, JoinConfig, join_hub

    if args.resume and args.journal is None:
        print("join: --resume needs --journal DIR (where this process logged its ticks)", file=sys.stderr)
        return 2
    try:
        background.lanes_setting()  # WMVERSE_LEARNER_PROCESSES is 0 or 1, before anything connects
        young_threshold()  # WMVERSE_GC_THRESHOLD is an integer >= 0
        config = JoinConfig(
            args.world,
            tuple(args.scripts),
            out_dir=args.out,
            echo=not args.quiet,
            strict=not args.keep_going,
            connect_timeout_s=args.connect_timeout,
            token=args.token,
            identity_dir=args.identity,
            discovery_timeout_s=args.discovery_timeout,
            hub_timeout_s=args.hub_timeout,
            journal_dir=args.journal,
            checkpoint_every_s=args.checkpoint_every,
            keep=args.keep,
            resume=args.resume,
        )
    except ValueError as exc:
        print(f"join: {exc}", file=sys.stderr)
        return 2
    code = join_hub(config)
    attempt = int(os.environ.get(REJOIN_VAR, "0") or 0)
    if code != EXIT_LOST:
        return code
    if attempt >= args.reconnects:
        print(f"join: lost the world and gave up after {attempt} rejoin(s)", flush=True)
        return 1
    delay = min(2.0 * 2**attempt, 30.0)
    print(
        f"join: rejoining in {delay:g} s with the same identity ({attempt + 1} of {args.reconnects})",
        flush=True,
    )
    time.sleep(delay)
    os.environ[REJOIN_VAR] = str(attempt + 1)
    sys.stdout.flush()
    argv = _rejoin_argv(args)
    os.execv(argv[0], argv)
    return 1  # pragma: no cover - execv does not return


def add_join_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--world",
        required=True,
        help="the world: NAME (found on the local network) or NAME@HOST:PORT/PEER_ID (printed by run_w.py)",
    )
    parser.add_argument("scripts", nargs="+", type=Path, help="agent scripts (run_*.py of one folder)")
    parser.add_argument(
        "--token", default=None, help="the join token of a private world (printed by run_w.py)"
    )
    parser.add_argument("--identity", type=Path, default=None, help="folder of this process's libp2p key")
    parser.add_argument(
        "--discovery-timeout",
        type=positive_float,
        default=10.0,
        help="look for the world by name for S s (default 10)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default SCRIPTS_FOLDER/out)")
    parser.add_argument("--quiet", action="store_true", help="do not print the transition lines here")
    parser.add_argument("--keep-going", action="store_true", help="log exceptions inside actions and go on")
    parser.add_argument(
        "--connect-timeout", type=positive_float, default=30.0, help="keep retrying the connection for S s"
    )
    parser.add_argument(
        "--hub-timeout",
        type=positive_float,
        default=120.0,
        help="the world is lost when it sends nothing for S s (default 120)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="DIR",
        help="log every tick and checkpoint here, so that this process can be started again with --resume "
        "(a lockstep world, run_w.py --lockstep N, holds its tick meanwhile)",
    )
    parser.add_argument(
        "--checkpoint-every", type=non_negative_float, default=0.0, metavar="SIM_S", help="with --journal"
    )
    parser.add_argument(
        "--keep", type=positive_int, default=3, metavar="K", help="with --journal (default 3)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="resume from --journal where the killed one was"
    )
    parser.add_argument(
        "--reconnects",
        type=non_negative_int,
        default=5,
        help="rejoin a lost world this many times, with the same identity (default 5)",
    )
