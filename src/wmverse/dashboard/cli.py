"""``wmverse dashboard``: serve the run store's dashboard in the browser until Ctrl-C.

Past runs and running ones alike: the page follows a run that is still being written. Exit codes: 0 after
Ctrl-C, 2 when it cannot start (no store, unknown run, a port in use, a public host without a token).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading


def add_subparser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``wmverse dashboard``."""
    p = subparsers.add_parser(
        "dashboard",
        help="serve the runs' dashboard in the browser (live while a world runs)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL or SQLite file (default: env WMVERSE_DB, else worlds/training/runs.db)",
    )
    p.add_argument(
        "--run", type=int, default=None, metavar="ID", help="the run shown first (default: the newest)"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --token)"
    )
    p.add_argument("--port", type=int, default=8050, help="port (default 8050; 0: a free one)")
    p.add_argument(
        "--token",
        default=os.environ.get("WMVERSE_DASHBOARD_TOKEN"),
        help="secret every visitor's URL must carry once (default: env WMVERSE_DASHBOARD_TOKEN)",
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from wmverse.store import StoreError

    from .app import serve

    try:
        url, stop = serve(
            args.db, host=args.host, port=args.port, run_id=args.run, token=args.token, open_browser=args.open
        )
    except (StoreError, ValueError, OSError) as exc:
        print(f"wmverse dashboard: {exc}", file=sys.stderr)
        return 2
    print(f"wmverse dashboard: {url}  (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        stop()
    return 0
