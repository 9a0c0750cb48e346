"""A learner's runner in a process of its own, so that the learners of one process compute at the same time.

``run_synch.py`` runs every agent of a world in one process, and a learner's request runs on a background
thread (:mod:`wmverse.runtime.background`). Threads of one process share the GIL (the learners' small torch
ops are bound by Python's dispatch) and torch's global generator, so two learners on two threads would be
neither faster nor reproducible. :class:`RunnerProcess` hosts the runner in a child process instead (forked
where the parent may fork, else spawned): the calling thread only waits on a pipe, each learner computes on a
core of its own, and each child owns its global generators, seeded with the learner's seed when it starts (the
runners seed what they draw from, so a learner gives the same numbers here, in its own agent process under
``run_asynch.py``, or on a thread).

Contract: a :class:`~agents.learners.LearnerRunner` once :meth:`RunnerProcess.build` was called. Its
:meth:`~RunnerProcess.state_dict` is ``{"runner": the child runner's state_dict(), "rngs": the child's
global generators}`` and :meth:`~RunnerProcess.load_state_dict` takes the same. A request that raises in the
child raises the same exception type (ValueError, RuntimeError, KeyError, TypeError, IndexError,
ArithmeticError; others as RuntimeError) with the same message here. A child that dies (killed, out of
memory) makes every later call raise RuntimeError naming the learner and its exit code. The child ignores
Ctrl-C (the parent decides when to stop), ends when :meth:`close` is called or the parent closes its end of
the pipe, and on Linux is killed with its parent (``PR_SET_PDEATHSIG``; so create it on a thread that lives
as long as the run, e.g. the main thread).
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import sys
import threading
import types
import weakref
from collections.abc import Mapping
from typing import Any

from agents.learners.base import LearnerRunner
from wmverse.lifetime import die_with_parent
from wmverse.runtime.journal import rebuild_exception

__all__ = ["RunnerProcess"]

#: Seconds :meth:`RunnerProcess.close` waits for the child before killing it.
CLOSE_WAIT_S = 5.0


def _serve(conn: Any, kind: str) -> None:
    """The child: imports the learner libraries, then answers (op, ...) messages until told to close."""
    die_with_parent(signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import random

    import numpy as np
    import torch

    from agents.learners import config_from_payload, make_runner
    from wmverse.checkpoint.rng import capture_rngs, restore_rngs
    from wmverse.runtime.threads import configure_threads

    configure_threads()
    runner: LearnerRunner | None = None
    while True:
        try:
            op, *args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if op == "close":
                conn.send(("ok", None))
                return
            if op == "build":
                payload, seed = args
                random.seed(seed)
                np.random.seed(seed % (2**32))
                torch.manual_seed(seed)
                runner = make_runner(kind, config_from_payload(kind, payload))
                out: Any = None
            elif runner is None:
                raise RuntimeError(f"the {kind} learner's process got {op!r} before its runner was built")
            elif op == "run":
                out = runner.run(*args)
            elif op == "state":
                out = pickle.dumps(_pack({"runner": runner.state_dict(), "rngs": capture_rngs()}), protocol=5)
            elif op == "load":
                state = _unpack(pickle.loads(args[0]))  # from the parent that started this process
                runner.load_state_dict(state["runner"])
                restore_rngs(state["rngs"])
                out = None
            elif op == "status":
                out = runner.status()
            else:
                raise ValueError(f"unknown request {op!r} to the {kind} learner's process")
            conn.send(("ok", out))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, named
            conn.send(("error", type(exc).__name__, str(exc)))


#: Marks a tensor sent as a numpy array (see :func:`_pack`).
_TENSOR = "__wmverse_tensor__"


def _pack(obj: Any) -> Any:
    """``obj`` with every CPU tensor as ``(_TENSOR, numpy array)``: numpy arrays pickle and unpickle in
    microseconds, torch tensors one storage at a time (a state of many small tensors took 14 ms for 300 kB)."""
    import torch

    if isinstance(obj, torch.Tensor) and obj.device.type == "cpu" and obj.dtype != torch.bfloat16:
        return (_TENSOR, obj.detach().numpy())
    if isinstance(obj, dict):
        return type(obj)((k, _pack(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_pack(v) for v in obj)
    return obj


def _unpack(obj: Any) -> Any:
    """The inverse of :func:`_pack` (tensors own their memory again)."""
    import torch

    if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == _TENSOR:
        return torch.from_numpy(obj[1])
    if isinstance(obj, dict):
        return type(obj)((k, _unpack(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_unpack(v) for v in obj)
    return obj


def _close(conn: Any, process: Any, lock: threading.Lock) -> None:
    """Asks an idle child to end; kills a busy one (a request still running: the run was cut short)."""
    if lock.acquire(timeout=0.5):
        try:
            conn.send(("close",))
            conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            pass
        finally:
            lock.release()
    else:
        process.kill()
    conn.close()
    process.join(CLOSE_WAIT_S)
    if process.is_alive():
        process.kill()
        process.join(CLOSE_WAIT_S)


class RunnerProcess(LearnerRunner):
    """The runner of one learner in a spawned child process (see the module docstring)."""

    def __init__(self, kind: str, start_method: str = "spawn") -> None:
        """Starts the child at once (spawned, it imports the learner libraries meanwhile; forked, it has them);
        :meth:`build` gives it the config. ``start_method``: "fork" only where this process may fork (no
        thread holds a lock the child needs; not after unaiverse's Go libp2p library was loaded)."""
        self.kind = kind
        ctx = multiprocessing.get_context(start_method)
        self._conn, child_end = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child_end, kind), name=f"wmverse-{kind}", daemon=True
        )
        # The runtime loads a world's scripts as ``__main__``; spawn would run the current ``__main__`` again in
        # the child (a script that starts a node). The child needs only this module: hide ``__main__``.
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self._process.start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main
        child_end.close()
        self._lock = threading.Lock()
        self.built = False
        self._closer = weakref.finalize(self, _close, self._conn, self._process, self._lock)

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid

    def _call(self, *message: Any) -> Any:
        with self._lock:
            try:
                self._conn.send(message)
                reply = self._conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._process.join(1.0)
                raise RuntimeError(
                    f"the {self.kind} learner's process ended (exit code {self._process.exitcode})"
                ) from exc
        if reply[0] == "error":
            raise rebuild_exception(reply[1], reply[2])
        return reply[1]

    def build(self, payload: Mapping[str, Any], seed: int) -> None:
        """Seed the child's global generators with ``seed`` and build its runner from the config ``payload``
        (its JSON form); a bad config raises ValueError here."""
        self._call("build", dict(payload), int(seed))
        self.built = True

    def run(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("run", action, dict(args))

    def state_dict(self) -> dict[str, Any]:
        # as bytes, tensors as numpy arrays: sent as objects they would go through shared memory one by one
        return _unpack(pickle.loads(self._call("state")))  # from the child this object started

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._call("load", pickle.dumps(_pack(state), protocol=5))

    def status(self) -> str:
        return self._call("status")

    def close(self) -> None:
        """Stop the child (an idle one is asked and given :data:`CLOSE_WAIT_S`, a busy one killed); later calls
        raise."""
        self._closer()

    def __repr__(self) -> str:
        return f"RunnerProcess({self.kind!r}, pid={self.pid}, built={self.built})"
