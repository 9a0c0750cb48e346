"""The run store's first schema: runs, nodes, stat points, transitions, badges, message counts.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _run_fk(table: str) -> list:
    return [
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=f"fk_{table}_run_id_runs", ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("world", sa.String(200), nullable=False),
        sa.Column("seed", sa.Integer()),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("code_version", sa.String(100), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('running', 'finished', 'failed', 'killed')", name="ck_runs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_runs_status_host", "runs", ["status", "host"])

    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_run_fk("nodes"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100)),
        sa.Column("peer_id", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
        sa.UniqueConstraint("run_id", "name", name="uq_nodes_run_id_name"),
    )

    op.create_table(
        "stat_points",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        *_run_fk("stat_points"),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("stat", sa.String(200), nullable=False),
        sa.Column("step", sa.Integer()),
        sa.Column("sim_time", sa.Float()),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.Column("value", sa.Float()),
        sa.Column("value_json", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_stat_points"),
    )
    op.create_index("ix_stat_points_run_id_stat_step", "stat_points", ["run_id", "stat", "step"])
    op.create_index("ix_stat_points_run_id_id", "stat_points", ["run_id", "id"])

    op.create_table(
        "transitions",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        *_run_fk("transitions"),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("from_state", sa.String(200)),
        sa.Column("to_state", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200)),
        sa.Column("sim_time", sa.Float()),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transitions"),
    )
    op.create_index("ix_transitions_run_id_id", "transitions", ["run_id", "id"])

    op.create_table(
        "badges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_run_fk("badges"),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("score", sa.Float()),
        sa.Column("reason", sa.Text()),
        sa.Column("sim_time", sa.Float()),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_badges"),
    )
    op.create_index("ix_badges_run_id_agent", "badges", ["run_id", "agent"])

    op.create_table(
        "message_counts",
        sa.Column("id", RowId, autoincrement=True, nullable=False),
        *_run_fk("message_counts"),
        sa.Column("tick", sa.Integer()),
        sa.Column("sim_time", sa.Float()),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("wall_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_message_counts"),
    )
    op.create_index("ix_message_counts_run_id_id", "message_counts", ["run_id", "id"])


def downgrade() -> None:
    for table in ("message_counts", "badges", "transitions", "stat_points", "nodes", "runs"):
        op.drop_table(table)
