"""DreamRolloutPlanner (random shooting, CEM, surprise replanning) and CognitiveCycle."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from wmverse.dynamics import (
    CognitiveCycle,
    DreamRolloutPlanner,
    ModelInput,
    PlannerConfig,
    PlanningMethod,
    TorchWorldModel,
    build_world_model,
)
from wmverse.dynamics.losses import survival_return
from wmverse.dynamics.testing import small_config, wall_walk_transitions


@pytest.fixture(scope="module")
def homing_model() -> TorchWorldModel:
    """1-D: x' = x + 0.2 (a - 1) with 3 actions; reward -|x'|: the best plan heads to 0."""
    wm = build_world_model(small_config(obs_dim=1, action_dim=3, learning_rate=1e-2, seed=1))
    rng = np.random.default_rng(0)
    for _ in range(300):
        x = float(rng.uniform(-2, 2))
        a = int(rng.integers(3))
        nx = x + 0.2 * (a - 1)
        wm.observe((x,), a, (nx,), -abs(nx), False)
    wm.train_steps(400, batch_size=64)
    return wm


@pytest.mark.parametrize("method", list(PlanningMethod), ids=lambda m: m.name)
def test_planner_heads_for_the_reward(homing_model, method):
    planner = DreamRolloutPlanner(
        homing_model, PlannerConfig(method=method, horizon=5, population=64, cem_iterations=3, seed=0)
    )
    right = planner.plan((1.0,))
    planner.reset()
    left = planner.plan((-1.0,))
    assert right.action == 0 and left.action == 2
    assert len(right.actions) == 5
    assert right.sequences_evaluated >= 64
    assert right.elapsed_s > 0 and isinstance(right.within_budget, bool)


def test_cem_beats_or_matches_random_shooting(homing_model):
    cfg = PlannerConfig(horizon=8, population=32, cem_iterations=4, time_budget_s=10.0, seed=3)
    cem = DreamRolloutPlanner(homing_model, replace(cfg, method=PlanningMethod.CEM)).plan((1.5,))
    rs = DreamRolloutPlanner(homing_model, replace(cfg, method=PlanningMethod.RANDOM_SHOOTING)).plan((1.5,))
    assert cem.iterations == 4 and rs.iterations == 1
    assert cem.predicted_return >= rs.predicted_return - 1e-6


def test_cem_stops_at_the_time_budget(homing_model):
    planner = DreamRolloutPlanner(
        homing_model, PlannerConfig(horizon=5, population=32, cem_iterations=1000, time_budget_s=1e-6)
    )
    result = planner.plan((1.0,))
    assert result.iterations == 1  # always one round, then the budget ends the search
    assert not result.within_budget
    fixed = PlannerConfig(
        horizon=5, population=32, cem_iterations=3, time_budget_s=1e-6, enforce_budget=False
    )
    result = DreamRolloutPlanner(homing_model, fixed).plan((1.0,))
    assert result.iterations == 3 and not result.within_budget  # budget reported, not enforced


def test_planner_is_reproducible(homing_model):
    cfg = PlannerConfig(horizon=6, population=16, seed=11, time_budget_s=60.0)  # budget-bound runs vary
    a = DreamRolloutPlanner(homing_model, cfg).plan((0.3,))
    b = DreamRolloutPlanner(homing_model, cfg).plan((0.3,))
    assert a.actions == b.actions and a.predicted_return == b.predicted_return


def test_surprise_above_threshold_forces_a_replan(homing_model):
    planner = DreamRolloutPlanner(homing_model, PlannerConfig(horizon=6, population=16, replan_every=4))
    threshold = homing_model.config.surprise_threshold
    planner.act((1.0,))
    planner.act((0.8,), surprise=threshold / 2)
    assert planner.replans == 1  # following the plan
    planner.act((0.6,), surprise=threshold * 10)
    assert planner.replans == 2 and planner.surprise_replans == 1
    for _ in range(4):
        planner.act((0.5,), surprise=0.0)
    assert planner.replans == 3  # scheduled replan after replan_every steps


def test_survival_return_weights_rewards_by_survival():
    rewards = np.ones((2, 4), dtype=np.float32)
    done = np.array([[0, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    import torch

    out = survival_return(torch.tensor(rewards), torch.tensor(done))
    assert out.tolist() == [4.0, 2.0]  # the terminal step's own reward still counts
    pen = survival_return(
        torch.tensor(rewards), torch.tensor(done), uncertainty=torch.ones(2, 4), uncertainty_penalty=0.5
    )
    assert pen.tolist() == [2.0, 1.0]


def test_planner_avoids_predicted_termination():
    wm = build_world_model(
        small_config(obs_dim=1, learning_rate=1e-2, seed=3, done_pos_weight=3.0, done_from_next_obs=True)
    )
    for inp, nxt, r, d in wall_walk_transitions(400):
        wm.observe(inp.observation, inp.action, nxt, r, d)
    wm.train_steps(400, batch_size=64)
    planner = DreamRolloutPlanner(wm, PlannerConfig(horizon=6, population=64, seed=0))
    assert planner.plan((0.7,)).action == 0  # stepping right would hit the wall at 0.95


def test_cognitive_cycle_model_based_step(homing_model):
    cycle = CognitiveCycle(homing_model)
    assert asyncio.run(cycle.step((1.0,), [0, 1, 2])) == 0
    assert asyncio.run(cycle.step((-1.0,), [0, 1, 2])) == 2
    assert asyncio.run(cycle.step((1.0,), [2, 1])) == 1
    assert cycle.replan_count == 0
    with pytest.raises(ValueError, match="candidate"):
        asyncio.run(cycle.step((1.0,), []))
    with pytest.raises(TypeError, match="protocol"):
        CognitiveCycle(object())  # type: ignore[arg-type]


def test_cognitive_cycle_replans_on_surprise_and_updates():
    wm = build_world_model(small_config(obs_dim=1, action_dim=3))
    planner = DreamRolloutPlanner(wm, PlannerConfig(horizon=4, population=8))
    cycle = CognitiveCycle(wm, planner=planner)
    planner.act((0.0,))
    assert planner.replans == 1
    loss = asyncio.run(cycle.observe(ModelInput((0.0,), 1), (5.0,), 0.0, False))  # far from the prediction
    assert isinstance(loss, float) and cycle.last_loss == loss
    assert wm.metrics.value("train_loss") == pytest.approx(loss)
    assert wm.last_prediction_error > wm.config.surprise_threshold
    asyncio.run(cycle.step((0.0,), [0, 1, 2]))
    assert cycle.replan_count == 3  # each candidate's dream carries the surprise
    planner.act((0.0,))
    assert planner.replans == 2  # the cycle dropped the planner's plan


def test_action_repeat_extends_the_look_ahead(homing_model):
    cfg = PlannerConfig(horizon=4, fine_steps=2, action_repeat=3, population=32, cem_iterations=2, seed=5)
    planner = DreamRolloutPlanner(homing_model, cfg)
    assert planner.imagined_steps == 2 + 2 * 3
    result = planner.plan((1.0,))
    assert len(result.actions) == 8  # one action per env step, repeats expanded
    assert result.actions[2] == result.actions[3] == result.actions[4]  # a coarse slot holds its action
    assert result.actions[5] == result.actions[6] == result.actions[7]
    assert result.action == 0  # still heads for the reward
    again = DreamRolloutPlanner(homing_model, cfg).plan((1.0,))
    assert again.actions == result.actions and again.predicted_return == result.predicted_return
    for bad in ({"action_repeat": 0}, {"fine_steps": -1}):
        with pytest.raises(ValueError, match="action_repeat"):
            PlannerConfig(**bad)


def test_action_repeat_sees_a_distant_termination():
    wm = build_world_model(
        small_config(obs_dim=1, learning_rate=1e-2, seed=3, done_pos_weight=3.0, done_from_next_obs=True)
    )
    for inp, nxt, r, d in wall_walk_transitions(400):
        wm.observe(inp.observation, inp.action, nxt, r, d)
    wm.train_steps(400, batch_size=64)
    # From x = 0.2 the wall (x' > 0.9) is 3 steps to the right: two one-step slots cannot see
    # it, two slots of 4 steps can, and only one direction keeps the walker alive.
    long = PlannerConfig(horizon=2, action_repeat=4, population=32, cem_iterations=2, seed=0)
    short = PlannerConfig(horizon=2, population=32, cem_iterations=2, seed=0)
    seen = DreamRolloutPlanner(wm, long).plan((0.2,))
    assert seen.action == 0 and seen.actions[:4] == (0, 0, 0, 0)
    right = wm.rollout_batch((0.2,), [[1] * 8]).done_probs[0]
    assert float(right[:2].max()) < 0.5 < float(right.max())  # the wall lies beyond 2 steps
    blind = DreamRolloutPlanner(wm, short).plan((0.2,))
    assert blind.predicted_return > 1.9  # every 2-step plan looks safe to the short planner
