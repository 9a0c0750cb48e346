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

``WMVERSE_GC_THRESHOLD`` sets the young generation's threshold (0 keeps the interpreter's own collector as it
is: thresholds, nothing frozen); a value that is not a non-negative integer raises ``ValueError`` naming the
variable.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, MutableMapping

__all__ = ["DEFAULT_THRESHOLD", "GC_VAR", "freeze_loaded", "tuned_collector", "young_threshold"]

#: The environment variable that sets the young generation's threshold during a run.
GC_VAR = "WMVERSE_GC_THRESHOLD"

#: Net allocations between young collections during a run (CPython's default is 700).
DEFAULT_THRESHOLD = 10_000

_tuned = False  # inside tuned_collector with a threshold > 0: freeze_loaded freezes


def young_threshold(environ: MutableMapping[str, str] | None = None) -> int:
    """The young generation's threshold for a run: ``WMVERSE_GC_THRESHOLD``, else :data:`DEFAULT_THRESHOLD`
    (0: the interpreter's own thresholds are kept)."""
    env = os.environ if environ is None else environ
    raw = env.get(GC_VAR, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{GC_VAR} must be an integer >= 0 (0: the interpreter's thresholds), got {raw!r}"
        ) from None
    if value < 0:
        raise ValueError(f"{GC_VAR} must be an integer >= 0 (0: the interpreter's thresholds), got {raw!r}")
    return value


@contextlib.contextmanager
def tuned_collector(threshold: int | None = None) -> Iterator[int]:
    """Within the block, young collections wait for ``threshold`` net allocations (default
    :func:`young_threshold`; 0: the collector is left as it is), what is alive on entry is frozen and
    :func:`freeze_loaded` freezes; on exit
    the thresholds in force before are restored and what the block froze is unfrozen (objects frozen before
    the block, by someone else, stay frozen). Yields the threshold in force."""
    global _tuned
    threshold = young_threshold() if threshold is None else threshold
    before, frozen_before, tuned_before = gc.get_threshold(), gc.get_freeze_count(), _tuned
    if threshold > 0:
        gc.set_threshold(threshold, *before[1:])
        gc.freeze()  # what the process held before the run (modules, torch...): not walked while loading
    _tuned = threshold > 0
    try:
        yield gc.get_threshold()[0]
    finally:
        _tuned = tuned_before
        gc.set_threshold(*before)
        if frozen_before == 0 and gc.get_freeze_count() > 0:
            gc.unfreeze()


def freeze_loaded() -> int:
    """Inside :func:`tuned_collector` (threshold > 0): moves every object alive now to the permanent
    generation, so that the run's full collections do not walk the loaded world again; returns how many
    objects are frozen (0 outside the block or with the interpreter's collector)."""
    if not _tuned:
        return 0
    gc.freeze()
    return gc.get_freeze_count()
