"""Thread discipline: each process sizes torch's and BLAS's thread pools to the cores it may use.

Several processes that each start torch's full thread pool on a small machine (two worlds side by side, or
``run_asynch.py``'s ten agent processes on two cores) spend their time fighting over cores. The rule: a
process uses ``min(DEFAULT_MAX_THREADS, cores // processes)`` threads (at least one), where ``cores`` is what
the OS lets this process run on and ``processes`` how many compute processes share them;
``WMVERSE_THREADS=N`` overrides it for every process of a run (``run_asynch.py`` hands its share to its
children through that variable).

Why one thread by default: the worlds' models are small (batch 32, width 32-64), so their ops are
dispatch-bound and gain nothing from intra-op threads, while a second thread on a busy machine is
ruinous: the main world took 266 s with one thread and 1,947 s with two on the same loaded 2-core machine
(LeWorld's phases alone: 6.7 s vs 115 s).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["DEFAULT_MAX_THREADS", "THREADS_VAR", "available_cores", "configure_threads", "threads_for"]

#: Environment variable that fixes the threads per process.
THREADS_VAR = "WMVERSE_THREADS"
#: Threads a process uses by default, however many cores it has (see the module docstring).
DEFAULT_MAX_THREADS = 1


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads_for(processes: int = 1, environ: MutableMapping[str, str] | None = None) -> int:
    """Threads per process when ``processes`` processes share this machine's cores (``WMVERSE_THREADS`` wins).

    A malformed or non-positive ``WMVERSE_THREADS`` raises ``ValueError`` naming the variable.
    """
    env = os.environ if environ is None else environ
    raw = env.get(THREADS_VAR, "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"{THREADS_VAR} must be a positive integer, got {raw!r}") from None
        if n < 1:
            raise ValueError(f"{THREADS_VAR} must be a positive integer, got {raw!r}")
        return n
    return max(1, min(DEFAULT_MAX_THREADS, available_cores() // max(1, int(processes))))


def configure_threads(processes: int = 1, environ: MutableMapping[str, str] | None = None) -> int:
    """Limit torch's intra-op pool and the BLAS/OpenMP pools of this process; returns the thread count.

    Also exports ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` for the process's future
    children (an explicit setting of those is kept).
    """
    import torch
    from threadpoolctl import threadpool_limits

    env = os.environ if environ is None else environ
    n = threads_for(processes, env)
    torch.set_num_threads(n)
    threadpool_limits(limits=n)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, str(n))
    return n
