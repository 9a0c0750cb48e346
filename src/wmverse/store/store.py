"""``RunStore``: open a run store (any SQLAlchemy URL; SQLite by default) and record runs into it.

Opening applies the Alembic migrations (an empty database gets the whole schema) and marks as 'killed'
the runs of this host still 'running' whose process is gone. Every write call is its own transaction,
committed before it returns, so what a world wrote survives a SIGKILL of its process; ``transaction()``
groups several calls into one. On SQLite the file is in WAL mode (a dashboard reads while the world
writes), ``synchronous=NORMAL`` (durable against a process crash, not a power cut) with foreign keys on;
writers take the lock at ``BEGIN IMMEDIATE`` and wait up to 30 s for each other.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from . import schema as t
from .connect import configure_sqlite, describe_code, process_alive, resolve_url, utc
from .errors import StoreError, translate_errors
from .read import RunReader
from .rows import Point, Transition, as_float, insert_plan, number_or_json, to_json

__all__ = ["MIGRATIONS", "RunStore"]

MIGRATIONS = Path(__file__).with_name("migrations")


class RunStore(RunReader):
    """A run store on one database. ``RunStore.open(url)``; close it (or use ``with``) when done."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self.url = url
        self._local = threading.local()

    # -- opening ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | Path | URL | None = None, *, create: bool = True) -> RunStore:
        """Open (``create``: or make) the store at ``url`` (see ``resolve_url``), migrate it to the latest
        schema, and mark the dead runs of this host 'killed'. ``create=False``: a missing SQLite file is
        an error. Every problem raises ``StoreError``."""
        url = resolve_url(url)
        shown = url.render_as_string(hide_password=True)
        is_sqlite = url.get_backend_name() == "sqlite"
        database = url.database or ""
        on_disk = is_sqlite and database not in ("", ":memory:") and not database.startswith("file:")
        if on_disk and not create and not Path(database).is_file():
            raise StoreError(f"no run store at {database}")
        if on_disk and not Path(database).parent.is_dir():
            raise StoreError(f"cannot create a run store at {database}: its folder does not exist")
        try:
            engine = create_engine(url, connect_args={"timeout": 30} if is_sqlite else {})
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {shown}: {exc}") from exc
        if is_sqlite:
            configure_sqlite(engine)
        store = cls(engine, url)
        try:
            with translate_errors(f"cannot open the run store at {shown}"):
                if not create and not inspect(engine).has_table(t.VERSION_TABLE):
                    raise StoreError(f"{shown} holds no run store (wmverse's tables are not there)")
                store._migrate()
                store._mark_dead_runs()
        except BaseException:
            engine.dispose()
            raise
        return store

    def _migrate(self) -> None:
        """Upgrade to the newest revision; at head already, only a read (no write lock is taken)."""
        from alembic import command
        from alembic.config import Config
        from alembic.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with self._engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": t.VERSION_TABLE})
            if context.get_current_revision() == head:
                return
        with self._engine.connect() as conn:
            conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")  # one migrator at a time
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262736)")  # the run store's lock
                cfg.attributes["connection"] = conn
                try:
                    command.upgrade(cfg, "head")
                except CommandError as exc:
                    raise StoreError(
                        f"the database's run store schema is unknown to this wmverse ({exc}); upgrade wmverse"
                    ) from exc

    def _mark_dead_runs(self) -> None:
        """Runs of this host still 'running' whose process is gone become 'killed', ended at their last
        point (else at their start)."""
        r = t.runs.c
        with self._engine.connect() as conn:
            running = conn.execute(
                select(r.id, r.pid, r.started_at).where(r.status == "running", r.host == socket.gethostname())
            ).all()
        dead = [
            (run_id, started_at) for run_id, pid, started_at in running if not process_alive(pid, started_at)
        ]
        if not dead:
            return
        with self._writing() as conn:
            for run_id, started_at in dead:
                last = conn.execute(
                    select(func.max(t.stat_points.c.wall_time)).where(t.stat_points.c.run_id == run_id)
                ).scalar()
                conn.execute(
                    update(t.runs)
                    .where(r.id == run_id, r.status == "running")
                    .values(status="killed", ended_at=utc(last) if last is not None else started_at)
                )

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        active = getattr(self._local, "conn", None)
        if active is not None:
            yield active
            return
        with self._engine.connect() as conn:
            conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the write calls made inside the block (in this thread) into one transaction."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with translate_errors("write to the run store"), self._writing() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    # -- writing ------------------------------------------------------------------------------------
    def begin_run(
        self,
        world: str,
        seed: int | None = None,
        config: Mapping[str, Any] | Any = None,
        *,
        code_version: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        """Record the start of a run of ``world`` by this process; returns its id. ``config``: a mapping
        or a dataclass, stored as JSON (values JSON cannot hold are stored as their ``str``)."""
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        row = {
            "world": str(world),
            "seed": seed,
            "config": json.loads(to_json(dict(config or {}))),
            "code_version": code_version or describe_code(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": utc(started_at),
            "status": "running",
        }
        with translate_errors("cannot begin a run"), self._writing() as conn:
            return int(conn.execute(insert(t.runs).values(row)).inserted_primary_key[0])

    def add_node(self, run_id: int, name: str, role: str | None = None, peer_id: str | None = None) -> None:
        """Record a node of the run (the world or an agent); a node added again is updated."""
        with translate_errors(f"cannot add node {name!r} to run {run_id}"), self._writing() as conn:
            where = (t.nodes.c.run_id == run_id) & (t.nodes.c.name == name)
            if conn.execute(select(t.nodes.c.id).where(where)).first() is None:
                conn.execute(insert(t.nodes).values(run_id=run_id, name=name, role=role, peer_id=peer_id))
            else:
                conn.execute(update(t.nodes).where(where).values(role=role, peer_id=peer_id))

    def add_nodes(self, run_id: int, rows: Iterable[tuple[str, str | None, str | None]]) -> int:
        """Record or update nodes, each ``(name, role, peer_id)`` (as ``add_node``), in a few statements;
        returns how many."""
        rows = {name: (role, peer) for name, role, peer in rows}  # the last of a name wins
        if not rows:
            return 0
        n = t.nodes.c
        with translate_errors(f"cannot add nodes to run {run_id}"), self._writing() as conn:
            known = set(conn.execute(select(n.name).where(n.run_id == run_id)).scalars())
            new = [
                {"run_id": run_id, "name": k, "role": r, "peer_id": p}
                for k, (r, p) in rows.items()
                if k not in known
            ]
            old = [{"key": k, "r": r, "p": p} for k, (r, p) in rows.items() if k in known]
            if new:
                conn.execute(insert(t.nodes), new)
            if old:
                stmt = update(t.nodes).where(n.run_id == run_id, n.name == bindparam("key"))
                conn.execute(stmt.values(role=bindparam("r"), peer_id=bindparam("p")), old)
        return len(rows)

    def add_points(self, run_id: int, rows: Iterable[Point | tuple | Mapping[str, Any]]) -> int:
        """Append stat points (``Point``s, tuples in ``Point``'s order, or mappings with its field names)
        in one executemany batch and one transaction; returns how many."""
        now = time.time()
        params = []
        for row in rows:
            if type(row) is not Point:
                row = Point(**row) if isinstance(row, Mapping) else Point(*row)
            agent, stat, value, step, sim_time, wall_time, detail = row
            if type(wall_time) is not float:
                wall_time = now if wall_time is None else float(wall_time)
            if type(sim_time) is not float and sim_time is not None:
                sim_time = float(sim_time)
            if type(step) is not int and step is not None:
                step = int(step)  # numpy integers, which drivers do not bind
            kind = type(value)
            if kind is float and detail is None:  # the common case, kept short
                params.append((run_id, agent, stat, step, sim_time, wall_time, value, None))
            else:
                number, text = number_or_json(value, detail)
                params.append((run_id, agent, stat, step, sim_time, wall_time, number, text))
        return self._insert_many(t.stat_points, params, f"cannot add points to run {run_id}")

    def add_transitions(self, run_id: int, rows: Iterable[Transition | tuple | Mapping[str, Any]]) -> int:
        """Append state transitions (as ``add_points``); returns how many."""
        now = time.time()
        params = []
        for row in rows:
            if type(row) is not Transition:
                row = Transition(**row) if isinstance(row, Mapping) else Transition(*row)
            agent, from_state, to_state, action, sim_time, wall_time = row
            wall_time = now if wall_time is None else float(wall_time)
            params.append((run_id, agent, from_state, to_state, action, as_float(sim_time), wall_time))
        return self._insert_many(t.transitions, params, f"cannot add transitions to run {run_id}")

    def add_badge(
        self,
        run_id: int,
        agent: str,
        kind: str,
        score: float | None = None,
        reason: str | None = None,
        *,
        sim_time: float | None = None,
        wall_time: float | None = None,
    ) -> None:
        """Record a badge awarded to ``agent``."""
        wall_time = time.time() if wall_time is None else float(wall_time)
        row = (run_id, agent, kind, as_float(score), reason, as_float(sim_time), wall_time)
        self._insert_many(t.badges, [row], f"cannot add a badge to run {run_id}")

    def add_message_count(
        self,
        run_id: int,
        count: int,
        *,
        tick: int | None = None,
        sim_time: float | None = None,
        wall_time: float | None = None,
    ) -> None:
        """Record how many messages the world carried at ``tick`` / ``sim_time`` (per tick or cumulative:
        the caller's choice, kept the same within a run)."""
        wall_time = time.time() if wall_time is None else float(wall_time)
        row = (run_id, tick, as_float(sim_time), int(count), wall_time)
        self._insert_many(t.message_counts, [row], f"cannot add a message count to run {run_id}")

    def add_badges(self, run_id: int, rows: Iterable[tuple]) -> int:
        """Append badges, each ``(agent, kind, score, reason, sim_time, wall_time)`` (``add_badge``'s
        arguments), in one batch; returns how many."""
        now = time.time()
        params = [
            (run_id, agent, kind, as_float(score), reason, as_float(sim), as_float(wall or now))
            for agent, kind, score, reason, sim, wall in rows
        ]
        return self._insert_many(t.badges, params, f"cannot add badges to run {run_id}")

    def add_message_counts(self, run_id: int, rows: Iterable[tuple]) -> int:
        """Append message counts, each ``(tick, sim_time, count, wall_time)``, in one batch; returns how
        many."""
        now = time.time()
        params = [
            (run_id, tick, as_float(sim), int(count), as_float(wall or now))
            for tick, sim, count, wall in rows
        ]
        return self._insert_many(t.message_counts, params, f"cannot add message counts to run {run_id}")

    def finish_run(self, run_id: int, status: str = "finished", *, ended_at: datetime | None = None) -> None:
        """Record the end of a run: 'finished', 'failed' or 'killed'."""
        if status not in t.RUN_STATUSES or status == "running":
            raise StoreError(f"a run ends as 'finished', 'failed' or 'killed', not {status!r}")
        with translate_errors(f"cannot finish run {run_id}"), self._writing() as conn:
            done = conn.execute(
                update(t.runs).where(t.runs.c.id == run_id).values(status=status, ended_at=utc(ended_at))
            )
            if done.rowcount == 0:
                raise StoreError(f"no run {run_id} in {self.where}")

    def delete(self, run_id: int) -> dict[str, int]:
        """Delete a run and everything it recorded; returns the rows deleted per table. A run still
        running (its process alive) is refused."""
        run = self.run(run_id)
        if run.status == "running" and (
            run.host != socket.gethostname() or process_alive(run.pid, run.started_at)
        ):
            raise StoreError(f"run {run.id} is still running (pid {run.pid} on {run.host}); finish it first")
        deleted = self.counts(run.id)
        with translate_errors(f"cannot delete run {run.id}"), self._writing() as conn:
            conn.execute(t.runs.delete().where(t.runs.c.id == run.id))  # the rest cascades
        return deleted

    def _insert_many(self, table: Table, rows: list[tuple], what: str) -> int:
        """Insert ``rows`` (tuples in the order of ``table``'s columns after ``id``) as one executemany."""
        if not rows:
            return 0
        with translate_errors(what), self._writing() as conn:
            sql, columns, positional = insert_plan(conn.dialect, table)
            if sql is None:  # a column needs SQLAlchemy's value processing
                conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
            elif positional:
                conn.exec_driver_sql(sql, rows)
            else:
                conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])
        return len(rows)
