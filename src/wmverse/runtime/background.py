"""Long work off the clock: an agent's action can hand a slow computation to a background worker.

A learner's training step can take a minute; run inside an action it would hold its process for the
whole tick (a joined process stops answering its hub, which drops it). Instead, the action calls
:func:`submit` and returns False until the job is done (the state machine retries it every tick), so the
agent keeps stepping.

Clocks:

- synthetic (``run_synch.py``) and lockstep (``run_asynch.py``): after every tick the scheduler waits for
  the process's pending jobs (:func:`settle`) before the clock moves on, so a job always finishes between
  the same two ticks and a run stays a function of its seed. A process runs its jobs one at a time in
  submission order (one worker thread): global random streams (torch's, numpy's) are drawn in the same
  order every run. Learners in separate processes (``run_asynch.py``) compute at the same time; while one
  waits, it tells its hub it is busy (not silent) every :data:`HEARTBEAT_S` seconds.
- realtime (served worlds, unaiverse's own node): nobody waits; the clock goes on and the action sees the
  job finish at a later tick.

Lanes: while a run has them on (:func:`lanes`, which the runtime enters; ``WMVERSE_LEARNER_PROCESSES=0``
turns them off), :func:`submit_in` runs a job in a named lane: one thread per lane, the jobs of one lane in
submission order, different lanes at the same time. Only jobs that share nothing with other lanes may use
one: a learner whose runner computes in a child process of its own (``agents.learner_process``), so its
thread only waits. Everything else (the default lane) keeps the one-at-a-time rule above. The clocks wait
for every lane alike, so a run stays a function of its seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = [
    "HEARTBEAT_S",
    "LANES_VAR",
    "lanes",
    "lanes_enabled",
    "lane_start_method",
    "lanes_setting",
    "on_lanes_exit",
    "pending",
    "set_journal",
    "settle",
    "submit",
    "submit_in",
]

#: Seconds between two "busy" heartbeats while a lockstep process waits for its jobs.
HEARTBEAT_S = 5.0
#: Environment variable: "0" keeps every job in the default lane (learners compute one at a time, in-process).
LANES_VAR = "WMVERSE_LEARNER_PROCESSES"

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_jobs: list[Future] = []
#: Records or replays every job (``wmverse.runtime.journal.JobJournal``) with the current tick; None: neither.
_journal: Any = None
_tick: Any = None
_lanes_on = False
_start_method = "spawn"
_lane_executors: dict[str, ThreadPoolExecutor] = {}
_on_exit: list[Callable[[], None]] = []


def lanes_setting(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``WMVERSE_LEARNER_PROCESSES`` allows lanes (unset or "1": yes, "0": no; else ValueError)."""
    raw = (os.environ if environ is None else environ).get(LANES_VAR, "1").strip()
    if raw not in ("0", "1"):
        raise ValueError(f"{LANES_VAR} must be 0 or 1, got {raw!r}")
    return raw == "1"


@contextlib.contextmanager
def lanes(enabled: bool = True, start_method: str = "spawn") -> Iterator[None]:
    """Lanes on (when ``enabled`` and :func:`lanes_setting` allows) for the block; on exit, stops the lanes'
    threads and runs the :func:`on_lanes_exit` callbacks (e.g. stops the learners' child processes).

    ``start_method`` tells the lanes' users how to start child processes (:func:`lane_start_method`):
    "fork" (milliseconds, the parent's modules already loaded) where this process may fork, "spawn" (a fresh
    interpreter) where it may not, e.g. once unaiverse's Go libp2p library is loaded (a forked child hangs)."""
    global _lanes_on, _start_method
    if start_method not in ("fork", "spawn"):
        raise ValueError(f"start_method must be 'fork' or 'spawn', got {start_method!r}")
    _lanes_on, _start_method = bool(enabled) and lanes_setting(), start_method
    try:
        yield
    finally:
        _lanes_on = False
        with _lock:
            executors, callbacks = list(_lane_executors.values()), list(_on_exit)
            _lane_executors.clear()
            _on_exit.clear()
        for executor in executors:  # a job still running (a run cut short) is not waited for
            executor.shutdown(wait=False, cancel_futures=True)
        for callback in callbacks:
            callback()


def lanes_enabled() -> bool:
    """True inside :func:`lanes` (when on): :func:`submit_in` may run jobs side by side."""
    return _lanes_on


def lane_start_method() -> str:
    """How child processes of the current lanes start ("fork" or "spawn"; see :func:`lanes`)."""
    return _start_method


def on_lanes_exit(callback: Callable[[], None]) -> None:
    """Call ``callback()`` when the current :func:`lanes` block ends (at once if there is none)."""
    if not _lanes_on:
        callback()
        return
    with _lock:
        _on_exit.append(callback)


def set_journal(journal: Any, tick: Callable[[], int] | None = None) -> None:
    """Route every job through ``journal`` (None: stop); ``tick()`` gives the tick a job is submitted in."""
    global _journal, _tick
    _journal, _tick = journal, tick


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``fn(*args, **kwargs)`` on this process's background worker; returns its future.

    Jobs of one process run one at a time, in submission order. The future's ``result()`` re-raises the
    job's exception. With a journal set (:func:`set_journal`) the job is recorded, or, while a resumed run
    replays, answered from the journal without running.
    """
    return submit_in(None, fn, *args, **kwargs)


def submit_in(lane: str | None, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """:func:`submit` in lane ``lane`` (None: the default lane): jobs of one lane run in submission order on
    the lane's own thread, different lanes at the same time (only while lanes are on; otherwise every job
    goes to the default lane). Jobs are journaled in submission order, whatever their lane."""
    global _executor
    if _journal is not None:
        tick = _tick() if _tick is not None else 0
        replayed = _journal.replayed(fn, args, kwargs, tick)
        if replayed is not None:
            return replayed
    with _lock:
        if lane is not None and _lanes_on:
            executor = _lane_executors.get(lane)
            if executor is None:
                executor = _lane_executors[lane] = ThreadPoolExecutor(1, thread_name_prefix=f"wmverse-{lane}")
        else:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wmverse-background")
            executor = _executor
        job = executor.submit(fn, *args, **kwargs)
        _jobs.append(job)
    if _journal is not None:
        _journal.submitted(fn, args, kwargs, tick, job)
    return job


def pending() -> list[Future]:
    """The jobs not finished yet (finished ones are forgotten)."""
    with _lock:
        _jobs[:] = [j for j in _jobs if not j.done()]
        return list(_jobs)


async def settle(heartbeat: Callable[[], Awaitable[None]] | None = None, every_s: float = HEARTBEAT_S) -> int:
    """Wait, without blocking the event loop, until every pending job is done; returns how many there were.

    ``heartbeat`` (if given) is awaited every ``every_s`` seconds while waiting.
    """
    waited = 0
    while jobs := pending():
        waited += len(jobs)
        done = asyncio.gather(*(asyncio.wrap_future(j) for j in jobs), return_exceptions=True)
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(done), every_s)
                break
            except TimeoutError:
                if heartbeat is not None:
                    await heartbeat()
    return waited
