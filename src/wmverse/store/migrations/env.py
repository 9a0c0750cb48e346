"""Alembic environment of the run store: always run on a connection handed over by ``RunStore.open``.

``alembic.command.upgrade(cfg, "head")`` with ``cfg.attributes["connection"]`` set; the caller owns the
connection and its transaction. There is no offline (SQL script) mode.
"""

from alembic import context

from wmverse.store.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - a developer ran the alembic CLI without a connection
    raise RuntimeError("the run store's migrations run through wmverse.store.RunStore.open(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
