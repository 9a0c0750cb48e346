"""The training world's learners, world side: each kind's plan of requests and badge rule.

One generic protocol (:mod:`.protocol`: plan, tracker, badge) and one spec per kind; the processors that
run the requests live in ``agents.learners``. No unaiverse import here.
"""

from __future__ import annotations

from collections.abc import Mapping

from agents.learners.base import EVALUATE, FINISH

from .canvas import CanvasLearner
from .dynamics import DynamicsLearner
from .leworld import LeWorldLearner
from .protocol import LearnerBadge, LearnerSpec, LearnerStep, LearnerTracker

__all__ = [
    "EVALUATE",
    "FINISH",
    "LEARNER_SPECS",
    "CanvasLearner",
    "DynamicsLearner",
    "LeWorldLearner",
    "LearnerBadge",
    "LearnerSpec",
    "LearnerStep",
    "LearnerTracker",
    "enabled_learners",
    "learner_kind_of",
    "learner_spec",
]

#: Learner kind -> spec class.
LEARNER_SPECS: dict[str, type[LearnerSpec]] = {
    cls.kind: cls for cls in (LeWorldLearner, CanvasLearner, DynamicsLearner)
}

#: Node-name prefix of learner agents: ``Learner<Kind>`` (e.g. ``LearnerLeWorld``) joins as ``<kind>``.
NODE_PREFIX = "Learner"


def learner_spec(kind: str, environ: Mapping[str, str]) -> LearnerSpec:
    """The spec of learner ``kind`` configured from ``environ`` (unknown kind -> ValueError)."""
    cls = LEARNER_SPECS.get(kind)
    if cls is None:
        raise ValueError(f"unknown learner kind {kind!r}; known: {sorted(LEARNER_SPECS)}")
    return cls.from_env(environ)


def learner_kind_of(node_name: str | None) -> str | None:
    """The learner kind a node named ``Learner<Kind>`` plays (case-insensitive), else None."""
    name = str(node_name or "").split("/")[-1]
    if not name.lower().startswith(NODE_PREFIX.lower()):
        return None
    kind = name[len(NODE_PREFIX) :].lower()
    return kind if kind in LEARNER_SPECS else None


def enabled_learners(environ: Mapping[str, str]) -> set[str]:
    """Kinds whose run scripts join: ``WMVERSE_LEARNERS`` = ``all`` (default), ``none`` or a comma list."""
    raw = environ.get("WMVERSE_LEARNERS", "all").strip().lower()
    if raw in ("", "all"):
        return set(LEARNER_SPECS)
    if raw == "none":
        return set()
    kinds = {k.strip() for k in raw.split(",") if k.strip()}
    unknown = kinds - set(LEARNER_SPECS)
    if unknown:
        raise ValueError(
            f"WMVERSE_LEARNERS names unknown learner(s) {sorted(unknown)}; known: {sorted(LEARNER_SPECS)}"
        )
    return kinds
