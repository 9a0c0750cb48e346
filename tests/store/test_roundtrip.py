"""Every table written through ``RunStore`` reads back the same, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import socket
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from wmverse.store import Point, RunStore, StoreError, Transition


def _rows(frame: pd.DataFrame, *columns: str) -> list:
    """The columns' values with every missing value as None (pandas' string columns hold NaN)."""
    values = [
        [None if pd.isna(v) else v for v in row] for row in frame[list(columns)].itertuples(index=False)
    ]
    return [row[0] for row in values] if len(columns) == 1 else values


@dataclasses.dataclass
class Config:
    epochs: int = 3
    judge: str = "lexical"
    out: object = None


def test_run_row_round_trips(store):
    start = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    run_id = store.begin_run("training", 7, Config(out=os.curdir), started_at=start)
    run = store.run(run_id)
    assert (run.world, run.seed, run.status, run.started_at, run.ended_at) == (
        "training",
        7,
        "running",
        start,
        None,
    )
    assert run.config == {"epochs": 3, "judge": "lexical", "out": "."}
    assert (run.host, run.pid) == (socket.gethostname(), os.getpid())
    assert run.code_version
    store.finish_run(run_id, "failed", ended_at=datetime(2023, 11, 14, 22, 15, 0, tzinfo=UTC))
    run = store.run(run_id)
    assert run.status == "failed" and run.duration.total_seconds() == 100
    frame = store.list_runs()
    assert frame.loc[0, "id"] == run_id
    assert frame.loc[0, "started_at"] == start and str(frame["started_at"].dt.tz) == "UTC"


def test_runs_accumulate_newest_first(store):
    ids = [
        store.begin_run("w", seed, {}, started_at=datetime(2024, 1, 1 + seed, tzinfo=UTC))
        for seed in range(3)
    ]
    assert store.list_runs()["id"].tolist() == ids[::-1]
    assert store.list_runs(limit=1)["id"].tolist() == [ids[-1]]
    store.finish_run(ids[0])
    assert store.list_runs(status="finished")["id"].tolist() == [ids[0]]
    assert store.list_runs(world="other").empty


def test_nodes_round_trip_and_update(store):
    run_id = store.begin_run("w")
    store.add_node(run_id, "world", "world", "peer-w")
    store.add_node(run_id, "Survival", "tendency", None)
    store.add_node(run_id, "Survival", "tendency", "peer-s")  # joined again: updated, not duplicated
    nodes = store.nodes(run_id)
    assert _rows(nodes, "name", "role", "peer_id") == [
        ["world", "world", "peer-w"],
        ["Survival", "tendency", "peer-s"],
    ]


def test_points_round_trip_numbers_json_and_details(store):
    run_id = store.begin_run("w")
    written = store.add_points(
        run_id,
        [
            Point("world", "val_accuracy", 0.25, step=1, sim_time=1.7e9, wall_time=10.0),
            ("peer-a", "allocation", np.float32(0.5), 1, 1.7e9 + 0.1, 11.0),  # a tuple, a numpy scalar
            {"agent": "world", "stat": "winner", "value": "survival", "step": 1, "wall_time": 12.0},
            Point("world", "converged", True, step=2, wall_time=13.0),
            Point("peer-a", "learner_step", 0.125, step=2, wall_time=14.0, detail={"action": "train"}),
            Point("world", "badges", [{"kind": "gold"}], wall_time=15.0),
            Point("world", "nothing", None, wall_time=16.0),
        ],
    )
    assert written == 7
    frame = store.points(run_id)
    assert frame["stat"].tolist() == [
        "val_accuracy",
        "allocation",
        "winner",
        "converged",
        "learner_step",
        "badges",
        "nothing",
    ]
    assert frame["value"].isna().tolist() == [False, False, True, False, False, True, True]
    assert frame.loc[[0, 1, 3, 4], "value"].tolist() == [0.25, 0.5, 1.0, 0.125]
    assert _rows(frame, "value_json") == [
        None,
        None,
        '"survival"',
        None,
        '{"action": "train"}',
        '[{"kind": "gold"}]',
        None,
    ]
    assert frame["step"].tolist()[:5] == [1, 1, 1, 2, 2] and frame["step"].isna().tolist()[5:] == [True, True]
    assert frame["sim_time"].tolist()[:2] == [1.7e9, 1.7e9 + 0.1]
    assert frame["wall_time"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    assert store.points(run_id, "allocation", agents="peer-a")["value"].tolist() == [0.5]
    last = int(frame["id"].iloc[3])
    assert store.points(run_id, since_id=last)["stat"].tolist() == ["learner_step", "badges", "nothing"]
    assert store.add_points(run_id, []) == 0


def test_numpy_numbers_bind_everywhere(store):
    run_id = store.begin_run("w")
    store.add_points(
        run_id, [Point("a", "s", np.int64(3), step=np.int64(2), sim_time=np.float32(1.5), wall_time=7)]
    )
    store.add_points(run_id, [Point("a", "v", np.array([1.0, 2.0]))])  # not a scalar: stored as JSON text
    store.add_badge(run_id, "a", "gold", np.float32(0.5), sim_time=np.int32(4))
    frame = store.points(run_id)
    assert frame[["value", "step", "sim_time", "wall_time"]].iloc[0].tolist() == [3.0, 2, 1.5, 7.0]
    assert frame["value_json"].iloc[1] == "[1.0, 2.0]"
    assert store.badges(run_id)[["score", "sim_time"]].iloc[0].tolist() == [0.5, 4.0]


def test_the_core_insert_path_writes_the_same_rows(store, monkeypatch):
    from wmverse.store import store as module

    plan = module.insert_plan
    monkeypatch.setattr(module, "insert_plan", lambda dialect, table: (None, *plan(dialect, table)[1:]))
    run_id = store.begin_run("w")
    store.add_points(run_id, [Point("a", "s", 1.0, step=1), Point("a", "t", {"k": 1}, step=2)])
    store.add_transitions(run_id, [Transition("a", None, "init", None, 0.5)])
    store.add_message_count(run_id, 4, tick=1)
    assert _rows(store.points(run_id), "stat", "value", "value_json") == [
        ["s", 1.0, None],
        ["t", None, '{"k": 1}'],
    ]
    assert store.counts(run_id)["transitions"] == 1 and store.message_counts(run_id)["count"].tolist() == [4]


def test_a_text_value_cannot_carry_a_detail(store):
    run_id = store.begin_run("w")
    with pytest.raises(StoreError, match="not a number"):
        store.add_points(run_id, [Point("a", "s", "text", detail={"x": 1})])


def test_transitions_badges_and_message_counts_round_trip(store):
    run_id = store.begin_run("w")
    store.add_transitions(
        run_id,
        [
            Transition("peer-a", "init", "searching", "connect_by_role", 0.1, 1.0),
            ("peer-a", "searching", "idle", None, 0.2),
            {"agent": "peer-b", "from_state": None, "to_state": "init"},
        ],
    )
    store.add_badge(
        run_id, "peer-a", "converged", 0.93, "allocation stable 3 epochs", sim_time=5.0, wall_time=2.0
    )
    store.add_badge(run_id, "peer-b", "participant")
    store.add_message_count(run_id, 12, tick=1, sim_time=0.1, wall_time=3.0)
    store.add_message_count(run_id, 30, tick=2)
    tr = store.transitions(run_id)
    assert _rows(tr, "agent", "from_state", "to_state", "action") == [
        ["peer-a", "init", "searching", "connect_by_role"],
        ["peer-a", "searching", "idle", None],
        ["peer-b", None, "init", None],
    ]
    assert tr["sim_time"].tolist()[:2] == [0.1, 0.2] and tr["wall_time"].iloc[0] == 1.0
    b = store.badges(run_id)
    assert _rows(b, "agent", "kind", "reason") == [
        ["peer-a", "converged", "allocation stable 3 epochs"],
        ["peer-b", "participant", None],
    ]
    assert b["score"].iloc[0] == 0.93 and b["sim_time"].iloc[0] == 5.0 and b["score"].isna().iloc[1]
    m = store.message_counts(run_id)
    assert m["count"].tolist() == [12, 30] and m["tick"].tolist() == [1, 2] and m["wall_time"].iloc[0] == 3.0
    assert store.counts(run_id) == {
        "nodes": 0,
        "points": 0,
        "transitions": 3,
        "badges": 2,
        "message_counts": 2,
    }


def test_transaction_groups_writes_and_rolls_back_together(store):
    run_id = store.begin_run("w")
    with store.transaction():
        store.add_points(run_id, [Point("a", "s", 1.0, step=1)])
        store.add_message_count(run_id, 3, tick=1)
    with pytest.raises(RuntimeError), store.transaction():
        store.add_points(run_id, [Point("a", "s", 2.0, step=2)])
        raise RuntimeError("the tick failed")
    assert store.points(run_id)["value"].tolist() == [1.0]
    assert store.message_counts(run_id)["count"].tolist() == [3]


def test_unknown_runs_and_bad_statuses_are_store_errors(store):
    run_id = store.begin_run("w")
    with pytest.raises(StoreError, match="no run 999"):
        store.run(999)
    with pytest.raises(StoreError, match="no run 999"):
        store.points([run_id, 999])
    with pytest.raises(StoreError, match="no run 999"):
        store.finish_run(999)
    with pytest.raises(StoreError, match="cannot add points to run 999"):
        store.add_points(999, [Point("a", "s", 1.0)])  # the foreign key refuses it
    with pytest.raises(StoreError, match="not 'running'"):
        store.finish_run(run_id, "running")
    with pytest.raises(StoreError, match="whole number"):
        store.points("three")


def test_two_stores_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as writer, RunStore.open(path, create=False) as reader:
        run_id = writer.begin_run("w")
        writer.add_points(run_id, [Point("a", "s", float(i), step=i) for i in range(5)])
        assert reader.points(run_id)["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
