"""Learner protocol of the training world: plans, trackers, env knobs, badge rules, runners, processor."""

import pytest

from agents.learner import LearnerProcessor
from agents.learners import json_safe
from agents.learners.dynamics import DynamicsLearnerConfig
from agents.learners.leworld import LeWorldLearnerConfig
from worlds.training.src.learner_plans import (
    EVALUATE,
    LEARNER_SPECS,
    CanvasLearner,
    DynamicsLearner,
    LearnerStep,
    LearnerTracker,
    LeWorldLearner,
    enabled_learners,
    learner_kind_of,
    learner_spec,
)

TINY_ENV = {
    "WMVERSE_SEED": "3",
    "WMVERSE_LEWORLD_EPOCHS": "1,1,1",
    "WMVERSE_LEWORLD_SEQUENCES": "16,8",
    "WMVERSE_CANVAS_STEPS": "3,2,3",
    "WMVERSE_DYNAMICS_STEPS": "1,40",
    "WMVERSE_DYNAMICS_WARMUP": "30,10",
    "WMVERSE_DYNAMICS_EVAL_EPISODES": "1",
}


def test_plans_are_request_sequences_ending_with_evaluation():
    plans = {k: learner_spec(k, TINY_ENV).plan() for k in LEARNER_SPECS}
    assert [(s.action, s.args) for s in plans["leworld"]] == [
        ("run_phase", {"phase": 1}),
        ("run_phase", {"phase": 2}),
        ("run_phase", {"phase": 3}),
        (EVALUATE, {}),
    ]
    assert [s.args.get("phase") for s in plans["canvas"][:-1]] == [0, 1, 2]
    default = learner_spec("canvas", {}).plan()  # phases of 50, 50 and 600 steps, at most 150 per request
    assert [(s.args, s.label) for s in default[:-1]] == [
        ({"phase": 0}, "independent"),
        ({"phase": 1}, "coupling"),
        *[({"phase": 2, "steps": 150}, f"integration {j}/4") for j in (1, 2, 3, 4)],
    ]
    assert [s.action for s in plans["dynamics"]] == ["run_env_steps", "run_episode", EVALUATE]
    assert plans["dynamics"][0].args == {"n": 40} and plans["dynamics"][-1].args == {"episodes": 1}
    for steps in plans.values():
        assert [s.index for s in steps] == list(range(len(steps)))
        assert steps[-1].is_evaluation and not any(s.is_evaluation for s in steps[:-1])
    # only the learner's own train actions (+ evaluate) are requested
    for kind, steps in plans.items():
        assert {s.action for s in steps[:-1]} <= set(LEARNER_SPECS[kind].train_actions)


def test_tracker_walks_the_plan_and_ignores_stale_reports():
    spec = LeWorldLearner(LeWorldLearnerConfig(phase_epochs=(1, 1, 1)))
    t = LearnerTracker("peer", spec)
    assert t.next_step().label == "phase 1" and not t.trained
    first = t.next_step()
    t.mark_asked(first, 1.0)
    assert t.next_step() is None  # one request at a time
    assert t.record(3, {"loss": 1.0}) is None and t.awaiting == 0  # a report for another step: ignored
    assert t.record(0, {"loss": 1.0}) == first and t.next_index == 1
    assert t.record(0, {"loss": 1.0}) is None  # duplicate
    for _ in range(2):
        s = t.next_step()
        t.mark_asked(s, 2.0)
        t.record(s.index, {"loss": 0.5})
    ev = t.next_step()
    assert ev.is_evaluation
    t.mark_asked(ev, 3.0)
    t.record(ev.index, {"leworld": {"mse": 0.1}, "memory_free": {"mse": 0.2}})
    assert t.trained and not t.done and t.badge is not None and t.badge.reason == "beats_memory_free"
    t.finish_sent = True
    assert t.done and len(t.reports) == 4
    with pytest.raises(ValueError, match="must end with an 'evaluate'"):
        LearnerTracker("p", spec, steps=[LearnerStep(0, "run_phase", {"phase": 1})])


def test_env_knobs_configure_each_learner_and_bad_values_are_refused():
    lw = learner_spec("leworld", TINY_ENV).config
    assert (lw.seed, lw.phase_epochs, lw.num_train, lw.num_val) == (3, (1, 1, 1), 16, 8)
    assert learner_spec("canvas", TINY_ENV).config.phase_steps == (3, 2, 3)
    dy = learner_spec("dynamics", TINY_ENV).config
    assert (dy.chunks, dy.chunk_steps, dy.warmup_steps, dy.pretrain_steps, dy.eval_episodes) == (
        1,
        40,
        30,
        10,
        1,
    )
    with pytest.raises(ValueError, match="WMVERSE_LEWORLD_EPOCHS needs 3"):
        learner_spec("leworld", {"WMVERSE_LEWORLD_EPOCHS": "1,2"})
    with pytest.raises(ValueError, match="WMVERSE_CANVAS_STEPS must be comma-separated integers"):
        learner_spec("canvas", {"WMVERSE_CANVAS_STEPS": "a,b,c"})
    with pytest.raises(ValueError, match="difficulty must be easy, medium or hard"):
        learner_spec("leworld", {"WMVERSE_LEWORLD_DIFFICULTY": "extreme"})
    with pytest.raises(ValueError, match="unknown learner kind 'vae'"):
        learner_spec("vae", {})
    with pytest.raises(ValueError, match="chunk_steps must be >= 1"):
        DynamicsLearnerConfig(chunk_steps=0)
    assert (
        enabled_learners({}) == set(LEARNER_SPECS) and enabled_learners({"WMVERSE_LEARNERS": "none"}) == set()
    )
    assert enabled_learners({"WMVERSE_LEARNERS": "canvas, dynamics"}) == {"canvas", "dynamics"}
    with pytest.raises(ValueError, match="unknown learner"):
        enabled_learners({"WMVERSE_LEARNERS": "leworld,gan"})
    assert (
        learner_kind_of("LearnerLeWorld") == "leworld" and learner_kind_of("owner/LearnerCanvas") == "canvas"
    )
    assert learner_kind_of("TendencyCuriosity") is None and learner_kind_of("LearnerGan") is None


def test_config_travels_as_json_and_unknown_settings_fail():
    spec = learner_spec("dynamics", TINY_ENV)
    back = DynamicsLearner.from_payload(spec.config_payload())
    assert back.config == spec.config and back.plan() == spec.plan()
    lw = learner_spec("leworld", TINY_ENV)
    assert LeWorldLearner.from_payload(lw.config_payload()).config == lw.config  # tuples survive JSON
    with pytest.raises(ValueError, match="unknown canvas learner setting"):
        CanvasLearner.from_payload({"bogus": 1})
    assert json_safe({"a": (1, float("nan")), "b": [2.5]}) == {"a": [1, None], "b": [2.5]}
    with pytest.raises(TypeError, match="cannot send object"):
        json_safe(object())


def test_badge_rules_decided_by_the_world():
    lw = LeWorldLearner()
    win = lw.badge({"leworld": {"mse": 0.03}, "memory_free": {"mse": 0.04}})
    assert (
        win.badge_type == "pro"
        and win.score == pytest.approx(0.25)
        and "0.0300 < memory-free" in win.description
    )
    assert lw.badge({"leworld": {"mse": 0.04}, "memory_free": {"mse": 0.04}}) is None
    assert lw.badge({"leworld": {"mse": 0.01}}) is None  # no baseline, no badge

    cv = CanvasLearner()
    table = {
        "random walk": {"infl": 3.0, "unemp": 0.40},
        "AR(1)": {"infl": 2.5, "unemp": 0.50},
        "canvas": {"infl": 2.0, "unemp": 0.30},
    }
    b = cv.badge({"rmse": table})
    assert b.reason == "beats_baselines" and b.score == pytest.approx(((1 - 2.0 / 2.5) + (1 - 0.3 / 0.4)) / 2)
    table["canvas"]["unemp"] = 0.45  # beats AR(1) but not the random walk
    assert cv.badge({"rmse": table}) is None

    dy = DynamicsLearner()
    solved = dy.badge({"mean_return": 480.0, "returns": [470.0, 490.0], "solved_return": 475.0})
    assert solved.badge_type == "completed" and solved.score == 1.0 and "480.0 >= 475" in solved.description
    assert dy.badge({"mean_return": 474.9, "returns": [474.9], "solved_return": 475.0}) is None
    assert dy.badge({"error": "boom"}) is None


def _run_plan(kind, env=TINY_ENV, n_steps=None):
    spec = learner_spec(kind, env)
    proc = LearnerProcessor(kind)
    assert proc("status") == f"{kind} learner: not started"
    plan = spec.plan()[:n_steps]
    reports = [proc.run_request(s.action, s.args, spec.config_payload()) for s in plan]
    return spec, proc, reports


@pytest.fixture(scope="module")
def runs():
    return {kind: _run_plan(kind) for kind in LEARNER_SPECS}


def test_leworld_learner_runs_its_phases_and_evaluates_against_the_baseline(runs):
    spec, proc, reports = runs["leworld"]
    assert [r["phase"] for r in reports[:3]] == [1, 2, 3]
    assert {"slm_loss", "blm_loss"} <= set(reports[0]["epochs"][0]) and "epochs_memory_free" in reports[0]
    assert {"total_loss", "next_state_loss", "temperature"} <= set(reports[1]["epochs"][0])
    assert "loss_with_info" in reports[2]["epochs"][0]
    ev = reports[-1]
    for name in ("leworld", "memory_free"):
        assert {"mse", "mae", "step_mses", "routing_entropy", "slm_usage"} <= set(ev[name])
    assert ev["beats_memory_free"] == (ev["leworld"]["mse"] < ev["memory_free"]["mse"])
    assert (spec.badge(ev) is not None) == ev["beats_memory_free"]
    assert "phases done [1, 2, 3]" in proc("status")
    # same seed, same numbers; phases only in order; one configuration per learner
    assert _run_plan("leworld", n_steps=1)[2] == reports[:1]
    fresh = LearnerProcessor("leworld")
    with pytest.raises(ValueError, match="phase 2 requested after phases"):
        fresh.run_request("run_phase", {"phase": 2}, spec.config_payload())
    other = learner_spec("leworld", {**TINY_ENV, "WMVERSE_SEED": "4"}).config_payload()
    with pytest.raises(ValueError, match="configured differently"):
        fresh.run_request("run_phase", {"phase": 1}, other)
    with pytest.raises(ValueError, match="cannot run 'run_env_steps'"):
        fresh.run_request("run_env_steps", {"n": 3}, spec.config_payload())
    with pytest.raises(ValueError, match="unknown learner kind"):
        LearnerProcessor("gan")


def test_canvas_learner_trains_the_curriculum_and_compares_with_baselines(runs):
    spec, _, reports = runs["canvas"]
    assert [r["name"] for r in reports[:3]] == ["independent", "coupling", "integration"]
    groups = set(reports[0]["group_losses"])  # the learner trains on the mixture of disjoint datasets
    assert {"country_us.macro", "country_us.rates"} <= groups and any(g.startswith("country_de") for g in groups)
    assert all(r["heldout"]["rmse"] > 0 for r in reports[:3])
    ev = reports[-1]
    assert set(ev["rmse"]) == {"random walk", "AR(1)", "canvas"}
    assert set(ev["rmse"]["canvas"]) == {"infl", "unemp"} and ev["n_test"] == len(
        ev["series"]["infl"]["truth"]
    )
    beats = all(
        ev["rmse"]["canvas"][k] < min(ev["rmse"][b][k] for b in ("random walk", "AR(1)"))
        for k in ("infl", "unemp")
    )
    assert (spec.badge(ev) is not None) == beats


def test_dynamics_learner_acts_dreams_and_evaluates(runs):
    spec, proc, reports = runs["dynamics"]
    steps, episode, ev = reports
    assert steps["env_steps"] == 40 and steps["buffer_size"] == 40 and steps["total_env_steps"] == 40
    assert steps["episodes"] and not steps["episodes"][0]["planned"]  # warm-up episodes are random
    assert episode["episodes"] and episode["episodes"][-1]["planned"]
    imagined, real = episode["imagined"], episode["real"]
    assert len(imagined) == len(real) > 0 and len(imagined[0]) == len(real[0]) == 4
    assert episode["buffer_size"] == episode["total_env_steps"] > 40
    assert len(ev["returns"]) == 1 and ev["solved_return"] == 475.0
    assert (spec.badge(ev) is not None) == (ev["mean_return"] >= 475.0)
    assert _run_plan("dynamics", n_steps=2)[2] == reports[:2]  # same seed, same run
    with pytest.raises(ValueError, match="n >= 1"):
        proc.run_request("run_env_steps", {"n": 0}, spec.config_payload())


def test_canvas_dag_curriculum_runs_its_nodes_as_requests():
    env = {**TINY_ENV, "WMVERSE_CANVAS_CURRICULUM": "dag", "WMVERSE_CANVAS_DAG_STEPS": "2"}
    spec = learner_spec("canvas", env)
    plan = spec.plan()
    names = [s.args["node"] for s in plan[:-1]]
    assert len(names) == 12 and plan[-1].is_evaluation and {s.action for s in plan[:-1]} == {"run_dag_node"}
    assert (
        names.index("real_economy")
        < names.index("macro")
        < names.index("macro_finance")
        < names.index("integration")
    )
    proc = LearnerProcessor("canvas")
    with pytest.raises(ValueError, match="needs its parents"):
        proc.run_request("run_dag_node", {"node": "macro"}, spec.config_payload())
    reports = {s.label: proc.run_request(s.action, s.args, spec.config_payload()) for s in plan}
    assert not reports["equities"]["skipped"] and reports["equities"]["heldout"]["rmse"] > 0  # the stocks
    assert reports["real_economy"]["start"] == "root" and not reports["real_economy"]["skipped"]
    assert reports["macro"]["start"] == "join" and reports["macro"]["heldout"]["rmse"] > 0
    ev = reports["forecast"]
    assert set(ev["rmse"]) == {"random walk", "AR(1)", "canvas"} and ev["phases_done"] == 12
    seq = LearnerProcessor("canvas")
    with pytest.raises(ValueError, match="needs curriculum='dag'"):
        seq.run_request("run_dag_node", {"node": "rates"}, learner_spec("canvas", TINY_ENV).config_payload())
    with pytest.raises(ValueError, match="curriculum must be 'seq' or 'dag'"):
        learner_spec("canvas", {"WMVERSE_CANVAS_CURRICULUM": "tree"})
