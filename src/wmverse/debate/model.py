"""The debate world model: observations, seven trained tendency agents, and a judge.

``predict`` says which tendency owns each observation or text: the judge's best
relevance to each tendency's claims (its description while it has none; one pooled
prototype per tendency when ``pooled``), less each agent's calibration offset, plus
``prior_weight * log(7 * allocation)``, argmax (:func:`~.ownership.predict_owners`).
Models round-trip through JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .agents import AgentPool
from .claims import Claim
from .judge_factory import make_judge
from .judges import Judge, as_texts
from .observations import Observation, ObservationStore, load_observations
from .ownership import predict_owners
from .tendency import TENDENCY_ORDER, Tendency, parse_tendency

__all__ = ["FORMAT", "WorldModel", "create_world_model"]

#: Format tag of saved models.
FORMAT = "wmverse.debate.world_model/1"


class WorldModel:
    """A person's world model: ``observations`` (the store), ``agents`` (the tendency pool)."""

    def __init__(
        self,
        name: str,
        observations: ObservationStore,
        agents: AgentPool | None = None,
        judge: Judge | str = "embedding",
        prior_weight: float = 0.0,
        pooled: bool = False,
    ):
        self.name = name
        self.observations = observations
        self.agents = agents if agents is not None else AgentPool()
        self.judge = make_judge(judge) if isinstance(judge, str) else judge
        self.prior_weight = prior_weight
        self.pooled = pooled
        self.history: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"WorldModel({self.name!r}, n_observations={len(self.observations)}, judge={self.judge.name!r})"
        )

    def configure(self, config: Any) -> WorldModel:
        """Predict as a model trained with ``config`` (a :class:`~.train_config.TrainConfig`):
        its prior weight, claim pooling and, for a vector judge, its descriptions. Call it
        before ``Trainer(config, judge=model.judge)`` so that the Trainer uses (and prepares)
        this very judge. Returns ``self``."""
        from .judges import VectorJudge

        self.prior_weight = config.prior_weight
        self.pooled = config.claim_pooling == "pooled"
        if isinstance(self.judge, VectorJudge):
            self.judge = self.judge.with_descriptions(config.descriptions)
        return self

    @property
    def claims(self) -> list[Claim]:
        """Every agent's current claims."""
        return self.agents.claims()

    def allocations(self) -> dict[Tendency, float]:
        """Current allocations per tendency."""
        return self.agents.allocations()

    def predict(self, items: Iterable[Observation | str] | ObservationStore) -> list[Tendency]:
        """Owner tendency of each observation or raw string, in one batched judge call."""
        texts = as_texts(items)
        if not texts:
            return []
        return predict_owners(
            self.judge,
            texts,
            self.claims,
            self.allocations(),
            self.prior_weight,
            self.agents.offsets(),
            self.pooled,
        )

    def to_json(self) -> dict[str, Any]:
        """Everything needed to rebuild the model (judge settings, not its weights)."""
        return {
            "format": FORMAT,
            "name": self.name,
            "judge": self.judge.config(),
            "prior_weight": self.prior_weight,
            "pooled": self.pooled,
            "observations": self.observations.to_json(),
            "agents": [
                {
                    "tendency": a.tendency.value,
                    "allocation": a.allocation,
                    "offset": a.offset,
                    "claims": [c.to_json() for c in a.claims],
                }
                for a in self.agents
            ],
            "history": self.history,
        }

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (see :meth:`load`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, judge: Judge | str | None = None) -> WorldModel:
        """Read a model written by :meth:`save`; ``judge`` overrides the saved judge settings."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a saved world model ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a saved debate world model (expected format {FORMAT!r})")
        if judge is None:
            settings = dict(data["judge"])
            judge = make_judge(settings.pop("name"), **{k: v for k, v in settings.items() if k != "encoder"})
        obs = [
            Observation(
                id=o["id"],
                content=o["content"],
                source_id=o.get("source_id", ""),
                timestamp=o.get("timestamp"),
                embedding=tuple(o["embedding"]) if o.get("embedding") is not None else None,
                metadata=o.get("metadata") or {},
            )
            for o in data["observations"]["observations"]
        ]
        store = ObservationStore(obs, source=data["observations"].get("source", ""))
        saved = {parse_tendency(a["tendency"]): a for a in data["agents"]}
        if set(saved) != set(TENDENCY_ORDER):
            raise ValueError(f"{path}: a saved model needs exactly the seven tendencies")
        pool = AgentPool({t: float(saved[t]["allocation"]) for t in TENDENCY_ORDER})
        for t in TENDENCY_ORDER:
            pool[t].claims = [Claim.from_json(c) for c in saved[t]["claims"]]
            pool[t].offset = float(saved[t].get("offset", 0.0))
        model = cls(
            data["name"],
            store,
            pool,
            judge,
            prior_weight=float(data.get("prior_weight", 0.0)),
            pooled=bool(data.get("pooled", False)),
        )
        model.history = data.get("history", {})
        return model


def create_world_model(
    name: str,
    path: str | Path | ObservationStore,
    judge: Judge | str = "embedding",
    allocations: dict[Tendency, float] | None = None,
    prior_weight: float = 0.0,
    pooled: bool = False,
) -> WorldModel:
    """A fresh model of ``name`` from an observation file (or store) with default allocations."""
    store = path if isinstance(path, ObservationStore) else load_observations(path)
    return WorldModel(name, store, AgentPool(allocations), judge, prior_weight=prior_weight, pooled=pooled)
