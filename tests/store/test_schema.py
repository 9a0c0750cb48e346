"""The schema comes from the Alembic migrations alone, from an empty database, and matches ``schema.py``."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from wmverse.store import RunStore
from wmverse.store.schema import VERSION_TABLE, metadata
from wmverse.store.store import MIGRATIONS

TABLES = {"runs", "nodes", "stat_points", "transitions", "badges", "message_counts"}


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_open_migrates_an_empty_database_to_head(db_url):
    engine = create_engine(db_url)
    assert not set(inspect(engine).get_table_names()) & TABLES
    RunStore.open(db_url).close()
    names = set(inspect(engine).get_table_names())
    assert TABLES | {VERSION_TABLE} <= names
    assert "alembic_version" not in names  # the store's own version table, shareable database
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == _head()
        # the migrations build exactly what schema.py declares: no table, column, index or type differs
        assert compare_metadata(context, metadata) == []
    indexes = {ix["name"] for table in TABLES for ix in inspect(engine).get_indexes(table)}
    assert {
        "ix_stat_points_run_id_stat_step",
        "ix_stat_points_run_id_id",
        "ix_runs_started_at",
    } <= indexes
    engine.dispose()


def test_reopening_is_a_no_op_and_keeps_the_runs(db_url):
    with RunStore.open(db_url) as store:
        run_id = store.begin_run("w", 1, {})
    with RunStore.open(db_url) as store:
        assert store.list_runs()["id"].tolist() == [run_id]


def test_sqlite_file_is_wal_with_foreign_keys_and_normal_sync(tmp_path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    con.close()
