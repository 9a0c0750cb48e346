"""Loading a role's ``WAgent`` class from the world's REAL source files.

Live, a joining agent receives the world's role files packed as text and executes them in memory
(``unaiverse.utils.misc.load_agent_in_memory``), so tracebacks name ``<world:_dyn_xxx>/role.py``.
In one process the files are on disk: each agent gets its own package namespace whose search path
is the world folder, so ``{role}.py`` (or ``agent.py`` for every role) and its relative imports
load from their real paths, one module copy per agent as in separate processes.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Any

#: Prefix of the per-agent package namespaces (dropped from sys.modules when the run ends).
NAMESPACE_PREFIX = "_wmv_world_"


class RoleCode:
    """Creates per-agent namespaces over a world folder and builds role agents from them."""

    def __init__(self) -> None:
        self._namespaces: dict[int, str] = {}  # id(node) -> namespace
        self._count = 0

    def _namespace(self, world_folder: str, owner: Any) -> str:
        key = id(owner)
        if key not in self._namespaces:
            name = f"{NAMESPACE_PREFIX}{self._count:04d}"
            self._count += 1
            package = types.ModuleType(name)
            package.__path__ = [str(Path(world_folder).resolve())]
            package.__package__ = name
            sys.modules[name] = package
            self._namespaces[key] = name
        return self._namespaces[key]

    def module(self, world_folder: str, stem: str, owner: Any) -> types.ModuleType:
        """Imports ``<world_folder>/<stem>.py`` inside ``owner``'s namespace."""
        return importlib.import_module(f"{self._namespace(world_folder, owner)}.{stem}")

    def new_agent(self, world_folder: str, role: str, owner: Any) -> Any:
        """``WAgent(proc=None)`` from ``{role}.py`` (or ``agent.py``), as unaiverse builds it on join."""
        folder = Path(world_folder)
        stem = role if (folder / f"{role}.py").is_file() else "agent"
        if not (folder / f"{stem}.py").is_file():
            raise FileNotFoundError(f"no {role}.py (nor agent.py) in world folder {folder} for role {role!r}")
        module = self.module(world_folder, stem, owner)
        if not hasattr(module, "WAgent"):
            raise AttributeError(f"{folder / (stem + '.py')} defines no WAgent class")
        return module.WAgent(proc=None)

    def stats_class(self, world_folder: str, owner: Any) -> type | None:
        """The world's ``WStats`` from ``stats.py`` if the folder has one, else ``None``."""
        if not (Path(world_folder) / "stats.py").is_file():
            return None
        return getattr(self.module(world_folder, "stats", owner), "WStats", None)

    def cleanup(self) -> None:
        """Forgets every module loaded in this run's namespaces."""
        names = set(self._namespaces.values())
        for mod_name in list(sys.modules):
            if mod_name.split(".")[0] in names:
                sys.modules.pop(mod_name, None)
        self._namespaces.clear()
