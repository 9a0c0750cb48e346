"""``wmverse.store.runs``: the user-facing functions answer in DataFrames and never create a store."""

from __future__ import annotations

import pandas as pd
import pytest

from wmverse.store import Point, RunStore, StoreError, runs


def test_functions_read_the_store_named_by_db_or_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store:
        a = store.begin_run("training", 0, {})
        b = store.begin_run("training", 1, {})
        store.add_points(a, [Point("w", "acc", 0.5, step=1)])
        store.add_points(b, [Point("w", "acc", 0.7, step=1)])
        store.finish_run(a)
        store.finish_run(b)
    monkeypatch.setenv("WMVERSE_DB", str(path))
    assert runs.list_runs()["id"].tolist() == [b, a]
    assert runs.run(a).seed == 0
    assert isinstance(runs.points([a, b], "acc"), pd.DataFrame)
    assert runs.compare([a, b], "acc").loc[1].tolist() == [0.5, 0.7]
    assert pd.read_csv(runs.export(a, tmp_path / "a.csv", "csv"))["value"].tolist() == [0.5]
    assert runs.delete(a)["points"] == 1 and runs.list_runs(db=path)["id"].tolist() == [b]


def test_a_missing_store_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(StoreError, match="no run store at"):
        runs.list_runs(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()
