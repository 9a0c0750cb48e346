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
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["HEARTBEAT_S", "pending", "set_journal", "settle", "submit"]

#: Seconds between two "busy" heartbeats while a lockstep process waits for its jobs.
HEARTBEAT_S = 5.0

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_jobs: list[Future] = []
#: Records or replays every job (``wmverse.runtime.journal.JobJournal``) with the current tick; None: neither.
_journal: Any = None
_tick: Any = None


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
    global _executor
    if _journal is not None:
        tick = _tick() if _tick is not None else 0
        replayed = _journal.replayed(fn, args, kwargs, tick)
        if replayed is not None:
            return replayed
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wmverse-background")
        job = _executor.submit(fn, *args, **kwargs)
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
