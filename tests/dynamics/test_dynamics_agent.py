"""The model-based agent on real gymnasium environments, its step API and the CLI."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from wmverse.cli import main
from wmverse.dynamics import PlannerConfig, PlanningMethod, TransitionBackend
from wmverse.dynamics.agent import AgentConfig, DynamicsAgent, train_agent
from wmverse.dynamics.envs import DiscreteActionEnv, random_policy_returns

TINY = AgentConfig(
    hidden_dim=16,
    ensemble_size=2,
    batch_size=16,
    warmup_steps=30,
    pretrain_steps=5,
    planner=PlannerConfig(horizon=4, population=16, cem_iterations=1),
    imagination_steps=10,
)


def test_step_api_reports_metrics_and_imagined_vs_real():
    agent = DynamicsAgent(TINY)
    first = agent.run_steps(25)
    assert first.env_steps == 25 and first.total_env_steps == 25
    assert first.buffer_size == 25 and np.isfinite(first.train_loss)
    second = agent.run_steps(60)  # planning starts after 30 warm-up steps
    assert second.total_env_steps == 85
    episodes = first.episodes + second.episodes
    assert episodes, "CartPole episodes of a barely trained agent end within 85 steps"
    ep = episodes[-1]
    assert ep.length >= 1 and ep.episode_return == ep.length  # +1 per CartPole step
    assert len(ep.imagined) == len(ep.real) == min(10, ep.length)
    assert all(len(s) == 4 for s in ep.imagined + ep.real)
    assert ep.mean_surprise >= 0 and ep.buffer_size <= 85
    assert any(e.planned for e in episodes) or agent.planner.decisions > 0


def test_agent_is_reproducible():
    def returns(seed: int) -> list[float]:
        agent = DynamicsAgent(replace(TINY, seed=seed, planner=replace(TINY.planner, time_budget_s=60.0)))
        return [agent.run_episode().episode_return for _ in range(4)]

    assert returns(1) == returns(1)


def test_pendulum_with_binned_torques():
    cfg = replace(TINY, env_id="Pendulum-v1", backend=TransitionBackend.MLP, action_bins=3, warmup_steps=20)
    agent = DynamicsAgent(cfg)
    assert agent.env.action_dim == 3 and agent.env.obs_dim == 3
    report = agent.run_steps(40)
    assert report.total_env_steps == 40 and report.buffer_size == 40
    assert agent.model.config.action_dim == 3


def test_env_wrapper_rejects_bad_actions():
    env = DiscreteActionEnv("CartPole-v1", seed=0)
    env.reset()
    with pytest.raises(ValueError, match="out of range"):
        env.step(2)
    env.close()


def test_random_policy_baseline_is_seeded():
    a = random_policy_returns("CartPole-v1", episodes=3, seed=4)
    assert a == random_policy_returns("CartPole-v1", episodes=3, seed=4)
    assert all(r >= 8 for r in a)


def test_train_agent_summary():
    cfg = replace(TINY, planner=replace(TINY.planner, method=PlanningMethod.RANDOM_SHOOTING))
    agent, summary = train_agent(cfg, max_env_steps=40, eval_episodes=1)
    assert summary.train_env_steps >= 40 and summary.train_env_steps == agent.total_env_steps
    assert len(summary.eval_returns) == 1 and len(summary.random_returns) == 1
    assert summary.solved_return == 475.0


def test_cli_train(capsys):
    threads = torch.get_num_threads()  # the CLI sets torch's thread count for its process
    code = main(
        ["dynamics", "train", "--env", "CartPole-v1", "--backend", "mlp", "--seed", "2", "--max-env-steps", "40",
         "--eval-episodes", "1", "--warmup-steps", "30", "--population", "16", "--horizon", "4", "--hidden-dim", "16",
         "--fine-steps", "1", "--action-repeat", "2"]
    )  # fmt: skip
    torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert code == 0
    assert "episode   1 [random]" in out
    assert "summary: env=CartPole-v1 backend=MLP seed=2" in out and "random policy" in out


def test_cli_saves_a_restorable_model_and_runs_without_the_value(tmp_path, capsys):
    from wmverse.dynamics import TorchWorldModel

    threads = torch.get_num_threads()
    path = tmp_path / "agent.pt"
    code = main(
        ["dynamics", "train", "--seed", "1", "--max-env-steps", "40", "--eval-episodes", "1", "--warmup-steps",
         "30", "--population", "16", "--horizon", "4", "--hidden-dim", "16", "--save", str(path)]
    )  # fmt: skip
    assert code == 0 and path.exists()
    ckpt = torch.load(path, weights_only=False)
    model = TorchWorldModel.from_snapshot(ckpt["world_model"])
    assert model.buffer_size == ckpt["total_env_steps"] >= 40
    assert ckpt["terminal_value"] is not None and ckpt["terminal_value"]["grad_steps"] > 0
    code = main(
        ["dynamics", "train", "--seed", "1", "--max-env-steps", "40", "--eval-episodes", "1", "--warmup-steps",
         "30", "--population", "16", "--horizon", "4", "--hidden-dim", "16", "--no-terminal-value", "--save",
         str(path)]
    )  # fmt: skip
    torch.set_num_threads(threads)
    assert code == 0 and torch.load(path, weights_only=False)["terminal_value"] is None
    assert "saved: " in capsys.readouterr().out


def test_cli_names_an_unknown_environment(capsys):
    threads = torch.get_num_threads()
    code = main(["dynamics", "train", "--env", "NoSuchEnv-v0", "--max-env-steps", "10"])
    torch.set_num_threads(threads)
    assert code == 2
    assert "cannot make gymnasium environment 'NoSuchEnv-v0'" in capsys.readouterr().err
