"""The learner protocol, world side: a plan of requests, a tracker per joined learner, a badge rule.

A :class:`LearnerSpec` (one subclass per learner kind) holds the learner's config (the processor's config
dataclass from ``agents.learners``), the ordered :class:`LearnerStep` requests the world sends
(:meth:`LearnerSpec.plan`: "run phase 2", "run 200 env steps", "evaluate"...) and the rule that turns the
evaluation report into a :class:`LearnerBadge`. The world keeps one :class:`LearnerTracker` per joined
learner. Pure Python (no unaiverse): the world and the tests use it directly.
"""

from __future__ import annotations

import abc
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agents.learners import config_from_payload
from agents.learners.base import EVALUATE, json_safe

__all__ = ["LearnerBadge", "LearnerSpec", "LearnerStep", "LearnerTracker", "SIM_S_SCALE", "env_ints"]

#: The kinds' cost models give each step about this fraction of the wall seconds it takes on a shared 2-core
#: machine (measured per step in the main world). Only the proportions matter for speed: a learner whose
#: steps are given too little time holds the clock at their due tick, one given too much idles until then.
#: A quarter fits the three plans into the debate's ~20 simulated seconds, so the run's ticks and messages
#: stay the debate's.
SIM_S_SCALE = 0.25


@dataclass(frozen=True)
class LearnerStep:
    """One request of a learner's plan."""

    index: int
    """0-based position in the plan (the agent echoes it in its report)."""
    action: str
    """Name of the agent action the world requests (e.g. ``run_phase``, ``run_env_steps``, ``evaluate``)."""
    args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the request (JSON-safe)."""
    label: str = ""
    """Short human label (progress lines, dashboard)."""
    sim_s: float = 0.0
    """Simulated seconds the step takes (the kind's cost model, see :data:`SIM_S_SCALE`): the learner reports
    that long after the request, however fast it really computed, and the runtime lets it compute across
    those ticks while the world and the other learners go on."""

    @property
    def is_evaluation(self) -> bool:
        """True for the final held-out evaluation."""
        return self.action == EVALUATE


@dataclass(frozen=True)
class LearnerBadge:
    """A badge the world decided for a learner."""

    badge_type: str
    """unaiverse badge type ('completed', 'pro', ...)."""
    score: float
    """In [0, 1]."""
    reason: str
    """Machine-readable rule name (e.g. 'beats_memory_free')."""
    description: str
    """What was achieved, with the figures."""


def env_ints(environ: Mapping[str, str], var: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated positive-or-zero integers from ``environ[var]`` (``default`` when unset)."""
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    try:
        values = tuple(int(x) for x in raw.split(","))
    except ValueError:
        raise ValueError(f"{var} must be comma-separated integers, got {raw!r}") from None
    if len(values) != len(default) or any(v < 0 for v in values):
        raise ValueError(f"{var} needs {len(default)} integer(s) >= 0, got {raw!r}")
    return values


class LearnerSpec(abc.ABC):
    """One learner kind: its config, its plan of requests, its runner and the world's badge rule."""

    kind: ClassVar[str] = ""
    """Role name of the learner in the world (also the role's file name ``src/<kind>.py``)."""
    title: ClassVar[str] = ""
    """Human name (dashboard, summary)."""
    train_actions: ClassVar[tuple[str, ...]] = ()
    """Request actions that train (each is a transition idle -> training of the role)."""
    config_type: ClassVar[type] = object
    """The dataclass of :attr:`config`."""

    def __init__(self, config: Any = None) -> None:
        """``config``: an instance of :attr:`config_type` (its defaults when None)."""
        self.config = config if config is not None else self.config_type()
        if not isinstance(self.config, self.config_type):
            raise TypeError(f"{self.kind} learner needs a {self.config_type.__name__}")

    # -- world side ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def plan(self) -> list[LearnerStep]:
        """The requests the world sends, in order; the last one is the :data:`EVALUATE` request."""

    @abc.abstractmethod
    def badge(self, evaluation: Mapping[str, Any]) -> LearnerBadge | None:
        """The badge earned by the evaluation report (None: no badge). Decided by the world."""

    @classmethod
    @abc.abstractmethod
    def from_env(cls, environ: Mapping[str, str]) -> LearnerSpec:
        """The spec configured by ``WMVERSE_*`` variables (unset ones keep the small world defaults)."""

    def config_payload(self) -> dict[str, Any]:
        """The config as JSON (sent with every request)."""
        return json_safe(dataclasses.asdict(self.config))

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> LearnerSpec:
        """Inverse of :meth:`config_payload` (unknown fields raise ValueError)."""
        return cls(config_from_payload(cls.kind, payload))

    def summary_line(self, evaluation: Mapping[str, Any]) -> str:
        """One line of the end-of-run summary."""
        return json.dumps(evaluation, sort_keys=True)[:200]


@dataclass
class LearnerTracker:
    """World-side progress of one joined learner through its plan."""

    peer_id: str
    """The learner agent's peer id."""
    spec: LearnerSpec
    """Its kind's spec (config, plan, badge rule)."""
    steps: list[LearnerStep] = field(default_factory=list)
    """The plan (filled from ``spec.plan()``)."""
    next_index: int = 0
    """Index of the next step to request."""
    awaiting: int | None = None
    """Index of the step requested and not yet reported."""
    asked_at: float = -1.0
    """Simulated time of the last request."""
    reports: list[dict[str, Any]] = field(default_factory=list)
    """Metrics of every reported step, in order."""
    evaluation: dict[str, Any] | None = None
    """The evaluation report once in."""
    badge: LearnerBadge | None = None
    """The badge the world decided (after the evaluation)."""
    finish_sent: bool = False
    """True once the FINISH request (with the badge) was sent."""

    def __post_init__(self) -> None:
        if not self.steps:
            self.steps = self.spec.plan()
        if not self.steps or not self.steps[-1].is_evaluation:
            raise ValueError(f"a {self.spec.kind} plan must end with an '{EVALUATE}' request")

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def trained(self) -> bool:
        """True once every step of the plan (evaluation included) was reported."""
        return self.next_index >= len(self.steps) and self.awaiting is None

    @property
    def done(self) -> bool:
        """True once trained and told its badges."""
        return self.trained and self.finish_sent

    def next_step(self) -> LearnerStep | None:
        """The step to request now (None while one is pending or the plan is over)."""
        if self.awaiting is not None or self.next_index >= len(self.steps):
            return None
        return self.steps[self.next_index]

    def mark_asked(self, step: LearnerStep, now: float) -> None:
        """Remember that ``step`` was requested at simulated time ``now``."""
        self.awaiting, self.asked_at = step.index, now

    def record(self, index: int, metrics: dict[str, Any]) -> LearnerStep | None:
        """Accept the report of step ``index``; returns the step, or None for a stale/duplicate report.

        The evaluation report also decides the badge (world side: :meth:`LearnerSpec.badge`).
        """
        if self.awaiting is None or index != self.awaiting:
            return None
        step = self.steps[index]
        self.reports.append(dict(metrics))
        self.awaiting = None
        self.next_index = index + 1
        if step.is_evaluation:
            self.evaluation = dict(metrics)
            self.badge = self.spec.badge(self.evaluation)
        return step
