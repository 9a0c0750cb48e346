"""The runs of a world, as pandas DataFrames: the Python side of ``wmverse runs``.

Every function takes ``db``: a SQLAlchemy URL or a SQLite file (default: env ``WMVERSE_DB``, else
``worlds/training/runs.db``), opens the store (a missing file is an error, never created), answers and
closes it. For many queries in a row, ``open(db)`` and call the same methods on the ``RunStore``.

    from wmverse.store import runs
    runs.list_runs()                              # one row per run, newest first
    runs.compare([3, 4], "val_accuracy")          # one column per run, aligned on step
    runs.points(4, ["allocation"]).groupby("agent").value.last()
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .read import Run
from .store import RunStore

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import URL

__all__ = [
    "badges",
    "compare",
    "delete",
    "export",
    "list_runs",
    "message_counts",
    "nodes",
    "open",
    "points",
    "run",
    "transitions",
]


def open(db: str | Path | URL | None = None) -> RunStore:
    """The store at ``db``, which must exist (``RunStore.open(db, create=False)``)."""
    return RunStore.open(db, create=False)


def _ask(db: str | Path | URL | None, method: str, *args: Any, **kwargs: Any) -> Any:
    with open(db) as store:
        return getattr(store, method)(*args, **kwargs)


def list_runs(db: str | Path | URL | None = None, **filters: Any) -> pd.DataFrame:
    """The runs, newest first; ``filters``: ``world=``, ``status=``, ``limit=``."""
    return _ask(db, "list_runs", **filters)


def run(run_id: int, db: str | Path | URL | None = None) -> Run:
    """One run's row (``Run``: world, seed, config, code version, host, pid, times, status)."""
    return _ask(db, "run", run_id)


def nodes(run_id: int, db: str | Path | URL | None = None) -> pd.DataFrame:
    """The run's nodes: name, role, peer id."""
    return _ask(db, "nodes", run_id)


def points(
    run_ids: int | Iterable[int],
    stats: str | Iterable[str] | None = None,
    db: str | Path | URL | None = None,
    **kw: Any,
) -> pd.DataFrame:
    """Stat points of the runs (``agents=``, ``since_id=`` narrow them)."""
    return _ask(db, "points", run_ids, stats, **kw)


def transitions(run_ids: int | Iterable[int], db: str | Path | URL | None = None) -> pd.DataFrame:
    """State transitions of the runs."""
    return _ask(db, "transitions", run_ids)


def badges(run_ids: int | Iterable[int], db: str | Path | URL | None = None) -> pd.DataFrame:
    """Badges of the runs."""
    return _ask(db, "badges", run_ids)


def message_counts(run_ids: int | Iterable[int], db: str | Path | URL | None = None) -> pd.DataFrame:
    """Message counts of the runs."""
    return _ask(db, "message_counts", run_ids)


def compare(run_ids: Iterable[int], stat: str, db: str | Path | URL | None = None, **kw: Any) -> pd.DataFrame:
    """One column per run of ``stat``, aligned on step (``agent=``, ``on=``, ``agg=``: see ``RunStore``)."""
    return _ask(db, "compare", run_ids, stat, **kw)


def export(
    run_id: int,
    path: str | Path | None = None,
    fmt: str = "parquet",
    db: str | Path | URL | None = None,
    **kw: Any,
) -> Path:
    """Write a run's points (``table=`` another table) to Parquet or CSV; returns the path."""
    return _ask(db, "export", run_id, path, fmt, **kw)


def delete(run_id: int, db: str | Path | URL | None = None) -> dict[str, int]:
    """Delete a run and all it recorded; returns the rows deleted per table."""
    return _ask(db, "delete", run_id)
