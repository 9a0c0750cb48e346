"""Process-wide patches a run needs, each a context manager that restores what it changed.

- :func:`seeded_globals` seeds ``random``, ``numpy`` and ``torch`` (user scripts may use them).
- :func:`seeded_interaction_ids` makes unaiverse's interaction/agent ids come from a seeded stream.
- :func:`offline_profiles` keeps ``NodeProfile`` from probing the machine and the internet.
- :func:`local_node_class` makes ``from unaiverse.networking.node.node import Node`` give ``LocalNode``.
- :func:`world_sandbox` puts the world folder on ``sys.path`` and in the cwd, and forgets the
  modules loaded from it afterwards (two worlds in one process must not share ``src``).
- :func:`framework_globals` restores the class-level role tables and ``Custom`` knobs unaiverse mutates.
- :func:`recorded_transitions` logs every completed state-machine transition in ``runtime.transition_log``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import random
import sys
import uuid as _real_uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Seeds the global generators of random, numpy and torch; restores random's and numpy's state."""
    import torch

    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)


class _SeededUuidModule:
    """Stands in for ``uuid`` inside unaiverse: ``uuid4()`` draws from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid4(self) -> _real_uuid.UUID:
        return _real_uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def __getattr__(self, name: str):
        return getattr(_real_uuid, name)


@contextlib.contextmanager
def seeded_interaction_ids(seed: int) -> Iterator[None]:
    """Replaces the ``_uuid`` name in unaiverse's agent and interaction modules by a seeded stream."""
    import unaiverse.agent_basics as agent_basics
    import unaiverse.interaction as interaction

    fake = _SeededUuidModule(seed)
    saved = [(m, m.__dict__["_uuid"]) for m in (agent_basics, interaction)]
    try:
        for module, _ in saved:
            module._uuid = fake
        yield
    finally:
        for module, original in saved:
            module._uuid = original


#: Machine facts a local profile reports: fixed, so profiles (and what the world stores) are reproducible.
LOCAL_SPECS = {
    "os": "local",
    "cpu_cores": 1,
    "logical_cpus": 1,
    "memory_gb": 0.0,
    "memory_avail": 0.0,
    "memory_used": 0.0,
    "public_ip_address": "127.0.0.1",
    "guessed_location": "local",
}


@contextlib.contextmanager
def offline_profiles(timestamp: str) -> Iterator[None]:
    """Stops ``NodeProfile`` from reading the machine and calling IP/geolocation services."""
    from unaiverse.networking.node.profile import NodeProfile

    original = NodeProfile.__dict__["_get_current_specs"]

    def _local_specs(self) -> dict:
        return dict(LOCAL_SPECS, timestamp=timestamp)

    NodeProfile._get_current_specs = _local_specs
    try:
        yield
    finally:
        NodeProfile._get_current_specs = original


@contextlib.contextmanager
def local_node_class(local_node_cls: type) -> Iterator[None]:
    """Makes the name ``Node`` in unaiverse's node module (and the package re-export) the local node."""
    import unaiverse.networking.node.node as node_module

    targets = [node_module]
    try:
        import unaiverse.networking.node as node_pkg

        if "Node" in node_pkg.__dict__:
            targets.append(node_pkg)
    except ImportError:  # pragma: no cover - the package always exists in 0.1.31
        pass
    saved = [(t, t.__dict__["Node"]) for t in targets]
    try:
        for target in targets:
            target.Node = local_node_cls
        yield
    finally:
        for target, original in saved:
            target.Node = original


def _is_under(path: str | None, folder: Path, real_dirs: dict[str, bool] | None = None) -> bool:
    """Whether ``path`` resolves (symlinks followed) to a place under ``folder`` (a resolved path).

    ``real_dirs`` caches, per directory, whether it resolves under ``folder``: the modules of a process
    share a few hundred directories, and a file that is not itself a symlink resolves to its resolved
    directory plus its name."""
    if not path:
        return False
    try:
        if real_dirs is None or os.path.islink(path):
            return Path(path).resolve().is_relative_to(folder)
        directory = os.path.dirname(path)
        inside = real_dirs.get(directory)
        if inside is None:  # the directory under the folder (its file then too), or the folder itself
            inside = real_dirs[directory] = Path(directory).resolve().is_relative_to(folder)
        return inside
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def world_sandbox(world_folder: Path) -> Iterator[None]:
    """Runs the body with cwd = world folder, the folder first on sys.path, and a clean module table.

    Modules whose top-level name is a package/module of the world folder (``src``, ``agents``...) are
    dropped from ``sys.modules`` before and after, so each run imports its own world's files.
    """
    world_folder = world_folder.resolve()
    local_tops = {
        p.stem if p.suffix == ".py" else p.name
        for p in world_folder.iterdir()
        if (p.is_dir() and not p.name.startswith((".", "_"))) or p.suffix == ".py"
    }

    def _forget() -> None:
        real_dirs: dict[str, bool] = {}
        for name in list(sys.modules):
            module = sys.modules.get(name)
            top = name.split(".")[0]
            if (
                top in local_tops
                or top.startswith("_wmv_world_")
                or _is_under(getattr(module, "__file__", None), world_folder, real_dirs)
            ):
                sys.modules.pop(name, None)

    old_cwd = os.getcwd()
    old_path = list(sys.path)
    old_argv = list(sys.argv)
    _forget()
    sys.path.insert(0, str(world_folder))
    os.chdir(world_folder)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        sys.argv[:] = old_argv
        _forget()


#: ``Custom`` attributes that unaiverse's Node (and so the local node) overwrites.
_CUSTOM_KNOBS = ("SEND_STATS_EVERY", "SAVE_CHECKPOINT_EVERY")


@contextlib.contextmanager
def framework_globals() -> Iterator[None]:
    """Restores unaiverse's class-level role tables and ``Custom`` knobs after the run."""
    from unaiverse.agent_basics import AgentBasics
    from unaiverse.custom import Custom

    bits_to_str = copy.copy(AgentBasics.ROLE_BITS_TO_STR)
    str_to_bits = copy.copy(AgentBasics.ROLE_STR_TO_BITS)
    custom_roles = list(AgentBasics.CUSTOM_ROLES)
    knobs = {k: getattr(Custom, k) for k in _CUSTOM_KNOBS}
    try:
        yield
    finally:
        AgentBasics.ROLE_BITS_TO_STR.clear()
        AgentBasics.ROLE_BITS_TO_STR.update(bits_to_str)
        AgentBasics.ROLE_STR_TO_BITS.clear()
        AgentBasics.ROLE_STR_TO_BITS.update(str_to_bits)
        AgentBasics.CUSTOM_ROLES.clear()
        AgentBasics.CUSTOM_ROLES.extend(custom_roles)
        for k, v in knobs.items():
            setattr(Custom, k, v)


@contextlib.contextmanager
def recorded_transitions(runtime: Any) -> Iterator[None]:
    """While ``runtime.transition_log`` is a list, every transition a state machine completes (its action
    done, ``act_transitions`` answering 0; self-loops too) is appended to it as ``(node name, from state,
    to state, action, simulated time)``; the node is the one the runtime is stepping."""
    from unaiverse.hsm import HybridStateMachine

    original = HybridStateMachine.__dict__["act_transitions"]

    @functools.wraps(original)
    async def act_transitions(self, *args, **kwargs):
        status = await original(self, *args, **kwargs)
        log = runtime.transition_log
        if status == 0 and log is not None:
            node = runtime.current_node
            who = node.node_name if node is not None else "runtime"
            action = self.get_last_completed_action_name()
            log.append((who, self.prev_state, self.state, action, runtime.clock.get_time()))
        return status

    HybridStateMachine.act_transitions = act_transitions
    try:
        yield
    finally:
        HybridStateMachine.act_transitions = original
