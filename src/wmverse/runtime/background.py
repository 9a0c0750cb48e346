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

Deferred jobs: a job in a lane may be given a due time on the simulated clock (:func:`defer`): the clocks
then wait for it only at the first tick at or after that time (:func:`settle` with ``now``), and its user
must not look at it before then either (:func:`is_due`), so the run still does not depend on when the job
really finished. Meanwhile the world ticks on and other lanes' jobs start and end: a learner's long request
overlaps many ticks and the other learners' requests. A job outside a lane is never deferred (it may share
random generators with the ticking thread); it is waited for at the end of its tick as above, which gives
the same run, only slower.
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
    "DUE_EPS_S",
    "HEARTBEAT_S",
    "LANES_VAR",
    "after_lane",
    "defer",
    "is_due",
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
    "wait_all",
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
_lane_jobs: dict[Future, str] = {}  # job submitted to a lane -> its lane (only those may be deferred)
_due: dict[Future, float] = {}  # deferred job -> simulated time from which the clocks wait for it
#: Simulated seconds of slack when a clock reading is compared with a due time (float sums of ticks).
DUE_EPS_S = 1e-6


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
            _lane_jobs.clear()
            _due.clear()
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
        if executor is not _executor:
            _lane_jobs[job] = str(lane)
    if _journal is not None:
        _journal.submitted(fn, args, kwargs, tick, job)
    return job


def is_due(until_s: float, now_s: float) -> bool:
    """True when a clock reading ``now_s`` has reached the due time ``until_s`` (both simulated seconds)."""
    return now_s + DUE_EPS_S >= until_s


def defer(job: Future, until_s: float) -> bool:
    """Clocks wait for ``job`` only from simulated time ``until_s`` on (see the module docstring); True when
    deferred, False for a job outside a lane (waited for at the end of its tick, as every job). Either way
    its user must not look at it before :func:`is_due` says so."""
    with _lock:
        if job not in _lane_jobs:
            return False
        _due[job] = float(until_s)
        return True


def pending(now_s: float | None = None) -> list[Future]:
    """The jobs not finished yet (finished ones are forgotten); with ``now_s``, only those the clocks wait for
    at that simulated time (deferred jobs not yet due are left out)."""
    with _lock:
        _jobs[:] = [j for j in _jobs if not j.done()]
        for gone in [j for j in _lane_jobs if j.done()]:
            del _lane_jobs[gone]
            _due.pop(gone, None)
        if now_s is None:
            return list(_jobs)
        return [j for j in _jobs if j not in _due or is_due(_due[j], now_s)]


def after_lane(lane: str | None, fn: Callable[[], Any]) -> Future:
    """``fn()`` in ``lane`` once the jobs queued there have run (e.g. a processor's state between two of its
    jobs), neither journaled nor waited for by the clocks; at once, in this thread, when no job of the lane
    is running (or the lane is None, or lanes are off)."""
    with _lock:
        executor = _lane_executors.get(lane) if lane is not None and _lanes_on else None
        if executor is not None and any(name == lane and not j.done() for j, name in _lane_jobs.items()):
            return executor.submit(fn)
    future: Future = Future()
    try:
        future.set_result(fn())
    except Exception as exc:  # noqa: BLE001 - the caller gets it from the future
        future.set_exception(exc)
    return future


def wait_all() -> None:
    """Block until every job, deferred or not, is done (e.g. before a checkpoint of the processors)."""
    for job in pending():
        with contextlib.suppress(Exception):  # its user sees the outcome
            job.exception()


async def settle(
    heartbeat: Callable[[], Awaitable[None]] | None = None,
    every_s: float = HEARTBEAT_S,
    now_s: float | None = None,
) -> int:
    """Wait, without blocking the event loop, until every pending job is done (with ``now_s``: every job
    :func:`pending` gives at that simulated time); returns how many there were.

    ``heartbeat`` (if given) is awaited every ``every_s`` seconds while waiting.
    """
    waited = 0
    while jobs := pending(now_s):
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
