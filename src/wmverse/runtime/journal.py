"""The job journal: what a run's background jobs returned, so that a resumed run replays instead of recomputing.

A world on the synthetic (or lockstep) clock is a function of its seed, except for what its background jobs
compute (:mod:`wmverse.runtime.background`): learners' training steps, which are most of a run's time. The
journal records, in submission order, each job's function name, a digest of its arguments and its outcome
(the returned value, or the exception's type and message), and at the end of every tick in which a job
ended the global random generators' state (jobs draw from them in the worker thread).

Resuming (:mod:`wmverse.runtime.checkpointing`) replays the run from tick 0 with the journal in replay mode:
:meth:`JobJournal.replayed` answers each submitted job from the journal (a finished future) instead of
running it, and :meth:`JobJournal.end_tick` puts the generators back where the original run had them. This
is how durable-execution engines recover a workflow (its deterministic code re-runs, its activities' recorded
results are reused): the nodes' state machines, sessions, queues, clock and stats are rebuilt by the same
code that built them, and only the jobs' outputs come from disk. A replayed job whose function or arguments
differ from the journal's raises :class:`JournalMismatch` (the code or the configuration changed).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from wmverse.checkpoint.rng import capture_rngs, restore_rngs

__all__ = ["JobJournal", "JobRecord", "JournalMismatch", "rebuild_exception"]

#: Exceptions a replayed job may re-raise, by name (anything else comes back as RuntimeError).
_EXCEPTIONS: dict[str, type[Exception]] = {
    e.__name__: e for e in (ValueError, RuntimeError, KeyError, TypeError, IndexError, ArithmeticError)
}


def rebuild_exception(kind: str, message: str) -> Exception:
    """The exception a job raised elsewhere (a journal, another process), from its type's name and message:
    ValueError, RuntimeError, KeyError, TypeError, IndexError and ArithmeticError as themselves, any other
    type as RuntimeError."""
    return _EXCEPTIONS.get(kind, RuntimeError)(message)


class JournalMismatch(RuntimeError):
    """A replayed run submitted a job that the journal does not hold at that position."""


def job_name(fn: Any) -> str:
    """``module.qualname`` of a job's function (bound methods by their function)."""
    fn = getattr(fn, "__func__", fn)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def args_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A digest of a job's arguments (their ``repr``: dicts keep their order, floats print exactly)."""
    return hashlib.sha256(repr((args, sorted(kwargs.items()))).encode()).hexdigest()[:32]


@dataclass
class JobRecord:
    """One job: its function, the digest of its arguments, the tick it was submitted in, and its outcome."""

    name: str
    digest: str
    tick: int
    result: Any = None
    error: tuple[str, str] | None = None  # (exception type name, message)

    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "tick": self.tick,
            "result": self.result,
            "error": None if self.error is None else list(self.error),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> JobRecord:
        error = state.get("error")
        return cls(
            str(state["name"]),
            str(state["digest"]),
            int(state["tick"]),
            state.get("result"),
            None if error is None else (str(error[0]), str(error[1])),
        )


class JobJournal:
    """Records jobs (live) or answers them from a journal (replay, until it is used up).

    Contract: in both modes call :meth:`submitted` for every job in submission order and :meth:`end_tick`
    once per tick after the tick's jobs have finished (the scheduler does, after ``background.settle``).
    """

    def __init__(self) -> None:
        self.records: list[JobRecord] = []
        #: tick -> generators' state at the end of that tick (only ticks in which a job ended)
        self.rngs: dict[int, dict[str, Any]] = {}
        self._open: list[tuple[JobRecord, Future]] = []  # recorded this tick, outcome not yet taken
        self._due: list[tuple[JobRecord, Future]] = []  # replayed this tick, finished at its end
        self._replay: list[JobRecord] = []
        self._replay_rngs: dict[int, dict[str, Any]] = {}
        self._next = 0
        self.replayed_jobs = 0

    # --- replay ------------------------------------------------------------------------------------------
    def start_replay(self, state: dict[str, Any]) -> None:
        """Answer the next jobs from ``state`` (:meth:`to_state` of the original run's journal)."""
        self._replay = [JobRecord.from_state(s) for s in state["records"]]
        self._replay_rngs = {int(k): v for k, v in state["rngs"].items()}
        self._next = 0

    @property
    def replaying(self) -> bool:
        return self._next < len(self._replay)

    def replayed(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], tick: int) -> Future | None:
        """The finished future of this job from the journal, or None when the journal is used up (run it).
        :class:`JournalMismatch` when the job is not the one the journal holds at this position."""
        if not self.replaying:
            return None
        record = self._replay[self._next]
        name, digest = job_name(fn), args_digest(args, kwargs)
        if (record.name, record.digest, record.tick) != (name, digest, tick):
            raise JournalMismatch(
                f"job {self._next} of the resumed run is {name} at tick {tick}, but the checkpoint's journal "
                f"has {record.name} at tick {record.tick}"
                + (" with other arguments" if record.name == name else "")
                + ": the world's code or configuration changed since the checkpoint was written"
            )
        self._next += 1
        self.replayed_jobs += 1
        self.records.append(record)
        future: Future = Future()
        self._due.append((record, future))  # finished at the tick's end, as the original job was
        return future

    # --- recording ---------------------------------------------------------------------------------------
    def submitted(
        self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], tick: int, future: Future
    ) -> None:
        """Remember a job that runs live; its outcome is taken at :meth:`end_tick`."""
        record = JobRecord(job_name(fn), args_digest(args, kwargs), tick)
        self.records.append(record)
        self._open.append((record, future))

    def end_tick(self, tick: int) -> None:
        """After tick ``tick``'s jobs finished: take their outcomes; capture (live) or restore (replay) the
        generators when a job ended in this tick. A job still running (a realtime clock) is taken later.
        Replayed jobs of this tick finish here (their futures were pending during the tick, as live ones)."""
        for record, future in self._due:
            if record.error is not None:
                kind, message = record.error
                future.set_exception(rebuild_exception(kind, message))
            else:
                future.set_result(record.result)
        self._due = []
        ended = self.collect()
        if tick in self._replay_rngs:
            restore_rngs(self._replay_rngs[tick])
            self.rngs[tick] = self._replay_rngs[tick]
        elif ended:
            self.rngs[tick] = capture_rngs()

    def collect(self) -> bool:
        """Take the outcomes of the live jobs that have finished; True if there was any. A job deferred past
        its tick (``background.defer``) computes in a process of its own, so its end is not a generator
        event of this process."""
        ended = False
        still: list[tuple[JobRecord, Future]] = []
        for record, future in self._open:
            if not future.done():
                still.append((record, future))
                continue
            ended = True
            error = future.exception()
            if error is None:
                record.result = future.result()
            else:
                record.error = (type(error).__name__, str(error))
        self._open = still
        return ended

    def complete_upto(self, count: int) -> bool:
        """The outcomes of the first ``count`` recorded jobs are known (later ones may still run)."""
        running = {id(record) for record, _ in self._open}
        return not any(id(record) in running for record in self.records[:count])

    def to_state(self, count: int | None = None, last_tick: int | None = None) -> dict[str, Any]:
        """The journal as checkpointable plain values (see ``wmverse.checkpoint.codec``); with ``count`` and
        ``last_tick``, as it stood at that tick: its first ``count`` jobs, the generators up to then."""
        records = self.records if count is None else self.records[:count]
        return {
            "records": [r.to_state() for r in records],
            "rngs": {str(k): v for k, v in self.rngs.items() if last_tick is None or k <= last_tick},
        }
