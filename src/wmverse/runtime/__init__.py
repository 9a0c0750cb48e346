"""In-process runtime for unaiverse world folders on one synthetic clock.

Public API (imported lazily: unaiverse costs seconds to import)::

    from wmverse.runtime import RuntimeConfig, run_world
    result = run_world("worlds/training", RuntimeConfig(seed=0, max_steps=5000))

See ``runner.run_world`` for the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from wmverse.runtime.config import RunResult, RuntimeConfig
    from wmverse.runtime.runner import run_world

__all__ = ["RunResult", "RuntimeConfig", "run_world"]


def __getattr__(name: str) -> Any:
    if name in ("RunResult", "RuntimeConfig"):
        from wmverse.runtime import config

        return getattr(config, name)
    if name == "run_world":
        from wmverse.runtime.runner import run_world

        return run_world
    raise AttributeError(name)
