"""A world folder on the real unaiverse network: its scripts run unchanged with unaiverse's own ``Node``.

``run_asynch.py WORLD --live`` starts ``run_w.py`` and every other ``run_*.py`` of the folder as plain
``python`` processes: no wmverse runtime, no synthetic clock. unaiverse's ``Node`` then needs the internet:
its clock asks an NTP server (and prompts on stdin when none answers), every node registers with the root
server ``unaiverse.io`` with a key (``--key``, ``NODE_KEY`` or ``~/.unaiverse/key``; generated at
https://unaiverse.io/me/security), and messages are checked against the root's tokens.

Before starting anything, :func:`live_problem` checks that a key exists and that ``unaiverse.io:443``
answers within ``timeout_s``: offline, the command ends at once (exit 2) with the reason, instead of
prompting or hanging. The scripts get no stdin, so a prompt cannot stall them either.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ROOT_HOST", "live_problem", "run_live"]

#: unaiverse's root server (the address is unaiverse's own; wmverse never redirects it).
ROOT_HOST = ("unaiverse.io", 443)
KEY_FILE = Path.home() / ".unaiverse" / "key"


def _key(key: str | None) -> str | None:
    if key:
        return key
    if os.environ.get("NODE_KEY"):
        return os.environ["NODE_KEY"]
    try:
        return KEY_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def live_problem(key: str | None, timeout_s: float = 10.0) -> str | None:
    """Why the live network cannot be used from here (None: a key exists and the root server answers)."""
    if _key(key) is None:
        return (
            "live worlds need a unaiverse.io key: pass --key, set NODE_KEY or write ~/.unaiverse/key "
            "(generate one at https://unaiverse.io/me/security)"
        )
    try:
        socket.create_connection(ROOT_HOST, timeout=timeout_s).close()
    except OSError as exc:
        return (
            f"cannot reach unaiverse's root server {ROOT_HOST[0]}:{ROOT_HOST[1]} ({exc.strerror or exc}): live "
            "worlds need the internet (every node registers there and its clock asks NTP). Offline, run the "
            "world with run_synch.py, run_asynch.py or run_w.py"
        )
    return None


def run_live(
    world_folder: str | Path,
    key: str | None = None,
    *,
    timeout_s: float = 10.0,
    write: Callable[[str], None] | None = None,
) -> int:
    """Runs the folder's scripts live (see the module doc); the world script's exit code, 2 when offline."""
    write = write or (lambda line: print(line, flush=True))
    folder = Path(world_folder).resolve()
    world = folder / "run_w.py"
    if not world.is_file():
        write(f"live: {folder} has no run_w.py")
        return 2
    problem = live_problem(key, timeout_s)
    if problem is not None:
        write(f"live: {problem}")
        return 2
    env = dict(os.environ, NODE_KEY=_key(key) or "")
    scripts = [world] + sorted(p for p in folder.glob("run_*.py") if p.name != "run_w.py")
    procs = [
        subprocess.Popen([sys.executable, str(s)], cwd=folder, stdin=subprocess.DEVNULL, env=env)
        for s in scripts
    ]
    try:
        code = procs[0].wait()
    except KeyboardInterrupt:
        code = 130
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        end = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
    write(f"live: run_w.py ended with exit {code}")
    return code
