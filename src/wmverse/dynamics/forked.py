"""Work split across forked copies of this process, each share computed at the same time as the others.

For computations whose shares are functions of their inputs alone (the evaluation's episode k depends on
the model and k only, see :meth:`~wmverse.dynamics.agent.DynamicsAgent.evaluate`), so that the result does
not depend on how the work was split. A forked child inherits this process as it is, so :func:`run_split`
forks only from a process with one Python thread (a learner's own process, a command line's main thread);
otherwise, and where the system cannot fork, it computes every share here, one after the other (same
results, no speed-up).

A child sends its result back pickled through a pipe and ends with ``os._exit`` (no cleanup of what it
inherited runs twice); on Linux it is killed when this process dies. Results must be picklable.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from wmverse.lifetime import die_with_parent

__all__ = ["can_fork", "contiguous_shares", "run_split"]

S = TypeVar("S")
R = TypeVar("R")


def contiguous_shares(n: int, k: int) -> list[range]:
    """``range(n)`` cut into ``min(k, n)`` contiguous shares whose sizes differ by at most one (larger first)."""
    count = max(1, min(k, n))
    per, extra = divmod(n, count)
    bounds = [0]
    for i in range(count):
        bounds.append(bounds[-1] + per + (i < extra))
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def can_fork() -> bool:
    """Whether :func:`run_split` may fork here: the system can, and this process runs one Python thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _child(
    work: Callable[[S], R], share: S, write_fd: int, parent: int
) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        die_with_parent(signal.SIGKILL, parent)
        try:
            payload = pickle.dumps(("ok", work(share)), protocol=5)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, named
            payload, code = pickle.dumps(("error", type(exc).__name__, str(exc)), protocol=5), 1
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(code)


def _collect(pid: int, read_fd: int, index: int) -> R:
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"the process computing share {index} ended without a result (status {status})")
    reply = pickle.loads(data)  # from the child this call forked
    if reply[0] == "error":
        raise RuntimeError(f"share {index} failed in its process: {reply[1]}: {reply[2]}")
    return reply[1]


def run_split(work: Callable[[S], R], shares: Sequence[S]) -> list[R]:
    """``[work(s) for s in shares]``, ``shares[1:]`` each in a forked child and ``shares[0]`` here, at the same
    time (one after the other where :func:`can_fork` is False). A share that fails raises here: its own
    exception for ``shares[0]``, RuntimeError naming the share and the child's exception otherwise; every
    child is waited for (or killed, when this process's share failed) before the call returns."""
    if len(shares) < 2 or not can_fork():
        return [work(s) for s in shares]
    sys.stdout.flush()
    sys.stderr.flush()
    children: list[tuple[int, int]] = []
    parent = os.getpid()
    try:
        for share in shares[1:]:
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # no process left to start: the earlier children are killed below
                os.close(read_fd)
                os.close(write_fd)
                raise
            if pid == 0:  # pragma: no cover - the child
                os.close(read_fd)
                _child(work, share, write_fd, parent)
            os.close(write_fd)
            children.append((pid, read_fd))
        results = [work(shares[0])]
    except BaseException:
        for pid, read_fd in children:
            os.kill(pid, signal.SIGKILL)
            os.close(read_fd)
            os.waitpid(pid, 0)
        raise
    failure: RuntimeError | None = None
    for index, (pid, read_fd) in enumerate(children, start=1):
        try:
            results.append(_collect(pid, read_fd, index))
        except RuntimeError as exc:  # keep waiting for the others, then report the first failure
            failure = failure or exc
    if failure is not None:
        raise failure
    return results
