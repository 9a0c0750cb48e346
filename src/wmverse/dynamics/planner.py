"""``DreamRolloutPlanner``: random shooting and CEM over batched dream rollouts.

Each decision scores a population of action sequences by their expected discounted
return under the model's learned reward and termination heads (optionally penalising
ensemble disagreement), all sequences imagined together, one forward pass per step.
The planner keeps its plan (receding horizon) and replans after ``replan_every`` steps,
or at once when the last real transition's surprise crosses the model's threshold.

Batched planning: :meth:`DreamRolloutPlanner.plan_batch` and
:meth:`~DreamRolloutPlanner.act_batch` decide for N states in one dream of
N x population sequences per CEM round. Everything a decision depends on besides the
model lives in a :class:`PlanStream` (random generator, CEM warm start, current plan),
one per state; how the random numbers are drawn:

- state i's candidate sequences are drawn from its own stream's generator only, with
  exactly the calls the one-state path makes (``torch.multinomial`` per CEM round, or
  one ``torch.randint`` for random shooting), so state i's decision is a function of its
  observation and its stream alone: the same as planning it alone with the same stream,
  whatever else is in the batch;
- :meth:`~DreamRolloutPlanner.plan` and :meth:`~DreamRolloutPlanner.act` use the
  planner's own stream (generator seeded with ``config.seed``), which is also stream 0 of
  the batched methods when no streams are passed, so a batch of one is exactly the
  one-state call; the planner's stream i > 0 uses :func:`derived_generator`
  ``(config.seed, 0, i)``;
- callers that need reproducible, composition-independent runs (the agent's evaluation:
  episode k plans with ``derived_generator(seed, 1, seed_offset, k)``) pass their own
  streams, made with :meth:`PlanStream.derived`.

A batched dream computes each state's rows as a dream of that state alone would (see
:func:`~.rollout.rollout`: bitwise with MKL at the agents' width, 64; elsewhere equal up to
floating-point rounding), so a state's decision does not depend on the rest of the batch.
With ``enforce_budget`` a batched call of N states has N decisions' budget
(N x ``time_budget_s``), shared: every state in a batch gets the same number of CEM rounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

import numpy as np
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
    elapsed_s: float  # wall-clock time spent (a batched call's time divided by its N states)
    within_budget: bool  # elapsed_s <= time_budget_s


def derived_generator(seed: int, *key: int) -> torch.Generator:
    """A torch generator seeded from ``numpy.random.SeedSequence(seed, spawn_key=key)``.

    Distinct keys give statistically independent streams; the same (seed, key) always gives
    the same stream, on any machine.
    """
    seq = np.random.SeedSequence(int(seed) % 2**64, spawn_key=tuple(int(k) for k in key))
    lo, hi = (int(w) for w in seq.generate_state(2, dtype=np.uint32))
    return torch.Generator().manual_seed(lo | hi << 32)


@dataclass(eq=False)
class PlanStream:
    """What one state's decisions depend on besides the model: its random generator, the
    warm-start CEM distribution of its last plan and the plan it is following."""

    generator: torch.Generator
    probs: torch.Tensor | None = None  # (horizon, action_dim) CEM distribution of the last plan
    plan: list[int] = field(default_factory=list)  # remaining actions of the current plan
    since_plan: int = 0  # steps taken since the last plan

    @classmethod
    def seeded(cls, seed: int) -> PlanStream:
        """A fresh stream whose generator is ``torch.Generator().manual_seed(seed)``."""
        return cls(torch.Generator().manual_seed(int(seed)))

    @classmethod
    def derived(cls, seed: int, *key: int) -> PlanStream:
        """A fresh stream on :func:`derived_generator` ``(seed, *key)``."""
        return cls(derived_generator(seed, *key))

    def reset(self) -> None:
        """Forget the plan and the CEM distribution (the generator runs on)."""
        self.probs = None
        self.plan = []
        self.since_plan = 0

    def state_dict(self) -> dict[str, Any]:
        """A copy of the stream: generator state, CEM distribution, remaining plan, steps since it."""
        probs = None if self.probs is None else self.probs.clone()
        return {
            "generator": self.generator.get_state(),
            "probs": probs,
            "plan": list(self.plan),
            "since_plan": self.since_plan,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured."""
        self.generator.set_state(state["generator"].clone())
        self.probs = None if state["probs"] is None else state["probs"].clone()
        self.plan = [int(a) for a in state["plan"]]
        self.since_plan = int(state["since_plan"])


class DreamRolloutPlanner:
    """Chooses actions by imagining many futures through a :class:`TorchWorldModel`.

    One state at a time (:meth:`plan`, :meth:`act`) or N together (:meth:`plan_batch`,
    :meth:`act_batch`); see the module docstring for how random numbers are drawn.
    """

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
        self.stream = PlanStream.seeded(int(c.seed))  # the one-state methods' stream
        self._streams = [self.stream]  # the batched methods' default streams (grown on demand)
        self.decisions = 0
        self.replans = 0
        self.surprise_replans = 0
        self.last_result: PlanResult | None = None

    def reset(self) -> None:
        """Forget the current plans and CEM distributions of the planner's own streams (e.g.
        at an episode start); their generators run on."""
        for stream in self._streams:
            stream.reset()

    invalidate = reset

    def state_dict(self) -> dict[str, Any]:
        """A copy of the planner's own streams (:meth:`streams`) and counters; ``last_result`` (the
        timing of the last search, for display) is not kept: no decision depends on it."""
        return {
            "streams": [s.state_dict() for s in self._streams],
            "decisions": self.decisions,
            "replans": self.replans,
            "surprise_replans": self.surprise_replans,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured (stream 0 stays :attr:`stream`, the same object)."""
        self.streams(len(state["streams"]))
        del self._streams[len(state["streams"]) :]
        for stream, saved in zip(self._streams, state["streams"], strict=True):
            stream.load_state_dict(saved)
        self.decisions, self.replans = int(state["decisions"]), int(state["replans"])
        self.surprise_replans = int(state["surprise_replans"])

    def streams(self, n: int) -> list[PlanStream]:
        """The planner's own first ``n`` streams: stream 0 is the one-state methods' stream,
        stream i > 0 draws from ``derived_generator(config.seed, 0, i)``."""
        while len(self._streams) < n:
            self._streams.append(PlanStream.derived(int(self.config.seed), 0, len(self._streams)))
        return self._streams[:n]

    def _expand(self, seqs: torch.Tensor) -> torch.Tensor:
        """(..., slots) slot actions -> (..., imagined_steps) per-step actions (action repeat)."""
        if self.imagined_steps == seqs.shape[-1]:
            return seqs
        return seqs.repeat_interleave(self._durations, dim=-1)

    def _score(self, obs: torch.Tensor, seqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, D) states and (N, P, slots) sequences -> scores and mean uncertainties (N, P),
        all N x P sequences imagined in one batched dream."""
        n, p, _ = seqs.shape
        starts = obs.repeat_interleave(p, dim=0)  # row i * P + j starts from state i
        roll = self.model.rollout_batch(starts, self._expand(seqs.reshape(n * p, -1)))
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
        return score.view(n, p), roll.uncertainty.mean(dim=1).view(n, p)

    def _warm_start(self, probs: torch.Tensor | None) -> torch.Tensor:
        """A stream's first CEM distribution: uniform, or its last one shifted by one env step."""
        h, a = self.horizon, self.action_dim
        uniform = torch.full((h, a), 1.0 / a)
        if probs is None:
            return uniform
        shifted = probs.clone()
        shifted[:-1] = probs[1:]
        shifted[-1] = uniform[-1]
        # a slot lasting k steps moves 1/k of the way per env step
        w = (1.0 / self._durations.float()).unsqueeze(-1)
        return w * shifted + (1 - w) * probs

    def plan(self, observation) -> PlanResult:  # type: ignore[no-untyped-def]
        """Search action sequences from ``observation``; returns the best one found.

        Uses the planner's own stream: the same as ``plan_batch([observation])``."""
        obs = self.model.checks.obs(observation, "observation")
        return self._plan(obs.unsqueeze(0), [self.stream])[0]

    def plan_batch(self, observations, streams: list[PlanStream] | None = None) -> list[PlanResult]:  # type: ignore[no-untyped-def]
        """Plan for N states (N, obs_dim) at once, state i with ``streams[i]`` (default: the
        planner's own :meth:`streams`); returns one :class:`PlanResult` per state.

        State i's result is the one :meth:`plan` would give for it with the same stream;
        The batched call has N decisions' budget (N x ``time_budget_s``); each result's
        ``elapsed_s`` is its share, the call's time divided by N."""
        obs = self.model.checks.obs_batch(observations)
        return self._plan(obs, self._resolve(streams, obs.shape[0]))

    def _resolve(self, streams: list[PlanStream] | None, n: int) -> list[PlanStream]:
        if streams is None:
            return self.streams(n)
        streams = list(streams)
        if len(streams) != n:
            raise ValueError(f"{n} states need {n} streams, got {len(streams)}")
        if len({id(s) for s in streams}) != n:
            raise ValueError("each state needs its own PlanStream")
        return streams

    def _plan(self, obs: torch.Tensor, streams: list[PlanStream]) -> list[PlanResult]:
        """The search for (N, D) checked states, state i drawing from ``streams[i]`` only."""
        c = self.config
        start = time.perf_counter()
        n, h, a, pop = obs.shape[0], self.horizon, self.action_dim, c.population
        budget = c.time_budget_s * n  # N decisions' worth of wall-clock time
        rows = torch.arange(n)
        if c.method is PlanningMethod.RANDOM_SHOOTING:
            seqs = torch.stack([torch.randint(0, a, (pop, h), generator=s.generator) for s in streams])
            score, unc = self._score(obs, seqs)
            best = score.argmax(dim=1)
            best_seq, best_score, best_unc = seqs[rows, best], score[rows, best], unc[rows, best]
            iters, evaluated = 1, pop
        else:
            probs = torch.stack([self._warm_start(s.probs) for s in streams])  # (N, H, A)
            n_elite = max(1, int(round(c.elite_fraction * pop)))
            best_seq = torch.zeros(n, h, dtype=torch.long)
            best_score = torch.full((n,), float("-inf"))
            best_unc = torch.zeros(n)
            iters = evaluated = 0
            while True:
                t0 = time.perf_counter()
                seqs = torch.stack(  # (N, P, H): state i's sequences from its own generator
                    [
                        torch.multinomial(probs[i], pop, replacement=True, generator=s.generator).T
                        for i, s in enumerate(streams)
                    ]
                )
                score, unc = self._score(obs, seqs)
                iters += 1
                evaluated += pop
                top = torch.topk(score, n_elite, dim=1).indices  # (N, elites)
                first = top[:, 0]
                better = score[rows, first] > best_score
                best_seq = torch.where(better.unsqueeze(1), seqs[rows, first], best_seq)
                best_score = torch.where(better, score[rows, first], best_score)
                best_unc = torch.where(better, unc[rows, first], best_unc)
                elites = seqs[rows.unsqueeze(1), top]  # (N, elites, H)
                freq = torch.nn.functional.one_hot(elites, a).float().mean(1)  # (N, H, A)
                probs = c.smoothing * probs + (1 - c.smoothing) * freq
                probs = probs.clamp_min(c.min_probability)
                probs = probs / probs.sum(-1, keepdim=True)
                now = time.perf_counter()
                over = c.enforce_budget and (now - start) + (now - t0) > budget
                if iters >= c.cem_iterations or over:
                    break
            for s, p in zip(streams, probs, strict=True):
                s.probs = p
        elapsed = (time.perf_counter() - start) / n  # each decision's share of the call
        within = elapsed <= c.time_budget_s
        expanded = self._expand(best_seq).tolist()
        scores, uncs = best_score.tolist(), best_unc.tolist()
        results = [
            PlanResult(seq[0], tuple(seq), scores[i], uncs[i], iters, evaluated, elapsed, within)
            for i, seq in enumerate(expanded)
        ]
        self.last_result = results[-1]
        return results

    def act(self, observation, surprise: float | None = None) -> int:  # type: ignore[no-untyped-def]
        """Next action: follow the current plan, replanning when it is used up, when
        ``replan_every`` steps passed, or when ``surprise`` exceeds the model's threshold."""
        obs = self.model.checks.obs(observation, "observation")
        return self._act(obs.unsqueeze(0), [self.stream], [surprise])[0]

    def act_batch(
        self,
        observations,  # type: ignore[no-untyped-def]
        streams: list[PlanStream] | None = None,
        surprises: list[float | None] | None = None,
    ) -> list[int]:
        """:meth:`act` for N states (N, obs_dim), state i following ``streams[i]`` (default:
        the planner's own :meth:`streams`); the states that need a new plan are planned
        together in one :meth:`plan_batch` call. Returns N actions."""
        obs = self.model.checks.obs_batch(observations)
        n = obs.shape[0]
        if surprises is not None and len(surprises) != n:
            raise ValueError(f"{n} states need {n} surprises, got {len(surprises)}")
        return self._act(obs, self._resolve(streams, n), surprises or [None] * n)

    def _act(self, obs: torch.Tensor, streams: list[PlanStream], surprises: list[float | None]) -> list[int]:
        threshold = self.model.config.surprise_threshold
        replan = []
        for i, (s, surprise) in enumerate(zip(streams, surprises, strict=True)):
            surprised = surprise is not None and surprise > threshold
            if surprised and s.plan:
                self.surprise_replans += 1
            if not s.plan or surprised or s.since_plan >= self.config.replan_every:
                replan.append(i)
        if replan:
            results = self._plan(obs[replan], [streams[i] for i in replan])
            for i, result in zip(replan, results, strict=True):
                streams[i].plan = list(result.actions)
                streams[i].since_plan = 0
            self.replans += len(replan)
        actions = []
        for s in streams:
            s.since_plan += 1
            actions.append(s.plan.pop(0))
        self.decisions += len(streams)
        return actions
