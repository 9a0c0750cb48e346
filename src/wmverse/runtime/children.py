"""The agent processes of a run_asynch.py run: started (forked or spawned), watched, and restarted.

A child never outlives its parent: it gets SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``).
:class:`Supervisor` fails the run when a child exits non-zero, or, with restarts left, starts a child that
was killed by a signal again so that it resumes from its journal (:mod:`wmverse.runtime.remote_resume`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from wmverse.lifetime import die_with_parent
from wmverse.runtime.channels import PipeChannel
from wmverse.runtime.config import RuntimeConfig
from wmverse.runtime.errors import ScriptFailure

__all__ = ["DEATH_GRACE_S", "START_METHODS", "Child", "Supervisor", "start_child"]

#: How children are started: forked from this process (fast) or fresh interpreters.
START_METHODS = ("fork", "spawn")

#: Seconds between a child's non-zero exit and the run failing on it (its 'fail' frame may still be in flight).
DEATH_GRACE_S = 1.0


@dataclass
class Child:
    """One agent process of a run: one agent script, or several (``run_processes(processes=K)``)."""

    scripts: tuple[Path, ...]
    """The run_*.py it runs, in script order."""
    rank: int
    """Its canonical position (1, 2, ... in script order)."""
    pid: int
    """Its process id."""
    popen: subprocess.Popen | None = None
    """The Popen object when spawned (None when forked)."""
    returncode: int | None = None
    """Its exit status once reaped (negative: killed by that signal)."""
    died_at: float | None = None
    """When a non-zero exit was first seen (monotonic seconds)."""

    @property
    def script(self) -> Path:
        """Its first script (the one that names it)."""
        return self.scripts[0]

    @property
    def label(self) -> str:
        """How messages name it: ``run_0001.py``, or ``run_0001.py..run_0067.py`` for several scripts."""
        first, last = self.scripts[0].name, self.scripts[-1].name
        return first if len(self.scripts) == 1 else f"{first}..{last}"

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.popen is not None:
                self.returncode = self.popen.poll()
            else:
                try:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    return self.returncode
                if pid == self.pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def terminate(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        return self.returncode


def start_child(
    scripts: tuple[Path, ...],
    rank: int,
    pipe: socket.socket,
    out_dir: Path,
    method: str,
    close_fds: list[int],
    journal: dict | None = None,
) -> Child:
    """Starts one agent process running ``scripts``, joined to this process's hub through its end of a
    socket pair, ``pipe`` (``close_fds``: the parent's ends, closed in a forked child). ``journal``:
    ``journal_dir``, ``checkpoint_every_s`` and ``keep`` of a restartable process (see ``remote_resume``)."""
    parent = os.getpid()
    journal = journal or {}
    if method == "fork":
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (its result reaches the parent as the exit code)
            code = 1
            try:
                for fd in close_fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                die_with_parent(signal.SIGTERM, parent)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                from wmverse.runtime.remote import JoinConfig, join_hub

                code = join_hub(
                    JoinConfig("", scripts, rank, out_dir, echo=False, pipe_fd=pipe.fileno(), **journal)
                )
            except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the parent's code
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        return Child(scripts, rank, pid)
    if method != "spawn":
        raise ValueError(f"start method must be one of {START_METHODS}, got {method!r}")
    cmd = [sys.executable, "-m", "wmverse.runtime.remote", "--fd", str(pipe.fileno()), *map(str, scripts)]
    cmd += ["--rank", str(rank), "--out", str(out_dir), "--quiet"]
    if journal.get("journal_dir") is not None:
        cmd += [
            "--journal",
            str(journal["journal_dir"]),
            "--checkpoint-every",
            str(journal["checkpoint_every_s"]),
        ]
        cmd += ["--keep", str(journal["keep"])] + (["--resume-run"] if journal.get("resume_run") else [])
    popen = subprocess.Popen(  # noqa: PLW1509
        cmd, pass_fds=(pipe.fileno(),), preexec_fn=lambda: die_with_parent(signal.SIGTERM, parent)
    )
    return Child(scripts, rank, popen.pid, popen)


class Supervisor:
    """The children of a run: fails the run when one exits non-zero (:meth:`watch`), or, with restarts left,
    starts one that was killed by a signal again to resume from its journal (:meth:`restart`)."""

    def __init__(self, children: list[Child], out_dir: Path, restarts: int, config: RuntimeConfig) -> None:
        self.children = children
        self.out_dir = out_dir
        self.restarts = restarts
        self.config = config
        self.pipes: list[PipeChannel] = []  # channels to restarted children (closed at the end)

    def journal(self, scripts: tuple[Path, ...], rank: int, restart: bool = False) -> dict | None:
        """The journal of the agent process of ``rank`` (``OUT/agents/<rank>-<first script>``, with
        ``+<n>`` for n more scripts): kept when the processes may be restarted, checkpoint, or the run resumes
        (None: no journal). ``resume_run``: the whole run resumes (``--resume``), not this process alone
        (``restart``)."""
        config = self.config
        more = f"+{len(scripts) - 1}" if len(scripts) > 1 else ""
        if self.restarts <= 0 and config.checkpoint_every_s <= 0 and not config.resume:
            return None
        return {
            "journal_dir": self.out_dir / "agents" / f"{rank:02d}-{scripts[0].stem}{more}",
            "checkpoint_every_s": config.checkpoint_every_s,
            "keep": config.keep,
            "resume_run": config.resume and not restart,
        }

    def _restartable(self, child: Child) -> bool:
        return self.restarts > 0 and (child.returncode or 0) < 0

    def watch(self) -> None:
        """Raises ScriptFailure (through the hub) when a child has exited non-zero for DEATH_GRACE_S (one
        killed by a signal is left to :meth:`restart` while restarts remain)."""
        now = time.monotonic()
        for child in self.children:
            code = child.poll()
            if code not in (None, 0) and not self._restartable(child):
                child.died_at = child.died_at or now
                if now - child.died_at >= DEATH_GRACE_S:
                    raise ScriptFailure(
                        f"agent process {child.label} (pid {child.pid}) exited with code {code}",
                        child.script,
                        None,
                        None,
                        None,
                    )

    def restart(self, rank: int) -> PipeChannel | None:
        """The started channel to a new process for ``rank`` resuming from its journal; None when its process
        is not to be restarted (no restarts left, or it ended by itself: a failure, reported as before)."""
        child = self.children[rank - 1]
        if child.wait(5.0) is None:  # its channel closed but it lingers: make it go
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            child.wait(5.0)
        if not self._restartable(child):
            return None
        journal = self.journal(child.scripts, rank, restart=True)
        self.restarts -= 1
        mine, theirs = socket.socketpair()
        # a fresh interpreter (this process has threads now: forking it would be unsafe)
        new = start_child(child.scripts, rank, theirs, self.out_dir, "spawn", [], journal)
        theirs.close()
        self.children[rank - 1] = new
        chan = PipeChannel.from_fd(mine.detach(), f"{child.label} (pid {new.pid})").start()
        self.pipes.append(chan)
        return chan
