"""Comparing runs, exporting one to Parquet/CSV (read back with pandas), deleting one with all it wrote."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import func, select

from wmverse.store import Point, StoreError, Transition
from wmverse.store import schema as t


def _two_runs(store) -> tuple[int, int]:
    a = store.begin_run("training", 0, {"epochs": 3})
    b = store.begin_run("training", 1, {"epochs": 2})
    store.add_points(
        a, [Point(p, "allocation", v, step=s) for s in (1, 2, 3) for p, v in (("x", s), ("y", s + 1))]
    )
    store.add_points(b, [Point("x", "allocation", 10.0 * s, step=s) for s in (2, 4)])
    store.add_points(
        a, [Point("world", "winner", "survival", step=3), Point("world", "p_value", 0.5, step=3)]
    )
    return a, b


def test_compare_puts_one_column_per_run_aligned_on_step(store):
    a, b = _two_runs(store)
    table = store.compare([b, a], "allocation")
    assert table.columns.tolist() == [b, a] and table.index.name == "step"
    assert table.index.tolist() == [1, 2, 3, 4]
    assert table[a].tolist()[:3] == [1.5, 2.5, 3.5] and math.isnan(table[a].iloc[3])  # mean over agents
    assert math.isnan(table[b].iloc[0]) and table[b].iloc[1] == 20.0 and table[b].iloc[3] == 40.0
    assert store.compare([a], "allocation", agent="y")[a].tolist() == [2.0, 3.0, 4.0]
    assert store.compare([a], "allocation", agg="max")[a].tolist() == [2.0, 3.0, 4.0]


def test_compare_names_the_stats_when_one_is_unknown(store):
    a, _ = _two_runs(store)
    with pytest.raises(
        StoreError, match=r"no points of stat 'allocaton'.*stats: allocation, p_value, winner"
    ):
        store.compare([a], "allocaton")
    with pytest.raises(StoreError, match="'step' or 'sim_time'"):
        store.compare([a], "allocation", on="wall")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_reads_back_with_pandas(store, tmp_path, fmt):
    a, _ = _two_runs(store)
    path = store.export(a, tmp_path / f"a.{fmt}", fmt)
    back = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    mine = store.points(a)
    assert len(back) == 8 and back.columns.tolist() == mine.columns.tolist()
    assert back["stat"].tolist() == mine["stat"].tolist()
    assert back["value"].fillna(-1).tolist() == mine["value"].fillna(-1).tolist()
    assert back["step"].tolist() == [1, 1, 2, 2, 3, 3, 3, 3]
    if fmt == "parquet":  # the run's row travels in the file's metadata
        meta = back.attrs["wmverse_run"]
        assert (meta["id"], meta["seed"], meta["config"], meta["status"]) == (a, 0, {"epochs": 3}, "running")


def test_export_other_tables_and_bad_requests(store, tmp_path, monkeypatch):
    a, _ = _two_runs(store)
    store.add_transitions(a, [Transition("x", "idle", "busy", "train", 1.0)])
    monkeypatch.chdir(tmp_path)
    path = store.export(a, fmt="csv", table="transitions")
    assert path.name == f"run-{a}-transitions.csv" and pd.read_csv(path)["to_state"].tolist() == ["busy"]
    with pytest.raises(StoreError, match="'parquet' and 'csv'"):
        store.export(a, fmt="xlsx")
    with pytest.raises(StoreError, match="no run 42"):
        store.export(42)
    with pytest.raises(StoreError, match="cannot write"):
        store.export(a, tmp_path / "missing" / "a.csv", "csv")


def test_delete_removes_the_run_and_everything_it_recorded(store):
    a, b = _two_runs(store)
    store.add_node(a, "world", "world")
    store.add_transitions(a, [Transition("x", None, "init")])
    store.add_badge(a, "x", "gold", 1.0)
    store.add_message_count(a, 3, tick=1)
    store.finish_run(a)
    deleted = store.delete(a)
    assert deleted == {"nodes": 1, "points": 8, "transitions": 1, "badges": 1, "message_counts": 1}
    with store._engine.connect() as conn:
        for table in (t.nodes, t.stat_points, t.transitions, t.badges, t.message_counts):
            assert conn.execute(select(func.count()).where(table.c.run_id == a)).scalar_one() == 0
    assert store.list_runs()["id"].tolist() == [b] and len(store.points(b)) == 2
    with pytest.raises(StoreError, match=f"no run {a}"):
        store.delete(a)


def test_delete_refuses_a_run_whose_process_is_alive(store):
    run_id = store.begin_run("w")  # this very process
    with pytest.raises(StoreError, match="still running"):
        store.delete(run_id)
