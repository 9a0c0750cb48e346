"""The roles' behaviour files shipped with the world (written by WWorld.create_behav_files)."""

import json

import pytest

from worlds.training.src.config import DEFAULT_WORLD_FOLDER as WORLD


def test_tendency_role_goes_idle_proposing_staking_awaiting_resolution():
    hsm = json.loads((WORLD / "src" / "tendency.json").read_text("utf-8"))
    assert hsm["machine"]["role"] == "tendency" and hsm["machine"]["initial_state"] == "idle"
    assert list(hsm["states"]) == ["idle", "proposing", "staking", "awaiting_resolution"]
    edges = {(src, t["on"]["action"], t["goto"]) for src, ts in hsm["transitions"].items() for t in ts}
    assert {
        ("idle", "propose", "proposing"),
        ("proposing", "stake", "staking"),
        ("staking", "nop", "awaiting_resolution"),
        ("awaiting_resolution", "resolution", "idle"),
    } <= edges
    # the world's requests are served, never fired on their own: request-driven actions start not ready
    ready = {t["on"]["action"]: t["on"]["ready"] for ts in hsm["transitions"].values() for t in ts}
    assert ready["propose"] is ready["stake"] is ready["resolution"] is False and ready["nop"] is True
    # unaiverse reads every *.json next to world.py as a role: only the role files may live there
    assert sorted(p.name for p in (WORLD / "src").glob("*.json")) == [
        "canvas.json",
        "dynamics.json",
        "leworld.json",
        "master.json",
        "tendency.json",
    ]


def test_master_role_relays_on_its_own_every_tick():
    hsm = json.loads((WORLD / "src" / "master.json").read_text("utf-8"))
    assert hsm["machine"]["role"] == "master" and hsm["machine"]["initial_state"] == "relaying"
    edges = [
        (src, t["on"]["action"], t["goto"], t["on"]["ready"])
        for src, ts in hsm["transitions"].items()
        for t in ts
    ]
    # not a request the master serves: it fires by itself, every tick
    assert edges == [("relaying", "relay_requests", "relaying", True)]


@pytest.mark.parametrize(
    "kind, train_actions",
    [
        ("leworld", {"run_phase"}),
        ("canvas", {"run_curriculum_phase", "run_dag_node"}),
        ("dynamics", {"run_env_steps", "run_episode"}),
    ],
)
def test_learner_roles_go_idle_training_reporting_idle(kind, train_actions):
    hsm = json.loads((WORLD / "src" / f"{kind}.json").read_text("utf-8"))
    assert hsm["machine"]["role"] == kind and hsm["machine"]["initial_state"] == "idle"
    assert list(hsm["states"]) == ["idle", "training", "evaluating", "reporting", "finished"]
    edges = {(src, t["on"]["action"], t["goto"]) for src, ts in hsm["transitions"].items() for t in ts}
    assert edges == {
        *(("idle", a, "training") for a in train_actions),
        ("idle", "evaluate", "evaluating"),
        ("training", "work", "reporting"),
        ("evaluating", "work", "reporting"),
        ("reporting", "report", "idle"),
        ("idle", "finish", "finished"),
    }
    # the world's requests wait for the world; the agent's own steps (work, report) run by themselves
    ready = {t["on"]["action"]: t["on"]["ready"] for ts in hsm["transitions"].values() for t in ts}
    assert not any(ready[a] for a in (*train_actions, "evaluate", "finish"))
    assert ready["work"] and ready["report"]
    # the role file exists and names its kind
    assert f'KIND = "{kind}"' in (WORLD / "src" / f"{kind}.py").read_text("utf-8")
