"""The flags of the runtime's command lines (run_synch.py, run_asynch.py, run_w.py); see ``runtime.cli``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from wmverse.cli_args import non_negative_float, non_negative_int, port_number, positive_float, positive_int

__all__ = ["add_asynch_arguments", "add_run_arguments", "add_serve_arguments"]


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("world_folder", type=Path, help="folder with run_w.py and run_*.py (examples layout)")
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("WMVERSE_SEED", "0")),
        help="seed for random/numpy/torch and ids (default: WMVERSE_SEED, else 0)",
    )
    parser.add_argument(
        "--max-steps", type=int, default=20_000, help="stop after this many ticks (default 20000)"
    )
    parser.add_argument(
        "--tick-ms",
        type=float,
        default=100.0,
        help="ms of the world's clock per tick (default 100; real ms when a run is paced in realtime)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ["WMVERSE_OUT"]) if os.environ.get("WMVERSE_OUT") else None,
        help="output folder, overwritten by each run (default: WMVERSE_OUT, else WORLD_FOLDER/out)",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="log exceptions raised inside actions and go on (unaiverse's behaviour)",
    )
    parser.add_argument("--no-wire", action="store_true", help="hand messages over without encoding them")
    parser.add_argument("--quiet", action="store_true", help="do not print the transition lines")
    parser.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="run store the run is recorded in: SQLAlchemy URL or SQLite file (default: env WMVERSE_DB, "
        "else WORLD_FOLDER/runs.db; 'none': not recorded)",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="serve the live dashboard on 127.0.0.1 while the world runs (prints its URL)",
    )
    parser.add_argument(
        "--dashboard-port", type=int, default=8050, metavar="PORT", help="its port (default 8050)"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=non_negative_float,
        default=0.0,
        metavar="SIM_SECONDS",
        help="checkpoint the whole run every this many simulated seconds (default 0: only at a Ctrl-C stop)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="resume from the newest checkpoint that verifies (none: start fresh)",
    )
    parser.add_argument(
        "--keep", type=positive_int, default=3, metavar="K", help="checkpoints kept, newest first (default 3)"
    )
    parser.add_argument(
        "--checkpoint-dir", type=Path, default=None, metavar="DIR", help="default: OUT/checkpoints"
    )


def add_asynch_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument(
        "--live",
        action="store_true",
        help="run the scripts unchanged on the real unaiverse network (needs the internet and a key)",
    )
    parser.add_argument(
        "--key", default=None, help="unaiverse.io key for --live (default: NODE_KEY, ~/.unaiverse/key)"
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="pace ticks at --tick-ms real ms (default: lockstep, no waiting)",
    )
    parser.add_argument(
        "--start-method",
        choices=("fork", "spawn"),
        default="fork",
        help="fork children from this process (fast, default) or start fresh interpreters",
    )
    parser.add_argument(
        "--tick-timeout", type=float, default=120.0, help="drop a child that does not answer a tick in S s"
    )
    parser.add_argument(
        "--restart-agents",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="start an agent process killed by a signal again, up to N times in all: it replays its journal "
        "(OUT/agents/) and resumes, the run ends as if undisturbed (lockstep only; --checkpoint-every sets "
        "how often the processes checkpoint, so that a restart recomputes less)",
    )
    parser.add_argument(
        "--processes",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="run the agent scripts in at most K processes, contiguous in script order (default 0: one "
        "process per script); for worlds of many agents, as many as the cores (or a multiple)",
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=port_number, default=7070, help="TCP port (default 7070; 0: a free one)"
    )
    for flag, default, text in (
        ("--tick-timeout", 30.0, "drop an agent that does not answer a tick in S s"),
        ("--rejoin-window", 60.0, "a dropped agent may rejoin as itself within S s, else the run ends"),
        ("--register-timeout", 90.0, "disconnect an agent process not registered S s after its welcome"),
    ):
        help_ = f"{text} (default {default:g})"
        parser.add_argument(flag, type=positive_float, default=default, metavar="S", help=help_)
    parser.add_argument(
        "--public", action="store_true", help="admit anyone (default: private, with a join token)"
    )
    parser.add_argument(
        "--token", default=None, help="the join token of this private world (default: a random one)"
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PEER_ID",
        help="admit this libp2p peer without the token",
    )
    parser.add_argument(
        "--lockstep",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="wait for N agent processes, then tick in lockstep: deterministic, same results as run_synch.py",
    )
    parser.add_argument(
        "--no-announce", action="store_true", help="do not announce the world on the local network"
    )
    parser.add_argument("--identity", type=Path, default=None, help="folder of the world's libp2p key")
    parser.add_argument(
        "--max-message-mb", type=positive_float, default=16.0, help="largest message accepted (default 16 MB)"
    )
