"""Command lines of the runtime.

- ``run_synch.py WORLD_FOLDER`` = ``wmverse runtime run WORLD_FOLDER``: one process, synthetic clock;
- ``run_asynch.py WORLD_FOLDER`` = ``wmverse runtime asynch WORLD_FOLDER``: one process per script (at most
  K with ``--processes K``);
- ``run_w.py WORLD_FOLDER`` = ``wmverse runtime serve WORLD_FOLDER``: the world alone, served over libp2p;
- ``wmverse runtime join --world NAME SCRIPT...``: agent scripts joined to a served world (found by name on
  the local network, or ``NAME@HOST:PORT/PEER_ID``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from wmverse.runtime.cli_join import add_join_arguments as _add_join_arguments
from wmverse.runtime.cli_join import join_command
from wmverse.runtime.cli_options import add_asynch_arguments as _add_asynch_arguments
from wmverse.runtime.cli_options import add_run_arguments as _add_run_arguments
from wmverse.runtime.cli_options import add_serve_arguments as _add_serve_arguments


def _finish(args: argparse.Namespace, config, prog: str, run) -> int:
    """Serve the dashboard if asked (``--dashboard``), run ``run() -> RunResult``, print the report, keep
    the dashboard up until Ctrl-C, and return the exit code (130 after an interrupt)."""
    from wmverse.runtime.runner import format_report

    stop = _start_dashboard(args, config, prog)
    if isinstance(stop, int):
        return stop
    _interrupt_on_sigterm()
    try:
        result = run()
    except BaseException:
        if stop is not None:
            stop()
        raise
    print(format_report(result), file=sys.stderr if result.exit_code else sys.stdout, flush=True)
    if result.ended_by == "interrupted" and stop is not None:
        stop()
    else:
        _keep_dashboard_up(stop)
    return 130 if result.exit_code == 0 and result.ended_by == "interrupted" else result.exit_code


def run_command(args: argparse.Namespace) -> int:
    """Runs a world folder; returns the exit code (0 ok, 1 script failure, 2 bad folder/arguments)."""
    from wmverse.runtime.runner import run_world

    config = _config_or_exit(args, "run_synch")
    if config is None:
        return 2
    return _finish(args, config, "run_synch", lambda: run_world(args.world_folder, config))


def _keep_dashboard_up(stop) -> None:
    """After the run, a served dashboard stays up (the run can still be browsed) until Ctrl-C."""
    if stop is None:
        return
    print("run over: the dashboard stays up until Ctrl-C", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


def _start_dashboard(args: argparse.Namespace, config, prog: str):
    """With ``--dashboard``: serve the run store of this run live on 127.0.0.1; returns a stop function,
    None when not asked, or an exit code (2) when it cannot start."""
    if not getattr(args, "dashboard", False):
        return None
    from wmverse.runtime.recorder import store_location

    url = store_location(Path(args.world_folder), config.db)
    if url is None:
        print(f"{prog}: --dashboard needs a run store (drop --db none)", file=sys.stderr)
        return 2
    try:
        from wmverse.dashboard.app import serve
        from wmverse.store import RunStore

        RunStore.open(url).close()  # the store exists (and is migrated) before the page asks for it
        address, stop = serve(url, host="127.0.0.1", port=args.dashboard_port)
    except Exception as exc:  # noqa: BLE001 - a dashboard that cannot start is a bad-input exit, not a traceback
        print(f"{prog}: cannot serve the dashboard: {exc}", file=sys.stderr)
        return 2
    print(f"dashboard: {address}", flush=True)
    return stop


def _config_or_exit(args: argparse.Namespace, prog: str):
    from wmverse.runtime import background
    from wmverse.runtime.collector import young_threshold
    from wmverse.runtime.config import RuntimeConfig
    from wmverse.runtime.threads import configure_threads

    restarts = getattr(args, "restart_agents", 0)
    if prog not in ("run_synch", "run_asynch") and args.checkpoint_every:
        print(
            f"{prog}: a served world's process keeps no checkpoint (--resume runs it again from tick 0 and its "
            "joiners replay their journals: wmverse runtime join --journal DIR --checkpoint-every S)",
            file=sys.stderr,
        )
        return None
    realtime = getattr(args, "realtime", False) or (prog == "run_w" and not getattr(args, "lockstep", 0))
    if (restarts or args.resume or args.checkpoint_every) and realtime:
        print(
            f"{prog}: --restart-agents, --checkpoint-every and --resume need the lockstep clock "
            + ("(serve with --lockstep N)" if prog == "run_w" else "(drop --realtime)"),
            file=sys.stderr,
        )
        return None
    try:
        config = RuntimeConfig(
            seed=args.seed,
            max_steps=args.max_steps,
            tick_ms=args.tick_ms,
            out_dir=args.out,
            strict=not args.keep_going,
            wire=not args.no_wire,
            quiet=args.quiet,
            db=args.db,
            checkpoint_every_s=getattr(args, "checkpoint_every", 0.0),
            resume=getattr(args, "resume", False),
            keep=getattr(args, "keep", 3),
            checkpoint_dir=getattr(args, "checkpoint_dir", None),
        )
        configure_threads()  # one process using this machine's cores (run_asynch re-sizes per process)
        background.lanes_setting()  # WMVERSE_LEARNER_PROCESSES is 0 or 1
        young_threshold()  # WMVERSE_GC_THRESHOLD is an integer >= 0
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
    return config


def _interrupt_on_sigterm() -> None:
    """SIGTERM ends a run as Ctrl-C does: the stats database and the dashboard are still written."""
    import signal

    def _raise(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def asynch_command(args: argparse.Namespace) -> int:
    """Runs a world folder as local processes; exit 0 ok, 1 a script or a child failed, 2 bad arguments."""
    from wmverse.runtime.processes import run_processes

    if args.live:
        from wmverse.runtime.live import run_live

        return run_live(args.world_folder, args.key)
    config = _config_or_exit(args, "run_asynch")
    if config is None:
        return 2
    return _finish(
        args,
        config,
        "run_asynch",
        lambda: run_processes(
            args.world_folder,
            config,
            realtime=args.realtime,
            start_method=args.start_method,
            tick_timeout_s=args.tick_timeout,
            restarts=args.restart_agents,
            processes=args.processes,
        ),
    )


def serve_command(args: argparse.Namespace) -> int:
    """Serves a world folder's world on host:port in realtime until it finishes (or Ctrl-C)."""
    from wmverse.runtime.p2p import P2PUnavailable
    from wmverse.runtime.processes import ServeOptions, serve_world

    config = _config_or_exit(args, "run_w")
    if config is None:
        return 2
    try:
        options = ServeOptions(
            host=args.host,
            port=args.port,
            public=args.public,
            token=args.token,
            allowed_peers=tuple(args.allow),
            lockstep=args.lockstep,
            announce=not args.no_announce,
            identity_dir=args.identity,
            max_message_mb=args.max_message_mb,
            tick_timeout_s=args.tick_timeout,
            rejoin_window_s=args.rejoin_window,
            register_timeout_s=args.register_timeout,
        )
        return _finish(args, config, "run_w", lambda: serve_world(args.world_folder, config, options))
    except (OSError, ValueError, P2PUnavailable) as exc:
        print(f"run_w: {exc}", file=sys.stderr)
        return 2


def asynch_main(argv: list[str] | None = None) -> int:
    """Entry point of run_asynch.py."""
    parser = argparse.ArgumentParser(
        prog="run_asynch.py",
        description="Run a world folder as local processes: run_w.py here with a hub on 127.0.0.1, "
        "each other run_*.py in its own process joined to it.",
    )
    _add_asynch_arguments(parser)
    return asynch_command(parser.parse_args(argv))


def serve_main(argv: list[str] | None = None) -> int:
    """Entry point of run_w.py."""
    parser = argparse.ArgumentParser(
        prog="run_w.py",
        description="Host only a world folder's world and serve it over unaiverse's libp2p layer; agents "
        "join with: wmverse runtime join --world NAME --token TOKEN SCRIPT",
    )
    _add_serve_arguments(parser)
    return serve_command(parser.parse_args(argv))


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
    runtime = subparsers.add_parser(
        "runtime", help="run world folders (one process, local processes, or served for agents to join)"
    )
    sub = runtime.add_subparsers(dest="runtime_command", required=True)
    run = sub.add_parser("run", help="run a world folder (same as python run_synch.py)")
    _add_run_arguments(run)
    run.set_defaults(func=run_command)
    asynch = sub.add_parser("asynch", help="run a world folder as local processes (same as run_asynch.py)")
    _add_asynch_arguments(asynch)
    asynch.set_defaults(func=asynch_command)
    serve = sub.add_parser("serve", help="serve a world folder's world over libp2p (same as run_w.py)")
    _add_serve_arguments(serve)
    serve.set_defaults(func=serve_command)
    join = sub.add_parser("join", help="run agent scripts joined to a served world, found by name")
    _add_join_arguments(join)
    join.set_defaults(func=join_command)
