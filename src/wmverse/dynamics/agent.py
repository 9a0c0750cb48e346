"""A model-based agent: collect real experience, learn the dynamics online, plan in dreams.

``DynamicsAgent.run_steps(n)`` is the step-wise API a world calls: it advances the real
environment ``n`` steps (continuing the current episode across calls) and returns the
metrics of those steps, including finished episodes with their imagined-vs-real
trajectories for plotting.

Beside the world model the agent learns a :class:`~wmverse.dynamics.value.TerminalValue` from
the same replay buffer (n-step TD), which the planner adds at the end of every dream: without
it, CartPole's cart drifts out of the track beyond the planning horizon.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .envs import DiscreteActionEnv, random_policy_returns
from .forked import contiguous_shares, run_split
from .planner import DreamRolloutPlanner, PlannerConfig, PlanningMethod, PlanStream
from .types import ModelInput, TransitionBackend, WorldModelConfig
from .value import TerminalValue, ValueConfig
from .world_model import TorchWorldModel


@dataclass(frozen=True)
class AgentConfig:
    """How the agent explores, learns and plans."""

    env_id: str = "CartPole-v1"  # gymnasium environment id
    backend: TransitionBackend = TransitionBackend.ENSEMBLE  # world-model backend
    seed: int = 0  # seeds the env, the model and the planner
    hidden_dim: int = 64  # world-model width
    num_layers: int = 2  # world-model depth
    ensemble_size: int = 5  # members when backend == ENSEMBLE
    learning_rate: float = 1e-3  # world-model Adam step size
    batch_size: int = 128  # minibatch size per gradient step
    warmup_steps: int = 400  # real steps with uniform random actions before planning
    pretrain_steps: int = 600  # gradient steps on the buffer once warm-up ends
    updates_per_step: int = 1  # gradient steps per real step (the first via update())
    action_bins: int = 5  # discretisation of continuous action spaces
    done_pos_weight: float = 10.0  # up-weights rare terminal transitions in the done head's loss
    done_from_next_obs: bool = True  # termination classifier on the (predicted) next state
    surprise_threshold: float = 0.05  # forwarded to the model; crossing it forces a replan
    planner: PlannerConfig = field(
        default_factory=lambda: PlannerConfig(
            method=PlanningMethod.CEM,
            horizon=25,
            population=150,
            cem_iterations=2,
            discount=0.99,
            uncertainty_penalty=1.0,  # pessimism: stay where the ensemble agrees (explored states)
            enforce_budget=False,  # fixed work per decision: runs do not depend on machine load
        )
    )
    imagination_steps: int = 30  # length of the open-loop imagined trajectory per episode
    terminal_value: bool = True  # learn a TD value of states and add it at the end of each dream
    # the value's settings (its discount and seed follow the planner's)
    value: ValueConfig = field(default_factory=ValueConfig)


@dataclass(frozen=True)
class EpisodeReport:
    """One finished real episode."""

    episode: int  # 1-based episode index
    episode_return: float  # sum of real rewards
    length: int  # real steps in the episode
    env_steps: int  # real steps taken by the agent so far (all episodes)
    planned: bool  # False for warm-up (random) episodes
    mean_surprise: float  # mean one-step prediction error over the episode
    train_loss: float  # last world-model loss
    buffer_size: int  # replay buffer fill
    mean_plan_ms: float  # mean planning time per decision (0 for random steps)
    imagined: tuple[tuple[float, ...], ...]  # open-loop dream from the episode's first state
    real: tuple[tuple[float, ...], ...]  # what really happened under the same actions


@dataclass(frozen=True)
class StepReport:
    """Metrics of one ``run_steps`` call."""

    env_steps: int  # real steps taken in this call
    total_env_steps: int  # real steps so far
    mean_surprise: float  # mean prediction error of this call's transitions
    train_loss: float  # last world-model loss
    buffer_size: int  # replay buffer fill
    episodes: tuple[EpisodeReport, ...]  # episodes that finished during this call


class DynamicsAgent:
    """Acts in a gymnasium env with a learned world model and a dream-rollout planner."""

    def __init__(self, config: AgentConfig | None = None, *, model_name: str | None = None) -> None:
        self.config = c = config or AgentConfig()
        self.env = DiscreteActionEnv(c.env_id, seed=c.seed, action_bins=c.action_bins)
        wm_cfg = WorldModelConfig(
            backend=c.backend,
            obs_dim=self.env.obs_dim,
            action_dim=self.env.action_dim,
            hidden_dim=c.hidden_dim,
            num_layers=c.num_layers,
            ensemble_size=c.ensemble_size,
            learning_rate=c.learning_rate,
            batch_size=c.batch_size,
            rollout_horizon=c.planner.horizon or 10,
            surprise_threshold=c.surprise_threshold,
            done_pos_weight=c.done_pos_weight,
            done_from_next_obs=c.done_from_next_obs,
            seed=c.seed,
        )
        self.model = TorchWorldModel(
            wm_cfg, name=model_name or f"agent-{c.env_id}-{c.backend.name.lower()}-{c.seed}"
        )
        self.value = (
            TerminalValue(
                self.env.obs_dim,
                self.model.obs_norm,
                replace(c.value, discount=c.planner.discount, seed=c.seed),
            )
            if c.terminal_value
            else None
        )
        self.planner = DreamRolloutPlanner(
            self.model, replace(c.planner, seed=c.seed), terminal_value=self.value
        )
        self._rng = np.random.default_rng(c.seed)
        self.total_env_steps = 0
        self.episodes_done = 0
        self._pretrained = False
        self._obs: tuple[float, ...] | None = None
        self._ep: dict = {}

    # ------------------------------------------------------------------ acting
    def _begin_episode(self) -> None:
        self._obs = self.env.reset()
        self.planner.reset()
        self._ep = {
            "return": 0.0,
            "length": 0,
            "surprise": [],
            "plan_s": [],
            "planned": False,
            "actions": [],
            "real": [self._obs],
        }

    def _choose(self, obs: tuple[float, ...], surprise: float | None) -> tuple[int, float | None]:
        if self.total_env_steps < self.config.warmup_steps:
            return int(self._rng.integers(self.env.action_dim)), None
        if not self._pretrained:
            self.model.train_steps(self.config.pretrain_steps)
            if self.value is not None:
                self.value.train_steps(self.model.buffer, self.config.pretrain_steps)
            self._pretrained = True
        t0 = time.perf_counter()
        action = self.planner.act(obs, surprise)
        return action, time.perf_counter() - t0

    def _finish_episode(self) -> EpisodeReport:
        ep = self._ep
        self.episodes_done += 1
        imagined, real = self.imagine_vs_real(ep["real"][0], ep["actions"], ep["real"][1:])
        report = EpisodeReport(
            episode=self.episodes_done,
            episode_return=ep["return"],
            length=ep["length"],
            env_steps=self.total_env_steps,
            planned=ep["planned"],
            mean_surprise=float(np.mean(ep["surprise"])) if ep["surprise"] else 0.0,
            train_loss=self.model.last_loss,
            buffer_size=self.model.buffer_size,
            mean_plan_ms=1000 * float(np.mean(ep["plan_s"])) if ep["plan_s"] else 0.0,
            imagined=imagined,
            real=real,
        )
        self._obs = None
        return report

    def imagine_vs_real(
        self, start, actions, real_next
    ) -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]]:  # type: ignore[no-untyped-def]
        """Open-loop dream of the first ``imagination_steps`` actions beside the real states."""
        k = min(self.config.imagination_steps, len(actions))
        if k == 0:
            return (), ()
        roll = self.model.rollout_batch(start, torch.tensor([actions[:k]]))
        imagined = tuple(tuple(float(x) for x in row) for row in roll.observations[0].tolist())
        return imagined, tuple(real_next[:k])

    def run_steps(self, n: int, *, learn: bool = True) -> StepReport:
        """Advance the real environment ``n`` steps (episodes continue across calls)."""
        finished: list[EpisodeReport] = []
        surprises: list[float] = []
        last_surprise: float | None = None
        for _ in range(int(n)):
            if self._obs is None:
                self._begin_episode()
                last_surprise = None
            obs = self._obs
            assert obs is not None
            action, plan_s = self._choose(obs, last_surprise)
            res = self.env.step(action)
            inp = ModelInput(obs, action)
            if learn:
                self.model.learn(inp, res.observation, res.reward, res.terminated)
                if self.total_env_steps >= self.config.warmup_steps:
                    if self.config.updates_per_step > 1:
                        self.model.train_steps(self.config.updates_per_step - 1)
                    if self.value is not None:
                        self.value.train_steps(self.model.buffer, self.config.updates_per_step)
                last_surprise = self.model.last_prediction_error
            else:
                last_surprise = self.model.prediction_error(obs, action, res.observation)
            surprises.append(last_surprise)
            self.total_env_steps += 1
            ep = self._ep
            ep["return"] += res.reward
            ep["length"] += 1
            ep["surprise"].append(last_surprise)
            ep["actions"].append(action)
            ep["real"].append(res.observation)
            if plan_s is not None:
                ep["plan_s"].append(plan_s)
                ep["planned"] = True
            self._obs = res.observation
            if res.terminated or res.truncated:
                finished.append(self._finish_episode())
        return StepReport(
            env_steps=int(n),
            total_env_steps=self.total_env_steps,
            mean_surprise=float(np.mean(surprises)) if surprises else 0.0,
            train_loss=self.model.last_loss,
            buffer_size=self.model.buffer_size,
            episodes=tuple(finished),
        )

    def run_episode(self, *, learn: bool = True) -> EpisodeReport:
        """Finish the current episode (or play a whole new one) and report it."""
        while True:
            report = self.run_steps(1, learn=learn)
            if report.episodes:
                return report.episodes[0]

    def checkpoint(self) -> dict:
        """What a trained agent needs to plan again: the agent config (as a repr), the world-model
        snapshot (with its replay buffer) and the terminal value's state (None without one).
        ``torch.save``-able; restore the model with ``TorchWorldModel.from_snapshot``."""
        return {
            "agent_config": repr(self.config),
            "total_env_steps": self.total_env_steps,
            "episodes": self.episodes_done,
            "world_model": self.model.state_snapshot(include_buffer=True),
            "terminal_value": None if self.value is None else self.value.state_dict(),
        }

    def evaluate(
        self, episodes: int = 10, *, seed_offset: int = 10_000, batched: bool = True, workers: int = 1
    ) -> list[float]:
        """Returns of ``episodes`` planning episodes on fresh envs, without learning.

        Episode k runs on its own env, reset with seed ``seed + seed_offset + k`` (the seeds
        :func:`~wmverse.dynamics.envs.random_policy_returns` uses), and plans with its own
        :class:`~wmverse.dynamics.planner.PlanStream` on
        ``derived_generator(planner seed, 1, seed_offset, k)``; the model, the value and the
        agent's own planner stream are left untouched. So episode k's return is a function of
        the model and k alone: ``batched`` (all episodes step together, the running ones
        planned in one batched dream per step; finished ones drop out) and one episode at a
        time (``batched=False``, the reference) give the same returns (with a planner that
        plans fixed work, ``enforce_budget=False`` as the agents use: a wall-clock cut-off makes
        any run depend on the machine's load).

        ``workers`` > 1 (batched only) plays contiguous shares of the episodes at the same time in forked
        copies of this process (:func:`~wmverse.dynamics.forked.run_split`; one share here), each share
        batched as above: the same returns, and the planner's counters end as if this process had played
        them all. The shares run here in turn (same returns) unless this process has one Python thread and
        one torch thread (a forked copy would inherit another thread's locks, or an OpenMP team).
        """
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if batched and workers > 1 and episodes > 1 and torch.get_num_threads() == 1:
            shares = contiguous_shares(episodes, workers)
            played = run_split(lambda ks: self._play_share(ks, seed_offset), shares)
            p = self.planner
            for _, (decisions, replans, surprise) in played[1:]:  # the children's, counted as if played here
                p.decisions, p.replans = p.decisions + decisions, p.replans + replans
                p.surprise_replans += surprise
            return [r for returns, _ in played for r in returns]
        if batched:
            return self._play_share(range(episodes), seed_offset)[0]
        return [r for k in range(episodes) for r in self._play_share(range(k, k + 1), seed_offset)[0]]

    def _play_share(self, ks: range, seed_offset: int) -> tuple[list[float], tuple[int, int, int]]:
        """Episodes ``ks`` played together (:meth:`_play`) on their envs and streams; returns their returns and
        what the planner counted meanwhile (decisions, replans, surprise replans)."""
        base, seed = self.config.seed + seed_offset, self.planner.config.seed
        envs = [
            DiscreteActionEnv(self.config.env_id, seed=base + k, action_bins=self.config.action_bins)
            for k in ks
        ]
        streams = [PlanStream.derived(seed, 1, seed_offset, k) for k in ks]
        p = self.planner
        before = (p.decisions, p.replans, p.surprise_replans)
        try:
            returns = self._play(envs, streams)
        finally:
            for env in envs:
                env.close()
        return returns, (p.decisions - before[0], p.replans - before[1], p.surprise_replans - before[2])

    def _play(self, envs: list[DiscreteActionEnv], streams: list[PlanStream]) -> list[float]:
        """One episode in each env (reset once), stepped together until all have ended;
        the running ones act through one :meth:`~DreamRolloutPlanner.act_batch` per step."""
        obs = [env.reset() for env in envs]
        totals = [0.0] * len(envs)
        running = list(range(len(envs)))
        while running:
            actions = self.planner.act_batch([obs[i] for i in running], [streams[i] for i in running])
            still = []
            for i, action in zip(running, actions, strict=True):
                res = envs[i].step(action)
                totals[i] += res.reward
                obs[i] = res.observation
                if not (res.terminated or res.truncated):
                    still.append(i)
            running = still
        return totals


@dataclass(frozen=True)
class TrainSummary:
    """Outcome of :func:`train_agent`."""

    env_id: str
    backend: str
    seed: int
    train_env_steps: int  # real env steps used for learning
    train_episodes: int
    eval_returns: tuple[float, ...]  # planning agent, no learning
    random_returns: tuple[float, ...]  # uniform random policy on the same eval seeds
    solved_return: float | None
    wall_s: float

    @property
    def eval_mean(self) -> float:
        return float(np.mean(self.eval_returns))

    @property
    def random_mean(self) -> float:
        return float(np.mean(self.random_returns))

    @property
    def solved(self) -> bool:
        return self.solved_return is not None and self.eval_mean >= self.solved_return


def train_agent(
    config: AgentConfig,
    *,
    max_env_steps: int = 6_000,
    max_episodes: int = 200,
    eval_episodes: int = 10,
    patience: int = 3,
    progress=None,  # type: ignore[no-untyped-def]
    eval_workers: int = 1,
) -> tuple[DynamicsAgent, TrainSummary]:
    """Train until ``patience`` consecutive planned episodes reach the solved return (or a budget runs out),
    then evaluate ``eval_episodes`` episodes (in ``eval_workers`` shares) beside a random policy."""
    start = time.perf_counter()
    agent = DynamicsAgent(config)
    solved = agent.env.solved_return
    streak = 0
    while agent.total_env_steps < max_env_steps and agent.episodes_done < max_episodes:
        report = agent.run_episode()
        if progress is not None:
            progress(report)
        if report.planned and solved is not None and report.episode_return >= solved:
            streak += 1
            if streak >= patience:
                break
        else:
            streak = 0
    returns = agent.evaluate(eval_episodes, workers=eval_workers)
    rand = random_policy_returns(config.env_id, eval_episodes, seed=config.seed + 10_000)
    summary = TrainSummary(
        env_id=config.env_id,
        backend=config.backend.name,
        seed=config.seed,
        train_env_steps=agent.total_env_steps,
        train_episodes=agent.episodes_done,
        eval_returns=tuple(returns),
        random_returns=tuple(rand),
        solved_return=solved,
        wall_s=time.perf_counter() - start,
    )
    return agent, summary
