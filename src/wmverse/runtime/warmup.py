"""Library imports done once, before run_asynch.py forks its agent processes, instead of once per process.

A forked agent process inherits every module its parent had imported. What it imports itself, it imports
alone: with the training world, each of the 11 agent processes imported about 250 modules while loading
its script and joining (protobuf for the wire, plotly and the dashboard's theme for the world's stats
class, the debate and learner packages), 11 times over on 2 cores, before the first learner request could
go out. :func:`warm_imports` reads (never runs) the world folder's Python files and agent scripts, and
imports in this process the library modules they import at their top level, exactly as their ``import``
statements would (``from X import Y`` also reads ``X.Y``, which may load a lazy attribute or a
submodule). Only absolute imports of modules found outside the world folder count: the world's own
package is left to the processes that run it. An import that fails is skipped: the agent process that
needs it imports it again and reports the failure with its script.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["FRAMEWORK_MODULES", "imported_names", "warm_imports"]

#: Modules every agent process uses at its first tick, whatever the world (the wire format's protobuf).
FRAMEWORK_MODULES = ("unaiverse.networking.p2p.message_pb2",)

_SKIPPED_FOLDERS = {"out", "__pycache__", "data", "pdf", "stats"}


def _sources(folder: Path, scripts: Iterable[Path]) -> Iterator[Path]:
    yield from scripts
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder).parts
        if any(part.startswith(".") or part in _SKIPPED_FOLDERS for part in rel[:-1]):
            continue
        if len(rel) > 1:  # the scripts at the top are given; the world's packages below
            yield path


def imported_names(source: str) -> list[tuple[str, str | None]]:
    """The absolute imports of a module's top level (also inside top-level ``if``/``try``), in order:
    ``(module, None)`` for ``import module``, ``(module, name)`` for ``from module import name``."""
    found: list[tuple[str, str | None]] = []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return found
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.module, alias.name) for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.If | ast.Try):
            body = list(node.body) + body
    return found


def _outside(module: str, folder: Path) -> bool:
    """True when ``module``'s top-level package is a regular module or package found outside ``folder`` (not
    a name of the world folder's own, like its ``src`` package, nor a namespace package, which may become
    the world's own once its folder is on the path)."""
    top = module.split(".")[0]
    if (folder / top).exists() or (folder / f"{top}.py").exists():
        return False
    if top in sys.modules:
        origin = getattr(sys.modules[top], "__file__", None)
    else:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return False
        origin = spec.origin if spec is not None else None
    if origin is None or origin in ("namespace", "built-in", "frozen"):
        return origin in ("built-in", "frozen")
    return not Path(origin).resolve().is_relative_to(folder)


def warm_imports(folder: str | Path, scripts: Iterable[Path] = ()) -> list[str]:
    """Imports here the modules (and the names they are asked for) that the world folder's Python files
    and ``scripts`` import at their top level from outside the folder, plus :data:`FRAMEWORK_MODULES`;
    returns the modules imported by this call, in order. Never raises for a module that fails to import."""
    folder = Path(folder).resolve()
    before = set(sys.modules)
    wanted: list[tuple[str, str | None]] = [(m, None) for m in FRAMEWORK_MODULES]
    for path in _sources(folder, scripts):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            wanted += imported_names(path.read_text(encoding="utf-8"))
    seen: set[tuple[str, str | None]] = set()
    for module, name in wanted:
        if (module, name) in seen or not _outside(module, folder):
            continue
        seen.add((module, name))
        with contextlib.suppress(Exception):
            imported = importlib.import_module(module)
            if name is not None and not hasattr(imported, name):  # hasattr loads a lazy attribute
                importlib.import_module(f"{module}.{name}")  # else a submodule, as ``from`` would
    return [m for m in sys.modules if m not in before]
