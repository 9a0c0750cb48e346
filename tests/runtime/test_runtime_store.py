"""Every run is recorded in the run store: the run, its nodes and roles, the world's stats as points (the
same values as unaiverse's SQLite file), state transitions, badges and message counts; runs accumulate;
a failed run is 'failed'; remote processes' transitions reach the store; a STATS_REQUEST without names is
answered with data, not a page."""

from __future__ import annotations

import json
import sqlite3

import pytest

from wmverse.runtime import RuntimeConfig, run_world
from wmverse.runtime.runner import format_report
from wmverse.store import RunStore


@pytest.fixture
def recorded(tiny, tmp_path, monkeypatch):
    """The tiny world run once into a fresh store: (folder, result, store URL)."""
    monkeypatch.setenv("WMVERSE_STORE_TEST_MARK", "yes")
    db = str(tmp_path / "store" / "runs.db")
    (tmp_path / "store").mkdir()
    result = run_world(tiny, RuntimeConfig(seed=3, max_steps=300, quiet=True, db=db))
    assert result.exit_code == 0, result.error
    return tiny, result, db


def test_the_run_its_nodes_and_roles_are_recorded(recorded):
    folder, result, db = recorded
    assert result.run_id is not None and result.store == f"sqlite:///{db}"
    assert f"run store: run {result.run_id} in sqlite:///{db}" in format_report(result).splitlines()
    with RunStore.open(db, create=False) as store:
        run = store.run(result.run_id)
        assert (run.world, run.seed, run.status) == ("tiny", 3, "finished")
        assert run.ended_at is not None
        assert run.config["tick_ms"] == 100.0 and run.config["max_steps"] == 300
        assert run.config["WMVERSE_STORE_TEST_MARK"] == "yes"  # every WMVERSE_* variable
        assert run.config["db"] == db and run.config["driver"] is None
        nodes = store.nodes(result.run_id).set_index("name")
    assert nodes["role"].to_dict() == {
        "TinyWorld": "world",
        "Asker": "asker",
        "Alice": "answerer",
        "Bob": "answerer",
    }
    assert all(peer.startswith("LocPrv") for peer in nodes["peer_id"])


def test_transitions_badges_and_messages_are_recorded(recorded):
    _, result, db = recorded
    with RunStore.open(db, create=False) as store:
        moves = store.transitions(result.run_id)
        badges = store.badges(result.run_id)
        counts = store.message_counts(result.run_id)
    rows = list(zip(moves["agent"], moves["from_state"], moves["to_state"], moves["action"], strict=True))
    assert ("Asker", "init", "searching", "connect_by_role") in rows
    assert ("Asker", "ready", "asked", "ask_named") in rows
    assert ("TinyWorld", "waiting", "greeted", "greet") in rows
    assert ("Bob", "idle", "idle", "answer") in rows  # self-loops are transitions too
    assert (moves["sim_time"] >= 1.7e9).all() and moves["sim_time"].is_monotonic_increasing
    assert badges[["agent", "kind", "score", "reason"]].values.tolist() == [
        ["Asker", "completed", 1.0, "asked Bob"]
    ]
    assert counts["count"].sum() == result.messages
    assert counts["tick"].is_monotonic_increasing and counts["tick"].max() < result.steps


def test_points_are_the_world_stats(recorded):
    """The store holds the values unaiverse's SQLite file holds: each dynamic row (peer -> node name,
    timestamp -> sim_time), and the final value of each static stat."""
    folder, result, db = recorded
    with RunStore.open(db, create=False) as store:
        points = store.points(result.run_id)
        names = dict(
            zip(store.nodes(result.run_id)["peer_id"], store.nodes(result.run_id)["name"], strict=True)
        )
    conn = sqlite3.connect(result.stats_db)
    try:
        dynamic = conn.execute(
            "SELECT peer_id, stat_name, timestamp, val_num, val_json FROM dynamic_stats"
        ).fetchall()
        static = conn.execute("SELECT peer_id, stat_name, val_json FROM static_stats").fetchall()
    finally:
        conn.close()
    assert dynamic and static
    stored = {
        (agent, stat, round(sim * 1000)): (value if value == value else json.loads(js))
        for agent, stat, sim, value, js in zip(
            points["agent"],
            points["stat"],
            points["sim_time"],
            points["value"],
            points["value_json"],
            strict=True,
        )
    }
    for peer, stat, ts, number, js in dynamic:
        who = names.get(peer, "TinyWorld" if peer is None else peer)
        assert stored[(who, stat, ts)] == (number if number is not None else json.loads(js))
    last = points.sort_values("id").groupby(["agent", "stat"]).last()
    for peer, stat, js in static:
        row = last.loc[(names.get(peer, peer), stat)]
        assert (
            row["value"] if row["value"] == row["value"] else json.loads(row["value_json"])
        ) == json.loads(js)
    assert points["step"].between(0, result.steps).all()
    assert (points[points["stat"] == "badges_given"]["agent"] == "TinyWorld").all()  # ungrouped: the world


def test_runs_accumulate_in_the_world_folder(tiny, monkeypatch):
    monkeypatch.delenv("WMVERSE_DB", raising=False)
    first = run_world(tiny, RuntimeConfig(seed=0, max_steps=300, quiet=True))
    second = run_world(tiny, RuntimeConfig(seed=1, max_steps=300, quiet=True))
    assert first.store == second.store == f"sqlite:///{tiny / 'runs.db'}"
    assert second.run_id == first.run_id + 1
    with RunStore.open(tiny / "runs.db", create=False) as store:
        runs = store.list_runs()
        assert sorted(runs["id"]) == [first.run_id, second.run_id]
        assert set(runs["status"]) == {"finished"} and sorted(runs["seed"]) == [0, 1]
        assert store.counts(first.run_id)["points"] > 0 and store.counts(second.run_id)["points"] > 0


def test_env_chooses_the_store_and_none_records_nothing(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("WMVERSE_DB", str(tmp_path / "env.db"))
    result = run_world(tiny, RuntimeConfig(max_steps=300, quiet=True))
    assert result.store == f"sqlite:///{tmp_path / 'env.db'}"
    off = run_world(tiny, RuntimeConfig(max_steps=300, quiet=True, db="none"))
    assert off.exit_code == 0 and off.run_id is None and "run store" not in format_report(off)
    monkeypatch.setenv("WMVERSE_DB", "none")
    assert run_world(tiny, RuntimeConfig(max_steps=300, quiet=True)).run_id is None
    assert not (tiny / "runs.db").exists()


def test_the_recorded_config_hides_database_passwords(monkeypatch):
    from wmverse.runtime.recorder import run_config

    monkeypatch.setenv("WMVERSE_DB", "postgresql+psycopg://me:secret@host/db")
    config = run_config(RuntimeConfig(db="postgresql://me:other@host/db", out_dir=None))
    assert config["WMVERSE_DB"] == "postgresql+psycopg://me:***@host/db"
    assert config["db"] == "postgresql://me:***@host/db"
    assert "secret" not in json.dumps(config) and "other" not in json.dumps(config)


def test_a_store_that_cannot_open_is_exit_2(tiny, tmp_path):
    result = run_world(tiny, RuntimeConfig(quiet=True, db=str(tmp_path / "missing" / "runs.db")))
    assert result.exit_code == 2 and "run store" in result.error and "folder does not exist" in result.error
    result = run_world(tiny, RuntimeConfig(quiet=True, db="nosuchdriver://x/y"))
    assert result.exit_code == 2 and "nosuchdriver" in result.error


def test_a_failing_script_ends_the_run_failed(tiny, tmp_path):
    (tiny / "run_9_broken.py").write_text("raise RuntimeError('broken on purpose')\n", encoding="utf-8")
    db = str(tmp_path / "runs.db")
    result = run_world(tiny, RuntimeConfig(max_steps=300, quiet=True, db=db))
    assert result.exit_code == 1 and "broken on purpose" in result.error
    with RunStore.open(db, create=False) as store:
        run = store.run(result.run_id)
        assert run.status == "failed" and run.ended_at is not None
        assert "TinyWorld" in set(store.nodes(run.id)["name"])  # what ran before the failure is there


def test_processes_record_the_remote_agents(tiny, tmp_path):
    from wmverse.runtime.processes import run_processes

    db = str(tmp_path / "runs.db")
    result = run_processes(tiny, RuntimeConfig(seed=0, max_steps=300, quiet=True, db=db))
    assert result.exit_code == 0, result.error
    with RunStore.open(db, create=False) as store:
        run = store.run(result.run_id)
        assert run.status == "finished" and run.config["driver"] == "Hub"
        nodes = store.nodes(run.id).set_index("name")["role"].to_dict()
        moves = store.transitions(run.id)
        badges = store.badges(run.id)
    assert nodes == {"TinyWorld": "world", "Asker": "asker", "Alice": "answerer", "Bob": "answerer"}
    # agents' moves come from their processes (Alice makes none: she refuses the world's request, as live)
    assert set(moves["agent"]) == {"Asker", "Bob", "TinyWorld"}
    assert badges["agent"].tolist() == ["Asker"]


def test_stats_request_without_names_is_answered_with_data(tiny, monkeypatch):
    """The world answers the view of its stats (``Stats.get_view``), not a dashboard page (the training
    world's is megabytes: tests/world/test_world_store.py)."""
    from unaiverse.networking.p2p.messages import Msg

    from wmverse.runtime.conn import Router
    from wmverse.runtime.scheduler import Runtime

    answers = []
    advance, deliver = Runtime.advance, Router.deliver

    def ask_at_tick_15(self):
        if self.steps == 15:
            asker, world = self.router.by_name["Asker"], self.world_node
            msg = asker.conn.make_msg(world.private_peer_id, Msg.STATS_REQUEST, {})
            self.router.deliver(msg, world.private_peer_id)
        advance(self)

    def spy(self, msg, to_peer):
        if msg.content_type == Msg.STATS_RESPONSE:
            answers.append(msg)
        return deliver(self, msg, to_peer)

    monkeypatch.setattr(Runtime, "advance", ask_at_tick_15)
    monkeypatch.setattr(Router, "deliver", spy)
    result = run_world(tiny, RuntimeConfig(max_steps=300, quiet=True, db="none"))
    assert result.exit_code == 0, result.error
    (answer,) = answers
    assert isinstance(answer.content, dict) and set(answer.content) == {"world", "peers"}
    assert answer.content["peers"]  # the agents' stats
    assert len(answer.to_bytes()) < 20_000
