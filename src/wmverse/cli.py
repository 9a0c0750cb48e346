"""The ``wmverse`` command line: one sub-command per world model.

Each sub-package that offers commands has a ``cli`` module with
``add_subparser(subparsers) -> None``. That function registers ``wmverse <name> ...``
and sets ``func`` on its parsers; ``func(args) -> int`` returns the exit code.
Sub-package CLI modules import their heavy dependencies inside ``func``, so that
``wmverse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: sub-command name -> module exposing ``add_subparser``
SUBCOMMANDS: dict[str, str] = {
    "debate": "wmverse.debate.cli",
    "leworld": "wmverse.leworld.cli",
    "canvas": "wmverse.canvas.cli",
    "dynamics": "wmverse.dynamics.cli",
    "runtime": "wmverse.runtime.cli",
    "runs": "wmverse.store.cli",
    "dashboard": "wmverse.dashboard.cli",
    "eval": "wmverse.eval.cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wmverse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).add_subparser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def console_main() -> int:
    """The ``wmverse`` command: :func:`main`, then a quick exit (``wmverse.runtime.collector.freeze_for_exit``:
    the interpreter's shutdown does not walk the loaded heap again)."""
    from wmverse.runtime.collector import freeze_for_exit

    return freeze_for_exit(main())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(console_main())
