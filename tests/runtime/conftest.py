"""Fixtures of the runtime tests: fresh copies of the tiny two-role world, and a helper to run one."""

import shutil
import sqlite3
from pathlib import Path

import pytest

TINY = Path(__file__).parent / "worlds" / "tiny"


def copy_tiny(dest: Path) -> Path:
    """Copies the tiny world (sources only) to ``dest`` and returns the copy's folder."""
    folder = dest / "tiny"
    shutil.copytree(
        TINY, folder, ignore=shutil.ignore_patterns("out", "pdf", "*.json", "*.db", "__pycache__", "stats")
    )
    return folder


@pytest.fixture(scope="module")
def tiny_module(tmp_path_factory) -> Path:
    """One copy of the tiny world for a module's tests (shared: a test must not change it)."""
    return copy_tiny(tmp_path_factory.mktemp("tiny_module"))


def dump_db(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a SQLite file, sorted (for run-to-run comparisons)."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return {t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in sorted(tables)}
    finally:
        conn.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return copy_tiny(tmp_path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One run of the tiny world with seed 0 (shared by the tests of a module)."""
    from wmverse.runtime import RuntimeConfig, run_world

    folder = copy_tiny(tmp_path_factory.mktemp("tiny_run"))
    result = run_world(folder, RuntimeConfig(seed=0, max_steps=300, quiet=True))
    return folder, result


@pytest.fixture
def db_rows():
    """The ``dump_db`` helper, as a fixture (test modules cannot import conftest in importlib mode)."""
    return dump_db


@pytest.fixture
def fresh_tiny():
    """The ``copy_tiny`` helper, as a fixture."""
    return copy_tiny
