"""TerminalValue (n-step TD state value) and its use at the end of the planner's dreams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmverse.dynamics import DreamRolloutPlanner, PlannerConfig, build_world_model
from wmverse.dynamics.buffer import ReplayBuffer
from wmverse.dynamics.losses import survival_return, td_value_loss
from wmverse.dynamics.normaliser import RunningNormaliser
from wmverse.dynamics.testing import small_config
from wmverse.dynamics.value import TerminalValue, ValueConfig

GAMMA = 0.9


def _march_buffer(n_episodes: int = 60, wall: float = 1.0, step: float = 0.1, seed: int = 0):
    """1-D march to the right: reward 1 per step, done once x' > wall. Starts uniform in [-1, 1].

    Under this (only) behaviour the true value of x is the discounted count of steps left."""
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(10_000, 1)
    norm = RunningNormaliser(1)
    for _ in range(n_episodes):
        x = float(rng.uniform(-1.0, 1.0))
        while True:
            nx = x + step
            done = nx > wall
            buf.add(torch.tensor([x]), 0, torch.tensor([nx]), 1.0, done)
            norm.update(torch.tensor([[x]]))
            if done:
                break
            x = nx
    return buf, norm


def _true_value(x: float, wall: float = 1.0, step: float = 0.1) -> float:
    steps = int(np.floor((wall - x) / step)) + 1  # rewards collected until the step past the wall
    return (1 - GAMMA**steps) / (1 - GAMMA)


def test_td_loss_is_zero_at_the_fixed_point():
    v = torch.tensor([[1.0, 0.5]])
    scaled_r = torch.tensor([[0.1, 0.5]])
    done = torch.tensor([[0.0, 1.0]])
    nxt = torch.tensor([[1.0, 123.0]])  # ignored where done
    assert float(td_value_loss(v, scaled_r, done, nxt, discount=0.9)) == pytest.approx(0.0, abs=1e-7)
    assert float(td_value_loss(v + 0.1, scaled_r, done, nxt, discount=0.9)) > 0


def test_terminal_value_learns_the_discounted_steps_to_failure():
    buf, norm = _march_buffer()
    value = TerminalValue(1, norm, ValueConfig(discount=GAMMA, learning_rate=3e-3, batch_size=64, seed=0))
    xs = torch.tensor([[-0.9], [-0.3], [0.3], [0.75], [0.95]])
    before = value(xs)
    losses = value.train_steps(buf, 1500)
    after = value(xs)
    truth = torch.tensor([_true_value(float(x)) for x in xs[:, 0]])
    assert np.mean(losses[-50:]) < 0.1 * np.mean(losses[:50])
    assert float((after - truth).abs().max()) < 0.2 * float(truth.max())
    assert float((after - truth).abs().mean()) < float((before - truth).abs().mean())
    assert bool((after[:-1] > after[1:]).all())  # closer to the wall: less return left
    assert value(xs).shape == (5,) and value(xs.view(5, 1, 1)).shape == (5, 1)


def test_terminal_value_is_seeded_and_round_trips():
    buf, norm = _march_buffer(20)
    cfg = ValueConfig(discount=GAMMA, seed=3)
    a, b = TerminalValue(1, norm, cfg), TerminalValue(1, norm, cfg)
    assert a.train_steps(buf, 20) == b.train_steps(buf, 20)
    c = TerminalValue(1, norm, ValueConfig(discount=GAMMA, seed=4))
    c.load_state_dict(a.state_dict())
    assert a.train_steps(buf, 5) == c.train_steps(buf, 5)
    xs = torch.linspace(-1, 1, 7).unsqueeze(-1)
    assert torch.equal(a(xs), c(xs))


def test_value_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="discount"):
        ValueConfig(discount=1.0)
    with pytest.raises(ValueError, match="target_tau"):
        ValueConfig(target_tau=0.0)
    with pytest.raises(ValueError, match=">= 1"):
        ValueConfig(members=0)


def test_survival_return_adds_the_surviving_terminal_value():
    rewards = torch.ones(2, 3)
    done = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    base = survival_return(rewards, done, discount=0.5)
    with_v = survival_return(rewards, done, discount=0.5, terminal_value=torch.tensor([8.0, 8.0]))
    assert torch.allclose(with_v - base, torch.tensor([8.0 * 0.5**3, 0.0]))


def test_planner_follows_the_terminal_value_beyond_its_horizon():
    """Two actions that the model says are equally rewarding over a 1-step dream; only the value
    of where they lead separates them, so the planner's choice must follow the value."""
    wm = build_world_model(small_config(obs_dim=1, action_dim=2, learning_rate=1e-2, seed=0))
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = float(rng.uniform(-1, 1))
        a = int(rng.integers(2))
        wm.observe((x,), a, (x + 0.3 * (2 * a - 1),), 1.0, False)
    wm.train_steps(300, batch_size=64)
    cfg = PlannerConfig(horizon=1, population=16, cem_iterations=1, seed=0)
    prefers_right = DreamRolloutPlanner(wm, cfg, terminal_value=lambda s: 10.0 * s[..., 0])
    prefers_left = DreamRolloutPlanner(wm, cfg, terminal_value=lambda s: -10.0 * s[..., 0])
    assert prefers_right.plan((0.0,)).action == 1
    assert prefers_left.plan((0.0,)).action == 0


def test_forward_windows_stop_at_episode_ends_and_evictions():
    buf = ReplayBuffer(6, 1)
    xs = [0.0, 1.0, 2.0]  # episode A: 0 -> 1 -> 2 -> 3 (done)
    for x in xs:
        buf.add(torch.tensor([x]), 0, torch.tensor([x + 1]), 1.0, x == 2.0)
    buf.add(torch.tensor([10.0]), 0, torch.tensor([11.0]), 1.0, False)  # episode B
    fwd, valid = buf.forward_windows(torch.tensor([0, 2, 3]), 3)
    assert valid.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert buf.get(fwd)["obs"][0, :, 0].tolist() == [0.0, 1.0, 2.0]
    for x in [11.0, 12.0, 13.0]:  # continues B and wraps around, evicting episode A's first slots
        buf.add(torch.tensor([x]), 0, torch.tensor([x + 1]), 1.0, False)
    fwd, valid = buf.forward_windows(torch.tensor([3]), 5)  # slot 3 holds x=10, then 11, 12, 13
    assert valid.tolist() == [[True, True, True, True, False]]
    assert buf.get(fwd)["obs"][0, :4, 0].tolist() == [10.0, 11.0, 12.0, 13.0]
