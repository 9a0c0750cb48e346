"""Where a run store is and how to reach it: URLs, the default file, SQLite's settings, live processes.

A ``--db`` value is a SQLAlchemy URL (``scheme://...``) or a SQLite file path; without one the store is
env ``WMVERSE_DB``, else ``worlds/training/runs.db`` in the project's checkout. SQLite connections get WAL,
``synchronous=NORMAL`` and foreign keys, and transactions that SQLAlchemy begins itself.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

import wmverse

from .errors import StoreError

__all__ = ["configure_sqlite", "default_db_path", "describe_code", "process_alive", "resolve_url", "utc"]


def default_db_path() -> Path:
    """``worlds/training/runs.db`` in the project's checkout."""
    return Path(wmverse.__file__).resolve().parents[2] / "worlds" / "training" / "runs.db"


def resolve_url(db: str | Path | URL | None = None) -> URL:
    """A SQLAlchemy URL from ``db``: a URL (``scheme://...``) or a SQLite file path; ``None``: env
    ``WMVERSE_DB``, else ``default_db_path()``. A bad URL raises ``StoreError``."""
    if isinstance(db, URL):
        return db
    if db is None or str(db) == "":
        db = os.environ.get("WMVERSE_DB") or default_db_path()
    if isinstance(db, Path) or "://" not in db:
        return URL.create("sqlite", database=str(Path(db).expanduser().resolve()))
    try:
        return make_url(db)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"bad database URL {db!r}: {exc}") from exc


@lru_cache(maxsize=1)
def describe_code() -> str:
    """``git describe --always --dirty --tags`` of the checkout, else the package version."""
    root = Path(wmverse.__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--tags"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=5,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return wmverse.__version__


def utc(moment: datetime | float | None) -> datetime:
    """A UTC datetime from unix seconds or a datetime; None: now."""
    if moment is None:
        return datetime.now(UTC)
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    return moment


def process_alive(pid: int, since: datetime) -> bool:
    """Whether process ``pid`` may still be the one that began a run at ``since`` (same host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to another user
        pass
    stat = Path(f"/proc/{pid}/stat")
    try:  # Linux: a zombie is dead; a process started after the run is a reused pid
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return False
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line[:6] == "btime "
        )
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return started <= since.timestamp() + 2.0
    except (OSError, ValueError, IndexError, StopIteration):
        return True


def configure_sqlite(engine: Engine) -> None:
    """WAL, synchronous=NORMAL, foreign keys; and transactions that SQLAlchemy begins itself, so that DDL
    is transactional and writers can ask for ``BEGIN IMMEDIATE`` (pysqlite's own handling defers BEGIN)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
