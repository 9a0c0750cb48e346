"""Checkpoints of a whole in-process run, and resuming from the newest one so that it ends as if never stopped.

A checkpoint of tick ``T`` (a :class:`~wmverse.checkpoint.CheckpointStore` file in ``<out>/checkpoints`` by
default, written atomically with a checksum; the newest ``keep`` are kept) holds:

- the run's fingerprint: seed, clock, runtime options, the world folder's code hash and the ``WMVERSE_*``
  settings the world reads; a resume under another fingerprint is refused, naming what differs;
- the job journal (:mod:`wmverse.runtime.journal`): every background job's outcome up to ``T`` and the
  random generators' state after each tick in which one ended;
- every processor that offers ``checkpoint_state()`` (the learners' models, optimizers, replay buffers,
  environments, curricula; the debaters' state), by node name, and the global random generators at ``T``;
- a digest of what the run showed up to ``T`` (every log line, the number of messages).

A learner step deferred across ticks (``background.defer``) may be running at ``T``: its processor's state is
then taken right after that step (queued behind it in the learner's lane) and the file is written at the
first later tick at which it and the step's outcome are known, while the run goes on; the resumed run
replays that step from the journal, so the state fits.

Resuming builds the world from its scripts with the same seed and replays ticks ``0..T`` with the printer
silent: the state machines, session, queues, clock and stats are rebuilt by the code that built them, each
job is answered from the journal instead of running. At ``T`` the processors and generators are loaded from
the checkpoint and the digest is compared (a mismatch ends the run: the resumed run would not be the same
run); then the run goes on live. A resume costs the world's own compute up to ``T`` (seconds for the training
world), not the learners'.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmverse.checkpoint import CheckpointStore
from wmverse.checkpoint.rng import capture_rngs, restore_rngs
from wmverse.runtime import background
from wmverse.runtime.journal import JobJournal

__all__ = ["CHECKPOINT_FORMAT", "Checkpointer", "ResumeError", "open_checkpointer"]

#: Layout version of a run checkpoint's state.
CHECKPOINT_FORMAT = 1

#: ``WMVERSE_*`` settings that name places or machine resources, not the run: a resume may change them
#: (``WMVERSE_REJOIN_ATTEMPT`` counts a joiner's rejoins: ``cli_join.REJOIN_VAR``).
_PLACE_SETTINGS = frozenset(
    {"WMVERSE_OUT", "WMVERSE_OUT_DIR", "WMVERSE_DB", "WMVERSE_CACHE_DIR", "WMVERSE_THREADS", "WMVERSE_SEED"}
    | {"WMVERSE_REJOIN_ATTEMPT"}
)


class ResumeError(RuntimeError):
    """The checkpoint cannot resume this run (another configuration, or a replay that diverged)."""


def processor_of(node: Any) -> Any:
    """The node's processor if it can be checkpointed (``checkpoint_state``/``restore_checkpoint_state``)."""
    proc = getattr(node.hosted, "proc", None)
    model = getattr(proc, "module", proc)
    if hasattr(model, "checkpoint_state") and hasattr(model, "restore_checkpoint_state"):
        return model
    return None


def fingerprint(runtime: Any) -> dict[str, Any]:
    """What must be equal for a checkpoint to resume this run."""
    from wmverse.runtime.hub_admission import world_code_hash

    config = runtime.config
    env = {
        k: v for k, v in sorted(os.environ.items()) if k.startswith("WMVERSE_") and k not in _PLACE_SETTINGS
    }
    return {
        "seed": config.seed,
        "tick_ms": config.tick_ms,
        "epoch_s": config.epoch_s,
        "wire": config.wire,
        "strict": config.strict,
        "world_requests": config.world_requests,
        "skip_scripts": sorted(config.skip_scripts),
        "world_code": world_code_hash(runtime.world_folder),
        "settings": env,
    }


def _check_state(state: dict[str, Any], path: Path) -> None:
    """ResumeError naming ``path`` unless ``state`` has a run checkpoint's fields with their types (a file
    that verifies may still come from elsewhere: nothing in it is trusted further than its checksum)."""
    want = {
        "fingerprint": dict,
        "sim_s": float,
        "journal": dict,
        "processors": dict,
        "rngs": dict,
        "digest": str,
    }
    for key, kind in want.items():
        if not isinstance(state.get(key), kind):
            raise ResumeError(
                f"{path.name} is not a run checkpoint: {key!r} is missing or not a {kind.__name__}"
            )
    if not isinstance(state["fingerprint"].get("settings", {}), dict):
        raise ResumeError(f"{path.name} is not a run checkpoint: its fingerprint's settings are not a dict")


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(saved) | set(now)):
        if key == "settings":
            a, b = saved.get(key, {}), now.get(key, {})
            out += [
                f"{k}={a.get(k)!r} then, {b.get(k)!r} now"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        elif saved.get(key) != now.get(key):
            out.append(f"{key}={saved.get(key)!r} then, {now.get(key)!r} now")
    return out


@dataclass
class Resumed:
    """Where a resume stands: the checkpoint's tick, file and state until the replay reaches it."""

    tick: int
    path: Path
    state: dict[str, Any]
    started: float


@dataclass
class _Pending:
    """A checkpoint taken at ``tick`` whose processors' states (futures) or jobs may not be known yet."""

    tick: int
    sim_s: float
    jobs: int  # journal records up to the tick
    rngs: dict[str, Any]
    digest: str
    snapshots: dict[str, Any]  # node name -> Future of the processor's checkpoint_state()


class Checkpointer:
    """Writes a run's checkpoints and resumes it (see the module docstring).

    ``every_s``: simulated seconds between two checkpoints (0: only when asked, e.g. at a graceful stop).
    Call :meth:`begin` before the first tick, :meth:`end_tick` after every tick's jobs settled (before the
    clock moves) and :meth:`after_tick` after the clock moved.
    """

    def __init__(self, runtime: Any, lines: list[str], folder: Path, every_s: float, keep: int) -> None:
        self.runtime = runtime
        self.lines = lines
        self.store = CheckpointStore(folder, keep=keep)
        self.every_s = float(every_s)
        self.journal = JobJournal()
        self.resumed: Resumed | None = None
        self.last_saved_tick: int | None = None
        self._next_due = self.every_s if self.every_s > 0 else None
        self.save_s: list[float] = []
        #: Called once the replay reached the checkpoint (the runner un-silences its printer).
        self.on_resumed: Any = None
        self._fingerprint: dict[str, Any] | None = None
        self._pending: list[_Pending] = []  # taken, not written yet (oldest first)

    @property
    def fingerprint(self) -> dict[str, Any]:
        """The run's :func:`fingerprint`, computed once (it hashes the world folder's files)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.runtime)
        return self._fingerprint

    # --- resume ------------------------------------------------------------------------------------------
    def load_for_resume(self, max_tick: int | None = None) -> str:
        """Loads the newest checkpoint that verifies (of a tick ``<= max_tick`` when given) and arms the
        replay; returns what to tell the user. :class:`ResumeError` when it was written by another
        configuration."""
        loaded = self.store.load_latest(max_step=max_tick)
        skipped = "".join(
            f"\ncheckpoint {p.name} is damaged ({why}): using the previous one"
            for p, why in (loaded.skipped if loaded else [])
        )
        if loaded is None:
            return f"No checkpoint in {self.store.folder}. Starting fresh."
        state = loaded.state
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ResumeError(
                f"{loaded.path} has checkpoint format {state.get('format')!r}, this runtime reads "
                f"{CHECKPOINT_FORMAT}"
            )
        _check_state(state, loaded.path)
        diffs = _differences(state["fingerprint"], self.fingerprint)
        if diffs:
            raise ResumeError(
                f"{loaded.path.name} was written by another run configuration: "
                + "; ".join(diffs)
                + " (run with the same settings, or start fresh without --resume)"
            )
        try:
            self.journal.start_replay(state["journal"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ResumeError(f"{loaded.path.name} holds a malformed job journal ({exc!r})") from None
        self.resumed = Resumed(loaded.step, loaded.path, state, time.perf_counter())
        self._next_due = (
            None if self.every_s <= 0 else (int(state["sim_s"] / self.every_s) + 1) * self.every_s
        )
        return (f"{skipped.lstrip()}\n" if skipped else "") + (
            f"resuming from {loaded.path.name}: tick {loaded.step}, {state['sim_s']:.3f} simulated s, "
            f"{len(state['journal']['records'])} learner job(s) journalled"
        )

    @property
    def replaying(self) -> bool:
        return self.resumed is not None

    def begin(self) -> None:
        background.set_journal(self.journal, lambda: self.runtime.steps)

    def close(self) -> None:
        """Detach the journal; a replay that never reached its checkpoint gives the printer back."""
        background.set_journal(None)
        if self.resumed is not None and self.on_resumed is not None:
            self.on_resumed()

    # --- per tick ----------------------------------------------------------------------------------------
    def end_tick(self) -> None:
        self.journal.end_tick(self.runtime.steps)

    def after_tick(self) -> str | None:
        """After the clock moved: finish a replay that reached its checkpoint, write a pending checkpoint whose
        jobs have ended, or take one that is due. Returns a line for the user (None: nothing happened)."""
        steps = self.runtime.steps
        if self.resumed is not None:
            if steps < self.resumed.tick:
                return None
            return self._finish_replay()
        line = self._write_pending(wait=False)
        if self._next_due is not None and self.runtime.clock.elapsed_s >= self._next_due - 1e-9:
            while self._next_due <= self.runtime.clock.elapsed_s + 1e-9:
                self._next_due += self.every_s
            line = "\n".join(x for x in (line, self.save(wait=False)) if x) or None
        return line

    def digest(self) -> str:
        text = (
            "\n".join(self.lines)
            + f"\n#messages={self.runtime.router.delivered}\n#ticks={self.runtime.steps}"
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def save(self, wait: bool = True) -> str | None:
        """Takes the checkpoint of the current tick: the journal up to now, the digest and the generators at
        once; each processor's state once the job it may be running has ended (a learner's step deferred
        across ticks: its state is known only then, and the journal then holds that job's outcome). With
        ``wait`` the file is written before returning; else at a later tick's :meth:`after_tick`, while the
        run goes on. Returns the line for the user once written."""
        if self.replaying:
            return None
        runtime = self.runtime
        snapshots = {}
        for node in runtime.running:
            proc = processor_of(node)
            if proc is not None:
                snapshots[node.node_name] = background.after_lane(
                    getattr(proc, "lane", None), proc.checkpoint_state
                )
        self._pending.append(
            _Pending(
                tick=runtime.steps,
                sim_s=runtime.clock.elapsed_s,
                jobs=len(self.journal.records),
                rngs=capture_rngs(),
                digest=self.digest(),
                snapshots=snapshots,
            )
        )
        return self._write_pending(wait)

    def _write_pending(self, wait: bool) -> str | None:
        """Writes the pending checkpoints, oldest first, whose processors' states and jobs' outcomes are known
        (with ``wait``: all of them, waiting for their jobs); returns their lines (None: none written)."""
        if wait and self._pending:
            background.wait_all()
            for pending in self._pending:
                for snapshot in pending.snapshots.values():
                    snapshot.exception()
        self.journal.collect()
        lines = []
        while self._pending:
            pending = self._pending[0]
            if not all(f.done() for f in pending.snapshots.values()):
                break
            if not self.journal.complete_upto(pending.jobs):
                break
            self._pending.pop(0)
            lines.append(self._write(pending))
        return "\n".join(lines) or None

    def _write(self, pending: _Pending) -> str:
        state = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "sim_s": pending.sim_s,
            "journal": self.journal.to_state(pending.jobs, pending.tick),
            "processors": {name: f.result() for name, f in pending.snapshots.items()},
            "rngs": pending.rngs,
            "digest": pending.digest,
        }
        meta = {"tick": pending.tick, "sim_s": pending.sim_s, "jobs": pending.jobs}
        saving = time.perf_counter()
        path = self.store.save(state, step=pending.tick, meta=meta)
        self.last_saved_tick = pending.tick
        self.save_s.append(time.perf_counter() - saving)
        late = "" if pending.tick == self.runtime.steps else f", written at tick {self.runtime.steps}"
        return f"checkpoint {path.name} written (tick {pending.tick}{late}, {self.save_s[-1]:.2f} s)"

    def _finish_replay(self) -> str:
        resumed, self.resumed = self.resumed, None
        state = resumed.state
        if self.journal.replaying:
            raise ResumeError(
                f"the replay reached tick {resumed.tick} of {resumed.path.name} with journalled "
                "jobs left over: the world's code or configuration changed"
            )
        if self.digest() != state["digest"]:
            raise ResumeError(
                f"the replay of {resumed.path.name} did not reproduce the run up to tick "
                f"{resumed.tick} (its log or messages differ): not resuming a different run"
            )
        by_name = {node.node_name: node for node in self.runtime.running}
        for name, proc_state in state["processors"].items():
            node = by_name.get(name)
            proc = processor_of(node) if node is not None else None
            if proc is None:
                raise ResumeError(
                    f"{resumed.path.name} holds the processor of {name!r}, which this run lacks"
                )
            try:
                proc.restore_checkpoint_state(proc_state)
            except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
                raise ResumeError(
                    f"{resumed.path.name}: the processor of {name!r} does not load ({exc!r})"
                ) from None
        restore_rngs(state["rngs"])
        self.last_saved_tick = resumed.tick
        if self.on_resumed is not None:
            self.on_resumed()
        took = time.perf_counter() - resumed.started
        return (
            f"resumed at tick {resumed.tick} ({state['sim_s']:.3f} simulated s) after replaying the world in "
            f"{took:.1f} s with {self.journal.replayed_jobs} job(s) from the journal"
        )


def open_checkpointer(runtime: Any, printer: Any, write: Callable[[str], None]) -> Checkpointer:
    """The in-process run's checkpointer (``runtime.config``'s ``checkpoint_dir``, default
    ``<out>/checkpoints``; ``checkpoint_every_s``, else a node's ``save_checkpoint_every``; ``keep``). With
    ``resume`` (or a node's ``run(resume_from_checkpoint=True)``) it is armed to replay up to the newest
    checkpoint, ``printer`` (``.quiet``, ``.lines``) silent until it is reached. :class:`ResumeError` when the
    checkpoint belongs to another configuration."""
    config = runtime.config
    folder = Path(config.checkpoint_dir or runtime.out_dir / "checkpoints")
    every = config.checkpoint_every_s or runtime.checkpoint_every_requested
    checkpointer = Checkpointer(runtime, printer.lines, folder, every, config.keep)
    if config.resume or runtime.resume_requested:
        write(checkpointer.load_for_resume())
        if checkpointer.replaying:
            printer.quiet = True
            shown = sys.stdout
            sys.stdout = io.StringIO()  # the world's own prints of the replayed ticks were shown already

            def resumed() -> None:
                printer.quiet = config.quiet
                sys.stdout = shown

            checkpointer.on_resumed = resumed
    runtime.checkpointer = checkpointer
    runtime.say = write
    checkpointer.begin()
    return checkpointer
