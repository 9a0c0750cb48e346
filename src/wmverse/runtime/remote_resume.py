"""A restartable agent process: its tick log, its checkpoints, and the replay that brings a restarted process
back to the tick its hub is waiting on.

run_asynch.py (``--restart-agents N``) gives each agent process a journal folder. The process logs the hub's
welcome and every tick the hub sends (:class:`~wmverse.runtime.ticklog.TickLog`) before stepping it, and
checkpoints itself every ``checkpoint_every_s`` simulated seconds (:mod:`wmverse.runtime.checkpointing`: the
job journal, the processors, the generators). When the process is killed, the lockstep hub holds the tick
and its parent starts it again with ``resume``; the hub's welcome then says which tick it will send next
(``resume_tick``). The new process builds its nodes from the original welcome, replays the logged ticks
before ``resume_tick`` with everything it would send discarded (the hub has it already): learner jobs up
to its newest checkpoint at or before that tick come from the journal, the processors are loaded there and
the digest checked, later ticks are computed again. It then tells the hub ``resumed`` and answers the tick
the hub sends again, as the killed process would have.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Any

from wmverse.runtime.checkpointing import Checkpointer, ResumeError
from wmverse.runtime.ticklog import TickLog

__all__ = ["JOURNAL_LOCK_WAIT_S", "RemoteResume", "lock_journal"]

#: Seconds a process waits for its journal folder to be free (the process it replaces may still be exiting).
JOURNAL_LOCK_WAIT_S = 60.0


def lock_journal(folder: Path, wait_s: float = JOURNAL_LOCK_WAIT_S) -> Any:
    """An exclusive lock on ``folder``'s journal, held for the process's life (the open file: closing it or
    exiting releases it); :class:`ResumeError` when another process still holds it after ``wait_s`` s, so that
    two processes never write one journal (a killed run's agent process may outlive its parent briefly)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / "lock", "a+")  # noqa: SIM115 - held until the process ends
    end = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= end:
                handle.close()
                raise ResumeError(
                    f"the journal {folder} is in use by another process (waited {wait_s:.0f} s)"
                ) from None
            time.sleep(0.05)


class RemoteResume:
    """Mixin of :class:`~wmverse.runtime.remote.RemoteClient` (which holds ``config``, ``runtime``,
    ``printer``, ``outbox``, ``write`` and the tick methods used here)."""

    ticklog: TickLog | None = None
    resume_run = False
    _replay_ticks: list[tuple[dict[str, Any], list[bytes]]] = []

    async def _read_welcome(self, timeout: float) -> dict[str, Any]:
        """The hub's welcome (resuming, a tick meant for the killed process is skipped: it comes again)."""
        welcome, _ = await self._read(timeout)
        while self.config.resume and welcome.get("type") == "tick":
            welcome, _ = await self._read(timeout)
        return welcome

    def _open_journal(self, welcome: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """The welcome to build this process from and the tick to resume at (None: a fresh process).

        Fresh: starts the tick log with this welcome. Restarted (the hub's welcome has ``resume_tick``): the
        original welcome and the logged ticks before ``resume_tick`` (:class:`ResumeError` when the log does
        not reach it)."""
        cfg = self.config
        if cfg.journal_dir is None:
            if welcome.get("resume_tick") is not None:
                raise ResumeError("the hub asks this process to resume, but it keeps no journal")
            return welcome, None
        self._journal_lock = lock_journal(cfg.journal_dir)
        self.ticklog = TickLog(cfg.journal_dir / "ticks.log")
        resume_tick = welcome.get("resume_tick")
        # the whole run resumes from tick 0: run_asynch's parent says so (config), a served hub in its welcome
        self.resume_run = resume_tick is None and (cfg.resume_run or welcome.get("resume_run") is True)
        if resume_tick is None:
            self.ticklog.start()
            self.ticklog.append(welcome)
            return welcome, None
        records = self.ticklog.read()
        if not records or records[0][0].get("type") != "welcome":
            raise ResumeError(f"{self.ticklog.path} holds no welcome: nothing to resume from")
        same = ("rank", "seed", "epoch_s", "tick_ms", "worlds")
        if any(records[0][0].get(k) != welcome.get(k) for k in same):
            raise ResumeError(
                f"{self.ticklog.path} was written in another run (its {', '.join(same)} differ)"
            )
        ticks = [(h, b) for h, b in records[1:] if h.get("type") == "tick" and int(h["t"]) < int(resume_tick)]
        first = int(ticks[0][0]["t"]) if ticks else int(resume_tick)
        if [int(h["t"]) for h, _ in ticks] != list(range(first, int(resume_tick))):
            raise ResumeError(f"{self.ticklog.path} does not hold every tick before tick {resume_tick}")
        self._replay_ticks = ticks
        self.ticklog.resume(keep=1 + len(ticks))
        return records[0][0], int(resume_tick)

    def _start_checkpoints(self, resume_tick: int | None) -> None:
        """This process's checkpointer (only with a journal folder); armed to replay when resuming: this
        process alone (``resume_tick``: from its tick log), or the whole run (``resume_run``: run_asynch's
        parent or a served hub's welcome said so; the hub runs again from tick 0 and its ticks drive the
        replay up to the newest checkpoint)."""
        cfg, runtime = self.config, self.runtime
        if cfg.journal_dir is None:
            return
        checkpointer = Checkpointer(
            runtime, self.printer.lines, cfg.journal_dir / "checkpoints", cfg.checkpoint_every_s, cfg.keep
        )
        if resume_tick is not None or self.resume_run:  # this process alone, or the whole run from tick 0
            self.write(
                f"{'+'.join(s.name for s in cfg.scripts)}: {checkpointer.load_for_resume(resume_tick)}"
            )
        runtime.checkpointer = checkpointer
        checkpointer.begin()

    def _log_tick(self, header: dict[str, Any], blobs: list[bytes]) -> None:
        if self.ticklog is not None:
            self.ticklog.append(header, blobs)

    def _tick_done(self, header: dict[str, Any]) -> None:
        """After a tick was stepped: the checkpointer's turn (finish a replay, or save when due)."""
        checkpointer = self.runtime.checkpointer
        if checkpointer is None:
            return
        self.runtime.steps = int(header["t"]) + 1  # ticks done (the next tick's header sets it again)
        line = checkpointer.after_tick()
        if line and line.startswith("resumed"):
            self.write(f"{'+'.join(s.name for s in self.config.scripts)}: {line}")

    async def _replay(self) -> None:
        """Steps the logged ticks before the resume tick, discarding what they send (the hub has it)."""
        runtime = self.runtime
        for header, blobs in self._replay_ticks:
            await self._apply_tick(header, blobs)
            await runtime.step_nodes()
            self._tick_done(header)
            self.outbox.take()
        checkpointer = runtime.checkpointer
        if checkpointer is not None and checkpointer.replaying:
            raise ResumeError(
                f"the replay ended at tick {runtime.steps} before its checkpoint's tick {checkpointer.resumed.tick}"
            )
        self._sent_transitions = len(self.printer.lines)
        self.printed = []
        runtime.transition_log = []
        scripts = "+".join(s.name for s in self.config.scripts)
        self.write(
            f"{scripts}: replayed {len(self._replay_ticks)} tick(s) of its journal, resuming at tick "
            f"{runtime.steps}"
        )
        self._replay_ticks = []

    def _close_journal(self) -> None:
        if self.ticklog is not None:
            self.ticklog.close()
        if getattr(self, "_journal_lock", None) is not None:
            self._journal_lock.close()
        if self.runtime is not None and self.runtime.checkpointer is not None:
            self.runtime.checkpointer.close()
