"""The run store's tables (SQLAlchemy Core), one ``MetaData`` that the Alembic migrations must reproduce.

A run is one execution of a world. Everything a run records hangs off ``runs.id`` with ``ON DELETE
CASCADE``, so deleting a run deletes its rows. Times are of two kinds: ``sim_time`` is the world's clock in
seconds (unix seconds on the synthetic clock, which starts on 2023-11-14), ``wall_time`` is the host's clock
in unix seconds. A run's own start and end are timezone-aware UTC datetimes.

The indexes serve the read side: a run's series of some stats (``stat_points (run_id, stat, step)``, also
the run's rows for export and delete), what a run wrote after the last id a live reader saw (``(run_id,
id)`` on the three growing tables: ids only grow), and the list of runs, newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "RUN_STATUSES",
    "VERSION_TABLE",
    "badges",
    "message_counts",
    "metadata",
    "nodes",
    "runs",
    "stat_points",
    "transitions",
]

#: a run is 'running' until ``finish_run``; 'killed' is set on open when its process is gone
RUN_STATUSES = ("running", "finished", "failed", "killed")
#: Alembic's version table, named so that the store can share a database with other Alembic users
VERSION_TABLE = "wmverse_store_version"

#: SQLite only aliases ``INTEGER PRIMARY KEY`` to the rowid; other databases get 64-bit keys
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive text, so UTC is restored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _run_fk() -> Column:
    return Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)


runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("world", String(200), nullable=False),  # the world's name or folder
    Column("seed", Integer),
    Column("config", JSON, nullable=False),  # the run's full configuration
    Column("code_version", String(100), nullable=False),  # git describe, else the package version
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("status", String(16), nullable=False, default="running"),
    CheckConstraint("status IN ('running', 'finished', 'failed', 'killed')", name="status"),
    Index(None, "started_at"),
    Index(None, "status", "host"),  # the runs to check for a dead process on open
)

nodes = Table(
    "nodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("name", String(200), nullable=False),  # the node's name in the world
    Column("role", String(100)),
    Column("peer_id", String(200)),
    UniqueConstraint("run_id", "name"),
)

stat_points = Table(
    "stat_points",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("agent", String(200), nullable=False),  # peer id or node name; the world's own series too
    Column("stat", String(200), nullable=False),
    Column("step", Integer),  # epoch or step, when the stat has one
    Column("sim_time", Float),
    Column("wall_time", Float, nullable=False),
    Column("value", Float),  # numbers (and booleans) land here
    Column("value_json", Text),  # anything else, as JSON text
    Index(None, "run_id", "stat", "step"),
    Index(None, "run_id", "id"),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("agent", String(200), nullable=False),
    Column("from_state", String(200)),
    Column("to_state", String(200), nullable=False),
    Column("action", String(200)),
    Column("sim_time", Float),
    Column("wall_time", Float, nullable=False),
    Index(None, "run_id", "id"),
)

badges = Table(
    "badges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("agent", String(200), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("score", Float),
    Column("reason", Text),
    Column("sim_time", Float),
    Column("wall_time", Float, nullable=False),
    Index(None, "run_id", "agent"),
)

message_counts = Table(
    "message_counts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("tick", Integer),
    Column("sim_time", Float),
    Column("count", Integer, nullable=False),
    Column("wall_time", Float, nullable=False),
    Index(None, "run_id", "id"),
)
