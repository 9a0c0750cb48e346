"""The read side of the run store: runs, their series as pandas DataFrames, comparison and export.

``RunReader`` is the base of ``RunStore``; every method opens its own short read transaction, so a
dashboard may call them while a world writes (SQLite's WAL lets readers and one writer go together).
pandas is imported on first use, so that a world that only writes never loads it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, distinct, func, select
from sqlalchemy.engine import URL

from . import schema as t
from .errors import StoreError, translate_errors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXPORT_TABLES", "Run", "RunReader"]

#: what ``export`` can write, one table of a run per file
EXPORT_TABLES = ("points", "transitions", "badges", "message_counts", "nodes")
_INT_COLUMNS = ("id", "run_id", "step", "seed", "pid", "tick", "count")
_FLOAT_COLUMNS = ("sim_time", "wall_time", "value", "score")


@dataclasses.dataclass(frozen=True)
class Run:
    """One run's row: what ran, where, when and how it ended."""

    id: int
    world: str
    seed: int | None
    config: dict[str, Any]
    code_version: str
    host: str
    pid: int
    started_at: datetime
    ended_at: datetime | None
    status: str

    @property
    def duration(self) -> timedelta | None:
        """Wall-clock length of the run, once it ended."""
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        """The row as JSON-able values (times in ISO 8601)."""
        row = dataclasses.asdict(self)
        for key in ("started_at", "ended_at"):
            row[key] = row[key].isoformat() if row[key] is not None else None
        return row


def _ids(run_ids: int | Iterable[int]) -> list[int]:
    ids = [run_ids] if isinstance(run_ids, int | str) else list(run_ids)
    out = []
    for run_id in ids:
        try:
            out.append(int(run_id))
        except (TypeError, ValueError):
            raise StoreError(f"a run id is a whole number, not {run_id!r}") from None
    if not out:
        raise StoreError("no run id given")
    return out


class RunReader:
    """Queries of a run store (the base of ``RunStore``, which sets ``_engine`` and ``url``)."""

    _engine: Engine
    url: URL

    @property
    def where(self) -> str:
        """The store's URL without its password, for messages."""
        return self.url.render_as_string(hide_password=True)

    def _frame(self, stmt: Select, run_ids: Sequence[int] | None = None) -> pd.DataFrame:
        import pandas as pd

        with translate_errors(f"cannot read the run store at {self.where}"), self._engine.connect() as conn:
            if run_ids is not None:
                self._check_runs(conn, run_ids)
            result = conn.execute(stmt)
            columns = list(result.keys())
            frame = pd.DataFrame([tuple(row) for row in result], columns=columns)  # Rows are slow to probe
        for column in frame.columns.intersection(_INT_COLUMNS):
            frame[column] = frame[column].astype("Int64")
        for column in frame.columns.intersection(_FLOAT_COLUMNS):
            frame[column] = frame[column].astype("float64")
        for column in frame.columns.intersection(["started_at", "ended_at"]):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def _check_runs(self, conn: Connection, run_ids: Sequence[int]) -> None:
        found = set(conn.execute(select(t.runs.c.id).where(t.runs.c.id.in_(run_ids))).scalars())
        missing = [run_id for run_id in run_ids if run_id not in found]
        if missing:
            raise StoreError(f"no run {', '.join(map(str, missing))} in {self.where}")

    # -- runs ---------------------------------------------------------------------------------------
    def list_runs(
        self, *, world: str | None = None, status: str | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """The runs, newest first (without their config): id, world, seed, status, started_at, ended_at,
        code_version, host, pid."""
        r = t.runs.c
        stmt = select(
            r.id, r.world, r.seed, r.status, r.started_at, r.ended_at, r.code_version, r.host, r.pid
        )
        if world is not None:
            stmt = stmt.where(r.world == world)
        if status is not None:
            stmt = stmt.where(r.status == status)
        return self._frame(stmt.order_by(r.started_at.desc(), r.id.desc()).limit(limit))

    def run(self, run_id: int) -> Run:
        """One run's row; an unknown id raises ``StoreError``."""
        (run_id,) = _ids(run_id)
        with translate_errors(f"cannot read the run store at {self.where}"), self._engine.connect() as conn:
            row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise StoreError(f"no run {run_id} in {self.where}")
        return Run(**row)

    def nodes(self, run_id: int) -> pd.DataFrame:
        """The run's nodes: name, role, peer_id."""
        ids = _ids(run_id)
        n = t.nodes.c
        return self._frame(
            select(n.run_id, n.name, n.role, n.peer_id).where(n.run_id.in_(ids)).order_by(n.id), ids
        )

    # -- series -------------------------------------------------------------------------------------
    def points(
        self,
        run_ids: int | Iterable[int],
        stats: str | Iterable[str] | None = None,
        *,
        agents: str | Iterable[str] | None = None,
        since_id: int | None = None,
    ) -> pd.DataFrame:
        """Stat points of the runs: id, run_id, agent, stat, step, sim_time, wall_time, value, value_json;
        in the order written, or with ``stats`` by run, stat and step (then id). ``since_id``: only
        points with a larger id (a live reader keeps the largest id it saw)."""
        ids = _ids(run_ids)
        p = t.stat_points.c
        stmt = select(t.stat_points).where(p.run_id.in_(ids))
        if stats is not None:
            stmt = stmt.where(p.stat.in_([stats] if isinstance(stats, str) else list(stats)))
        if agents is not None:
            stmt = stmt.where(p.agent.in_([agents] if isinstance(agents, str) else list(agents)))
        if since_id is not None:
            stmt = stmt.where(p.id > since_id)
        if stats is not None:  # the (run_id, stat, step) index gives this order; by id would scan the run
            return self._frame(stmt.order_by(p.run_id, p.stat, p.step, p.id), ids)
        return self._frame(stmt.order_by(p.id), ids)

    def transitions(self, run_ids: int | Iterable[int], *, since_id: int | None = None) -> pd.DataFrame:
        """State transitions of the runs, in the order written."""
        ids = _ids(run_ids)
        c = t.transitions.c
        stmt = select(t.transitions).where(c.run_id.in_(ids))
        if since_id is not None:
            stmt = stmt.where(c.id > since_id)
        return self._frame(stmt.order_by(c.id), ids)

    def badges(self, run_ids: int | Iterable[int]) -> pd.DataFrame:
        """Badges of the runs, in the order awarded."""
        ids = _ids(run_ids)
        return self._frame(select(t.badges).where(t.badges.c.run_id.in_(ids)).order_by(t.badges.c.id), ids)

    def message_counts(self, run_ids: int | Iterable[int], *, since_id: int | None = None) -> pd.DataFrame:
        """Message counts of the runs, in the order written."""
        ids = _ids(run_ids)
        c = t.message_counts.c
        stmt = select(t.message_counts).where(c.run_id.in_(ids))
        if since_id is not None:
            stmt = stmt.where(c.id > since_id)
        return self._frame(stmt.order_by(c.id), ids)

    def stat_summary(self, run_id: int) -> pd.DataFrame:
        """Per stat of one run: agents, points, first and last step, numeric points."""
        ids = _ids(run_id)
        p = t.stat_points.c
        stmt = (
            select(
                p.stat,
                func.count(distinct(p.agent)).label("agents"),
                func.count().label("points"),
                func.min(p.step).label("first_step"),
                func.max(p.step).label("last_step"),
                func.count(p.value).label("numeric"),
            )
            .where(p.run_id == ids[0])
            .group_by(p.stat)
            .order_by(p.stat)
        )
        return self._frame(stmt, ids)

    def counts(self, run_id: int) -> dict[str, int]:
        """Rows of each table of one run."""
        (run_id,) = _ids(run_id)
        tables = {
            "nodes": t.nodes,
            "points": t.stat_points,
            "transitions": t.transitions,
            "badges": t.badges,
            "message_counts": t.message_counts,
        }
        with translate_errors(f"cannot read the run store at {self.where}"), self._engine.connect() as conn:
            self._check_runs(conn, [run_id])
            return {
                name: int(conn.execute(select(func.count()).where(table.c.run_id == run_id)).scalar_one())
                for name, table in tables.items()
            }

    # -- comparing and exporting --------------------------------------------------------------------
    def compare(
        self,
        run_ids: int | Iterable[int],
        stat: str,
        *,
        agent: str | None = None,
        on: str = "step",
        agg: str = "mean",
    ) -> pd.DataFrame:
        """One column per run (labelled by run id, in the order given) of the numeric values of ``stat``,
        aligned on ``on`` ('step' or 'sim_time'). Several values at one x (several agents, or a value
        recorded twice) are reduced with ``agg`` ('mean', 'last', 'max', ...); ``agent`` keeps one agent."""
        if on not in ("step", "sim_time"):
            raise StoreError(f"runs are aligned on 'step' or 'sim_time', not {on!r}")
        ids = _ids(run_ids)
        frame = self.points(ids, [stat], agents=agent)
        if frame.empty:
            known = sorted(set().union(*(self.stat_summary(run_id)["stat"] for run_id in ids)))
            who = f" of agent {agent!r}" if agent is not None else ""
            raise StoreError(
                f"no points of stat {stat!r}{who} in run {', '.join(map(str, ids))}"
                f" (stats: {', '.join(known) or 'none'})"
            )
        frame = frame[frame[on].notna() & frame["value"].notna()]
        table = frame.pivot_table(index=on, columns="run_id", values="value", aggfunc=agg, dropna=False)
        table = table.reindex(columns=ids)
        table.columns.name = "run"
        if on == "step":
            table.index = table.index.astype("int64")
        return table

    def export(
        self, run_id: int, path: str | Path | None = None, fmt: str = "parquet", *, table: str = "points"
    ) -> Path:
        """Write one table of a run to ``path`` (default ``run-<id>-<table>.<fmt>``) as Parquet (the run's
        row in the file's metadata, ``pandas.read_parquet(...).attrs["wmverse_run"]``) or CSV."""
        if fmt not in ("parquet", "csv"):
            raise StoreError(f"export formats are 'parquet' and 'csv', not {fmt!r}")
        if table not in EXPORT_TABLES:
            raise StoreError(f"export tables are {', '.join(EXPORT_TABLES)}, not {table!r}")
        run = self.run(run_id)
        frame = getattr(self, table)(run.id)
        path = Path(path) if path is not None else Path(f"run-{run.id}-{table}.{fmt}")
        try:
            if fmt == "parquet":
                frame.attrs["wmverse_run"] = json.loads(json.dumps(run.to_json(), default=str))
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return path
