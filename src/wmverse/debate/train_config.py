"""Settings of a debate training run (shared by the library Trainer and the training world)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["ORIGINAL", "TrainConfig"]

#: Allowed values of the string-valued switches.
_CHOICES: dict[str, tuple[str, ...]] = {
    "descriptions": ("seed", "exemplars"),
    "calibration": ("none", "mean"),
    "claim_pooling": ("best", "pooled"),
}

#: Field values that reproduce the model before descriptions, calibration and claim pooling.
ORIGINAL: dict[str, Any] = {"descriptions": "seed", "calibration": "none", "claim_pooling": "best"}


@dataclass
class TrainConfig:
    """Training settings: the debate epochs, the learning-rate decay, the allocation bounds,
    the convergence rule, the held-out split and the agents' proposal settings."""

    max_epochs: int = 10
    """Maximum training rounds; more = finer calibration (and more judge calls)."""
    min_epochs: int = 2
    """Minimum epochs before early stopping may trigger."""
    convergence_threshold: float = 0.005
    """An epoch is calm when sum(|allocation change|) < this; lower = stricter."""
    patience: int = 3
    """Consecutive calm epochs needed before stopping."""
    initial_lr: float = 0.15
    """Starting learning rate (blend weight toward the normalised scores); higher = faster, noisier."""
    lr_decay: float = 0.9
    """Learning rate multiplier after each epoch; lower = more aggressive decay."""
    validation_split: float = 0.2
    """Fraction of observations held out for validation (never used in debate)."""
    min_allocation: float = 0.03
    """Allocation floor for every tendency."""
    max_allocation: float = 0.50
    """Allocation ceiling for every tendency."""
    seed: int = 0
    """Seed of the train/validation split and of the agents' exploration noise."""
    judge: str = "embedding"
    """Judge used when the Trainer is not given one: lexical, embedding or llm."""
    claims_per_agent: int = 3
    """Claims each agent proposes per epoch."""
    evidence_per_claim: int = 4
    """Training observations grounding each claim."""
    exploration: float = 0.01
    """Scale of the Gumbel noise agents add when choosing evidence (0 = greedy)."""
    prior_weight: float = 0.0
    """Weight of log(7 * allocation) added to ownership scores when predicting."""
    descriptions: str = "exemplars"
    """Tendency descriptions of vector judges: seed (anchor sentence only, the original) or exemplars."""
    calibration: str = "mean"
    """Per-tendency judge bias learned on the training texts: mean (subtract mean score) or none (original)."""
    claim_pooling: str = "pooled"
    """Prediction prototypes: pooled (one per tendency, all its claims' evidence) or best (best claim, original)."""

    def __post_init__(self) -> None:
        problems = []
        if self.max_epochs < 1:
            problems.append("max_epochs must be >= 1")
        if not 0 <= self.min_epochs <= self.max_epochs:
            problems.append("min_epochs must be in [0, max_epochs]")
        if self.convergence_threshold < 0:
            problems.append("convergence_threshold must be >= 0")
        if self.patience < 1:
            problems.append("patience must be >= 1")
        if not 0 <= self.initial_lr <= 1:
            problems.append("initial_lr must be in [0, 1]")
        if not 0 < self.lr_decay <= 1:
            problems.append("lr_decay must be in (0, 1]")
        if not 0 <= self.validation_split < 1:
            problems.append("validation_split must be in [0, 1)")
        if not (0 <= self.min_allocation <= 1 / 7 <= self.max_allocation <= 1):
            problems.append("need 0 <= min_allocation <= 1/7 <= max_allocation <= 1")
        if self.claims_per_agent < 1 or self.evidence_per_claim < 1:
            problems.append("claims_per_agent and evidence_per_claim must be >= 1")
        if self.exploration < 0 or self.prior_weight < 0:
            problems.append("exploration and prior_weight must be >= 0")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)

    @classmethod
    def original(cls, **changes: Any) -> TrainConfig:
        """The original model's settings (seed descriptions, no calibration, best-claim
        prediction) with ``changes``: reproduces the trainer before those fields existed."""
        return cls(**{**ORIGINAL, **changes})

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Field name -> its one-line doc (parsed from this class's source)."""
        import inspect

        docs: dict[str, str] = {}
        lines = inspect.getsource(cls).splitlines()
        names = {f.name for f in fields(cls)}
        for i, line in enumerate(lines[:-1]):
            name = line.strip().split(":")[0]
            if name in names and lines[i + 1].strip().startswith('"""'):
                docs[name] = lines[i + 1].strip().strip('"')
        return docs
