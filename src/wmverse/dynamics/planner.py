"""``DreamRolloutPlanner``: random shooting and CEM over batched dream rollouts.

Each decision scores a population of action sequences by their expected discounted
return under the model's learned reward and termination heads (optionally penalising
ensemble disagreement), all sequences imagined together, one forward pass per step.
The planner keeps its plan (receding horizon) and replans after ``replan_every`` steps,
or at once when the last real transition's surprise crosses the model's threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto

import torch

from .losses import survival_return
from .world_model import TorchWorldModel


class PlanningMethod(Enum):
    """How candidate action sequences are searched."""

    RANDOM_SHOOTING = auto()  # one population of uniform random sequences
    CEM = auto()  # cross-entropy method over per-step categorical distributions


@dataclass(frozen=True)
class PlannerConfig:
    """Hyper-parameters of :class:`DreamRolloutPlanner`."""

    method: PlanningMethod = PlanningMethod.CEM  # search method
    horizon: int | None = None  # decision slots per sequence (None: model's rollout_horizon)
    action_repeat: int = 1  # env steps each slot after the first ``fine_steps`` holds its action
    fine_steps: int = 0  # leading slots that last one step (fine control before coarse look-ahead)
    population: int = 200  # sequences imagined per iteration
    cem_iterations: int = 3  # refinement rounds (CEM only)
    elite_fraction: float = 0.1  # share of the population kept as elites (CEM only)
    smoothing: float = 0.1  # weight of the old distribution in each CEM update
    min_probability: float = 0.02  # floor on per-step action probabilities (keeps exploring)
    discount: float = 0.99  # discount of imagined rewards
    uncertainty_penalty: float = 0.0  # reward subtracted per unit of ensemble disagreement
    time_budget_s: float = 0.05  # wall-clock budget per decision (50 ms)
    replan_every: int = 1  # steps between scheduled replans (1 = model-predictive control)
    enforce_budget: bool = True  # stop CEM early at the budget (False: fixed work, reproducible)
    seed: int = 0  # seeds the planner's own sampling generator

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if self.horizon is not None and self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if not 0.0 < self.elite_fraction <= 1.0:
            raise ValueError(f"elite_fraction must be in (0, 1], got {self.elite_fraction}")
        if self.action_repeat < 1 or self.fine_steps < 0:
            raise ValueError("action_repeat must be >= 1 and fine_steps >= 0")
        if self.cem_iterations < 1 or self.replan_every < 1:
            raise ValueError("cem_iterations and replan_every must be >= 1")
        if self.time_budget_s <= 0:
            raise ValueError(f"time_budget_s must be > 0, got {self.time_budget_s}")


@dataclass(frozen=True)
class PlanResult:
    """Outcome of one planning call."""

    action: int  # first action of the best sequence
    actions: tuple[int, ...]  # best sequence found, one action per env step (repeats expanded)
    predicted_return: float  # its objective value
    uncertainty: float  # its mean ensemble disagreement
    iterations: int  # CEM rounds completed (1 for random shooting)
    sequences_evaluated: int  # total imagined sequences
    elapsed_s: float  # wall-clock time spent
    within_budget: bool  # elapsed_s <= time_budget_s


class DreamRolloutPlanner:
    """Chooses actions by imagining many futures through a :class:`TorchWorldModel`."""

    def __init__(
        self,
        model: TorchWorldModel,
        config: PlannerConfig | None = None,
        *,
        terminal_value: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """``terminal_value`` maps (N, obs_dim) final dream states to (N,) values in reward
        units (e.g. a :class:`~wmverse.dynamics.value.TerminalValue` with the same discount);
        it is added to each sequence's score at the end of its dream."""
        self.model = model
        self.terminal_value = terminal_value
        self.config = config or PlannerConfig()
        self.horizon = int(self.config.horizon or model.config.rollout_horizon)
        c = self.config
        durations = [1 if i < c.fine_steps else c.action_repeat for i in range(self.horizon)]
        self._durations = torch.tensor(durations)  # env steps per decision slot
        self.imagined_steps = int(self._durations.sum())  # look-ahead in env steps
        self.action_dim = model.config.action_dim
        self._gen = torch.Generator().manual_seed(int(self.config.seed))
        self._plan: list[int] = []
        self._probs: torch.Tensor | None = None
        self._since_plan = 0
        self.decisions = 0
        self.replans = 0
        self.surprise_replans = 0
        self.last_result: PlanResult | None = None

    def reset(self) -> None:
        """Forget the current plan and CEM distribution (e.g. at an episode start)."""
        self._plan = []
        self._probs = None
        self._since_plan = 0

    invalidate = reset

    def _expand(self, seqs: torch.Tensor) -> torch.Tensor:
        """(N, slots) slot actions -> (N, imagined_steps) per-step actions (action repeat)."""
        if self.imagined_steps == seqs.shape[1]:
            return seqs
        return seqs.repeat_interleave(self._durations, dim=1)

    def _score(self, obs: torch.Tensor, seqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        roll = self.model.rollout_batch(obs, self._expand(seqs))
        c = self.config
        last = roll.observations[:, -1]
        score = survival_return(
            roll.rewards,
            roll.done_probs,
            discount=c.discount,
            uncertainty=roll.uncertainty,
            uncertainty_penalty=c.uncertainty_penalty,
            terminal_value=None if self.terminal_value is None else self.terminal_value(last),
        )
        return score, roll.uncertainty.mean(dim=1)

    def _sample(self, probs: torch.Tensor, n: int) -> torch.Tensor:
        """n sequences from per-step categorical ``probs`` (H, A) -> (n, H)."""
        return torch.multinomial(probs, n, replacement=True, generator=self._gen).T

    def plan(self, observation) -> PlanResult:  # type: ignore[no-untyped-def]
        """Search action sequences from ``observation``; returns the best one found."""
        c = self.config
        start = time.perf_counter()
        obs = self.model.checks.obs(observation, "observation")
        h, a = self.horizon, self.action_dim
        uniform = torch.full((h, a), 1.0 / a)
        if c.method is PlanningMethod.RANDOM_SHOOTING:
            seqs = torch.randint(0, a, (c.population, h), generator=self._gen)
            score, unc = self._score(obs, seqs)
            best = int(score.argmax())
            best_seq, best_score, best_unc, iters, evaluated = (
                seqs[best],
                float(score[best]),
                float(unc[best]),
                1,
                c.population,
            )
        else:
            probs = uniform.clone()
            if self._probs is not None:  # warm start: shift last distribution by one env step
                shifted = self._probs.clone()
                shifted[:-1] = self._probs[1:]
                shifted[-1] = uniform[-1]
                # a slot lasting k steps moves 1/k of the way per env step
                w = (1.0 / self._durations.float()).unsqueeze(-1)
                probs = w * shifted + (1 - w) * self._probs
            n_elite = max(1, int(round(c.elite_fraction * c.population)))
            best_seq, best_score, best_unc = None, float("-inf"), 0.0
            iters = evaluated = 0
            while True:
                t0 = time.perf_counter()
                seqs = self._sample(probs, c.population)
                score, unc = self._score(obs, seqs)
                iters += 1
                evaluated += c.population
                top = torch.topk(score, n_elite).indices
                if float(score[top[0]]) > best_score:
                    best_seq, best_score, best_unc = seqs[top[0]], float(score[top[0]]), float(unc[top[0]])
                freq = torch.nn.functional.one_hot(seqs[top], a).float().mean(0)  # (H, A)
                probs = c.smoothing * probs + (1 - c.smoothing) * freq
                probs = probs.clamp_min(c.min_probability)
                probs = probs / probs.sum(-1, keepdim=True)
                now = time.perf_counter()
                over = c.enforce_budget and (now - start) + (now - t0) > c.time_budget_s
                if iters >= c.cem_iterations or over:
                    break
            self._probs = probs
            assert best_seq is not None
        elapsed = time.perf_counter() - start
        seq = tuple(int(x) for x in self._expand(best_seq.unsqueeze(0))[0].tolist())
        result = PlanResult(
            seq[0], seq, best_score, best_unc, iters, evaluated, elapsed, elapsed <= c.time_budget_s
        )
        self.last_result = result
        return result

    def act(self, observation, surprise: float | None = None) -> int:  # type: ignore[no-untyped-def]
        """Next action: follow the current plan, replanning when it is used up, when
        ``replan_every`` steps passed, or when ``surprise`` exceeds the model's threshold."""
        surprised = surprise is not None and surprise > self.model.config.surprise_threshold
        if surprised and self._plan:
            self.surprise_replans += 1
        if not self._plan or surprised or self._since_plan >= self.config.replan_every:
            result = self.plan(observation)
            self._plan = list(result.actions)
            self._since_plan = 0
            self.replans += 1
        self.decisions += 1
        self._since_plan += 1
        return self._plan.pop(0)
