"""Fixtures of the run store tests: a fresh, empty store on SQLite and, when a server is given, PostgreSQL.

PostgreSQL runs when ``WMVERSE_TEST_PG_URL`` names a database (``postgresql+psycopg://user:pw@host/db``);
each test gets its own schema there, dropped afterwards. Without the variable the PostgreSQL cases skip,
except under ``CI=true``, where they fail: CI must test both backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "WMVERSE_TEST_PG_URL"


def pg_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        reason = f"PostgreSQL tests need {PG_ENV}=postgresql+psycopg://user:password@host/database"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: both backends must be tested)")
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections see only a fresh schema of the test PostgreSQL database."""
    base = make_url(pg_url_or_skip())
    schema = f"wmverse_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty run store's URL: a SQLite file in a temporary folder, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url):
    from wmverse.store import RunStore

    with RunStore.open(db_url) as opened:
        yield opened
