"""The garbage collector's pace during a run.

A world of many agents allocates millions of short-lived container objects per simulated minute (messages,
interactions, state-machine bookkeeping). With CPython's default thresholds the cyclic collector then runs
a young collection every 700 net allocations and, now and then, a full one that walks every object the
process holds (the loaded agents, torch, unaiverse): 0.35-0.5 s each at 200 agents, 0.7-1.2 s of a 4-5 s
in-process loop (``benchmarks/runtime.py --gc both`` prints the collector's seconds).

:func:`tuned_collector` raises the young generation's threshold for the duration of a run and moves every
object alive on entry to the collector's permanent generation (``gc.freeze``); :func:`freeze_loaded`, called
once the scripts are loaded, does the same with the loaded world, so that full collections walk only what
the run allocates afterwards. Both are undone when the block exits (the frozen objects are collectable
again). Nothing else changes: reference counting frees almost everything as before, cycles made during the
run are still collected, only less often (a cycle among frozen objects waits for the run's end); a run's
results do not depend on it.

At the end of a command (``run_synch.py``, ``run_asynch.py``, ``run_w.py``, ``wmverse``, a spawned agent
process), :func:`freeze_for_exit` freezes everything once more: the interpreter's collections at shutdown then
walk nothing. They walked the whole heap of a process that has torch and unaiverse loaded, 1.1-1.4 s after
the last line of every run (measured with ``py-spy --native``: ``gc_collect_main`` under ``Py_FinalizeEx``).
What shutdown does besides is unchanged: ``atexit`` handlers, the flushing of the standard streams, objects
freed by reference counting. Only cycles still alive at exit are no longer collected, which the process,
about to end, does not need (CPython does not promise to finalize objects alive at exit either). Forked agent
processes end with ``os._exit`` and never ran that collection.

``WMVERSE_GC_THRESHOLD`` sets the young generation's threshold (0 keeps the interpreter's own collector as it
is: thresholds, nothing frozen, during the run and at exit); a value that is not an integer in
[0, 2**31 - 1] raises ``ValueError`` naming the variable.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, MutableMapping

__all__ = [
    "DEFAULT_THRESHOLD",
    "GC_VAR",
    "MAX_THRESHOLD",
    "freeze_for_exit",
    "freeze_loaded",
    "tuned_collector",
    "young_threshold",
]

#: The environment variable that sets the young generation's threshold during a run.
GC_VAR = "WMVERSE_GC_THRESHOLD"

#: Net allocations between young collections during a run (CPython's default is 700).
DEFAULT_THRESHOLD = 10_000

#: The largest threshold accepted (``gc.set_threshold`` takes a C int).
MAX_THRESHOLD = 2**31 - 1

_tuned = False  # inside tuned_collector, which froze on entry: freeze_loaded freezes


def young_threshold(environ: MutableMapping[str, str] | None = None) -> int:
    """The young generation's threshold for a run: ``WMVERSE_GC_THRESHOLD``, else :data:`DEFAULT_THRESHOLD`
    (0: the interpreter's own thresholds are kept)."""
    env = os.environ if environ is None else environ
    raw = env.get(GC_VAR, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    why = (
        f"{GC_VAR} must be an integer in [0, {MAX_THRESHOLD}] (0: the interpreter's thresholds), got {raw!r}"
    )
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(why) from None
    if not 0 <= value <= MAX_THRESHOLD:
        raise ValueError(why)
    return value


@contextlib.contextmanager
def tuned_collector(threshold: int | None = None) -> Iterator[int]:
    """Within the block, young collections wait for ``threshold`` net allocations (default
    :func:`young_threshold`; 0: the collector is left as it is), what is alive on entry is frozen and
    :func:`freeze_loaded` freezes; on exit the thresholds in force before are restored and what the block
    froze is unfrozen. When objects were frozen already on entry (by someone else, or an enclosing block),
    nothing is frozen nor unfrozen here. Yields the threshold in force.

    ``gc.get_freeze_count()`` walks the frozen objects, so it is asked only on entry, when nothing is frozen
    in the usual case."""
    global _tuned
    threshold = young_threshold() if threshold is None else threshold
    before, tuned_before = gc.get_threshold(), _tuned
    freezing = threshold > 0 and gc.get_freeze_count() == 0
    if threshold > 0:
        gc.set_threshold(threshold, *before[1:])
    if freezing:
        gc.freeze()  # what the process held before the run (modules, torch...): not walked while loading
    _tuned = freezing
    try:
        yield gc.get_threshold()[0]
    finally:
        _tuned = tuned_before
        gc.set_threshold(*before)
        if freezing:
            gc.unfreeze()


def freeze_loaded() -> bool:
    """Inside :func:`tuned_collector` (threshold > 0, and the block froze on entry): moves every object alive
    now to the permanent generation, so that the run's full collections do not walk the loaded world again;
    returns whether it froze (False outside the block or with the interpreter's collector)."""
    if not _tuned:
        return False
    gc.freeze()
    return True


def freeze_for_exit(code: int | None = None) -> int | None:
    """For a command about to exit (call it last, after every file and database was closed): freezes every
    object, so that the interpreter's shutdown collections walk nothing (see the module docstring); returns
    ``code`` unchanged, for ``sys.exit(freeze_for_exit(main()))``. Does nothing when ``WMVERSE_GC_THRESHOLD`` is
    0, or is not valid (the command reported that already)."""
    try:
        if young_threshold() > 0:
            gc.freeze()
    except ValueError:
        pass
    return code
