"""A child process that does not outlive its parent (Linux ``PR_SET_PDEATHSIG``; a no-op elsewhere).

Shared by the runtime's agent processes (``wmverse.runtime.children``), a learner's runner process
(``agents.learner_process``) and the dynamics evaluation's forked shares (``wmverse.dynamics.forked``).
"""

from __future__ import annotations

import os
import signal

__all__ = ["die_with_parent"]

#: ``prctl`` option: the signal this process gets when the thread that created it ends.
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent_pid: int | None = None) -> None:
    """Asks Linux to send ``sig`` to this process when its parent dies. With ``parent_pid`` (the parent's pid,
    read before the fork), exits at once (code 1) when that parent died before the request took effect."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
