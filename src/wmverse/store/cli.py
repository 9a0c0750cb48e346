"""``wmverse runs``: list, show, compare, export and delete the runs in a run store.

Every command takes ``--db URL`` (a SQLAlchemy URL or a SQLite file; default: env ``WMVERSE_DB``, else
``worlds/training/runs.db``). Exit codes: 0 done, 1 deletion not confirmed, 2 bad input (a bad URL, a
missing store, an unknown run or stat), which is reported in one line, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROG = "wmverse runs"


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``wmverse runs {list,show,compare,export,delete}``."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL or SQLite file (default: env WMVERSE_DB, else worlds/training/runs.db)",
    )
    runs = subparsers.add_parser("runs", help="list, show, compare, export and delete recorded runs")
    sub = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("list", parents=[db], help="the runs, newest first")
    p.add_argument("--world", help="only the runs of this world")
    p.add_argument("--status", help="only the runs with this status (running, finished, failed, killed)")
    p.add_argument("--limit", type=int, help="at most this many runs")
    p.set_defaults(func=_command(_list_body))

    p = sub.add_parser("show", parents=[db], help="one run: its row, nodes, stats and config")
    p.add_argument("run", type=int, metavar="RUN")
    p.set_defaults(func=_command(_show_body))

    p = sub.add_parser("compare", parents=[db], help="runs side by side, one column per run")
    p.add_argument("runs", type=int, nargs="+", metavar="RUN")
    p.add_argument("--stat", help="one stat per step (default: every numeric stat at its last step)")
    p.add_argument("--agent", help="only this agent's values of the stat")
    p.add_argument("--on", choices=("step", "sim_time"), default="step", help="x to align on (default step)")
    p.add_argument("--agg", default="mean", help="reduce several values at one x: mean, last, max... (mean)")
    p.set_defaults(func=_command(_compare_body))

    p = sub.add_parser(
        "export", parents=[db], help="write a run's points to Parquet or CSV, or the run as an HTML page"
    )
    p.add_argument("run", type=int, metavar="RUN")
    fmt = p.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--parquet", dest="fmt", action="store_const", const="parquet")
    fmt.add_argument("--csv", dest="fmt", action="store_const", const="csv")
    fmt.add_argument(
        "--html",
        dest="fmt",
        action="store_const",
        const="html",
        help="a self-contained page: one panel per stat, one trace per agent",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write (default: run-RUN-TABLE.FORMAT here, run-RUN.html for --html)",
    )
    p.add_argument(
        "--table",
        default="points",
        choices=("points", "transitions", "badges", "message_counts", "nodes"),
        help="what to export (default points)",
    )
    p.set_defaults(func=_command(_export_body))

    p = sub.add_parser("delete", parents=[db], help="delete a run and all it recorded")
    p.add_argument("run", type=int, metavar="RUN")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_command(_delete_body))


def _command(body):
    """``func(args)`` for a sub-command: open the store (never create it), run ``body(store, args)``, and
    turn a ``StoreError`` into its message and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        from .errors import StoreError
        from .store import RunStore

        try:
            with RunStore.open(args.db, create=False) as store:
                return body(store, args)
        except StoreError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return 2

    return run


def _when(moment) -> str:
    return "-" if moment is None or moment != moment else moment.strftime("%Y-%m-%d %H:%M:%S")


def _list_body(store, args: argparse.Namespace) -> int:
    frame = store.list_runs(world=args.world, status=args.status, limit=args.limit)
    if frame.empty:
        print(f"no runs in {store.where}")
        return 0
    frame["duration"] = [
        "-" if end != end else f"{(end - start).total_seconds():.1f} s"
        for start, end in zip(frame["started_at"], frame["ended_at"], strict=True)
    ]
    frame["started (UTC)"] = [_when(m) for m in frame["started_at"]]
    frame["seed"] = frame["seed"].astype("string").fillna("-")
    columns = ["id", "world", "seed", "status", "started (UTC)", "duration", "code_version", "host", "pid"]
    print(frame[columns].to_string(index=False))
    return 0


def _show_body(store, args: argparse.Namespace) -> int:
    run = store.run(args.run)
    counts = store.counts(run.id)
    took = f" ({run.duration.total_seconds():.1f} s)" if run.duration is not None else ""
    print(f"run {run.id}: {run.world}, seed {run.seed}, {run.status}")
    print(f"  started  {_when(run.started_at)} UTC, ended {_when(run.ended_at)}{took}")
    print(f"  code     {run.code_version} on {run.host}, pid {run.pid}")
    print("  rows     " + ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in counts.items()))
    nodes = store.nodes(run.id)
    if not nodes.empty:
        print("nodes:")
        print(nodes.drop(columns="run_id").fillna("-").to_string(index=False))
    stats = store.stat_summary(run.id)
    if not stats.empty:
        print("stats:")
        print(stats.astype("string").fillna("-").to_string(index=False))
    print("config:")
    print(json.dumps(run.config, indent=2, sort_keys=True))
    return 0


def _compare_body(store, args: argparse.Namespace) -> int:
    if args.stat is not None:
        table = store.compare(args.runs, args.stat, agent=args.agent, on=args.on, agg=args.agg)
        table.columns = [f"run {c}" for c in table.columns]
        print(
            f"{args.stat} ({args.agg} over agents)" if args.agent is None else f"{args.stat} of {args.agent}"
        )
        print(table.to_string(na_rep="-"))
        return 0
    frame = store.points(args.runs, agents=args.agent)
    frame = frame[frame["value"].notna() & frame["step"].notna()]
    if frame.empty:
        print(f"no numeric points with a step in run {', '.join(map(str, args.runs))}")
        return 0
    last = frame.groupby(["stat", "run_id"])["step"].transform("max") == frame["step"]
    table = frame[last].pivot_table(index="stat", columns="run_id", values="value", aggfunc=args.agg)
    table = table.reindex(columns=args.runs)
    table.columns = [f"run {c}" for c in table.columns]
    print(f"every numeric stat at its last step ({args.agg} over agents); --stat NAME for one stat per step")
    print(table.to_string(na_rep="-"))
    return 0


def _export_body(store, args: argparse.Namespace) -> int:
    if args.fmt == "html":
        from .html import write_run_page

        path = write_run_page(store, args.run, args.output)
        print(f"wrote run {args.run} as a page to {path}")
        return 0
    path = store.export(args.run, args.output, args.fmt, table=args.table)
    print(f"wrote run {args.run}'s {args.table} to {path}")
    return 0


def _delete_body(store, args: argparse.Namespace) -> int:
    run = store.run(args.run)
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"{PROG}: not deleting run {run.id} without --yes (no terminal to ask on)", file=sys.stderr)
            return 2
        points = store.counts(run.id)["points"]
        answer = input(f"delete run {run.id} ({run.world}, seed {run.seed}, {points} points)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return 1
    deleted = store.delete(run.id)
    print(f"deleted run {run.id} ({', '.join(f'{n} {name}' for name, n in deleted.items())})")
    return 0
