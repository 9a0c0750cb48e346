"""Runtime for unaiverse world folders on one synthetic clock: in one process, as local processes, or served.

Public API (imported lazily: unaiverse costs seconds to import)::

    from wmverse.runtime import RuntimeConfig, run_world, run_processes, serve_world, join_hub, JoinConfig
    result = run_world("worlds/training", RuntimeConfig(seed=0, max_steps=5000))      # run_synch.py
    result = run_processes("worlds/training", RuntimeConfig(seed=0))                   # run_asynch.py
    result = serve_world("worlds/training", RuntimeConfig(), ServeOptions(token="..."))  # run_w.py
    code = join_hub(JoinConfig("WMTraining", ("worlds/training/run_curiosity.py",), token="..."))  # join

See ``runner.run_world``, ``processes.run_processes`` and ``remote.join_hub`` for the contracts. Every run
is recorded in a run store (``RuntimeConfig.db`` / ``--db``, else env ``WMVERSE_DB``, else
``<world folder>/runs.db``): see ``recorder``; ``result.run_id`` is its id there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from wmverse.runtime.config import RunResult, RuntimeConfig
    from wmverse.runtime.hub import Hub, HubConfig
    from wmverse.runtime.processes import ServeOptions, run_processes, serve_world
    from wmverse.runtime.remote import JoinConfig, join_hub
    from wmverse.runtime.runner import run_world

__all__ = [
    "Hub",
    "HubConfig",
    "JoinConfig",
    "RunResult",
    "RuntimeConfig",
    "ServeOptions",
    "join_hub",
    "run_processes",
    "run_world",
    "serve_world",
]

_LAZY = {
    "Hub": "wmverse.runtime.hub",
    "HubConfig": "wmverse.runtime.hub",
    "JoinConfig": "wmverse.runtime.remote",
    "join_hub": "wmverse.runtime.remote",
    "run_processes": "wmverse.runtime.processes",
    "serve_world": "wmverse.runtime.processes",
    "ServeOptions": "wmverse.runtime.processes",
}


def __getattr__(name: str) -> Any:
    if name in ("RunResult", "RuntimeConfig"):
        from wmverse.runtime import config

        return getattr(config, name)
    if name == "run_world":
        from wmverse.runtime.runner import run_world

        return run_world
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
