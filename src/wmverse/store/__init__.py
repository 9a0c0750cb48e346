"""The run store: every run of a world, its nodes, stats, transitions, badges and message counts.

One database accumulates runs (SQLite by default, any SQLAlchemy URL; the schema is managed by Alembic
migrations applied on open). The world writes through ``RunStore`` (``begin_run``, ``add_points``, ...,
``finish_run``); dashboards and users read through the same object or through :mod:`wmverse.store.runs`,
which answers in pandas DataFrames. ``wmverse runs ...`` is the command line.

    store = RunStore.open("worlds/training/runs.db")
    run_id = store.begin_run("training", seed=0, config={"epochs": 30})
    store.add_points(run_id, [Point("world", "val_accuracy", 0.31, step=1, sim_time=1.7e9)])
    store.finish_run(run_id)

The names below load on first use (SQLAlchemy included), so that ``wmverse --help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connect import default_db_path, describe_code, resolve_url
    from .errors import StoreError
    from .read import EXPORT_TABLES, Run
    from .rows import JSONText, Point, Transition
    from .schema import RUN_STATUSES
    from .store import RunStore

#: public name -> the submodule that defines it
_HOME = {
    "StoreError": "errors",
    "EXPORT_TABLES": "read",
    "Run": "read",
    "RUN_STATUSES": "schema",
    "JSONText": "rows",
    "Point": "rows",
    "RunStore": "store",
    "Transition": "rows",
    "default_db_path": "connect",
    "describe_code": "connect",
    "resolve_url": "connect",
}

__all__ = [
    "EXPORT_TABLES",
    "RUN_STATUSES",
    "JSONText",
    "Point",
    "Run",
    "RunStore",
    "StoreError",
    "Transition",
    "default_db_path",
    "describe_code",
    "resolve_url",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
