"""Learner processors' libraries: one config dataclass and one runner per learner kind.

A learner agent's processor (:class:`agents.learner.LearnerProcessor`) gets its config as JSON with every
request of its world; :func:`config_from_payload` rebuilds the typed config (unknown fields refused) and
:func:`make_runner` builds the library objects once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .base import EVALUATE, FINISH, LearnerRunner, json_safe
from .canvas import CanvasLearnerConfig, CanvasRunner
from .dynamics import DynamicsLearnerConfig, DynamicsRunner
from .leworld import LeWorldLearnerConfig, LeWorldRunner

__all__ = [
    "EVALUATE",
    "FINISH",
    "LEARNER_KINDS",
    "LearnerRunner",
    "config_from_payload",
    "json_safe",
    "make_runner",
]

#: Learner kind -> (config dataclass, runner class).
LEARNER_KINDS: dict[str, tuple[type, type[LearnerRunner]]] = {
    "leworld": (LeWorldLearnerConfig, LeWorldRunner),
    "canvas": (CanvasLearnerConfig, CanvasRunner),
    "dynamics": (DynamicsLearnerConfig, DynamicsRunner),
}


def _entry(kind: str) -> tuple[type, type[LearnerRunner]]:
    entry = LEARNER_KINDS.get(kind)
    if entry is None:
        raise ValueError(f"unknown learner kind {kind!r}; known: {sorted(LEARNER_KINDS)}")
    return entry


def config_from_payload(kind: str, payload: Mapping[str, Any]) -> Any:
    """The typed config of learner ``kind`` from its JSON form (unknown fields or kind raise ValueError)."""
    config_type, _ = _entry(kind)
    if not isinstance(payload, Mapping):
        raise ValueError(f"a {kind} learner config must be a JSON object, got {type(payload).__name__}")
    names = {f.name for f in dataclasses.fields(config_type)}
    unknown = set(payload) - names
    if unknown:
        raise ValueError(f"unknown {kind} learner setting(s): {sorted(unknown)}")
    try:
        return config_type(**payload)
    except TypeError as e:
        raise ValueError(f"bad {kind} learner config: {e}") from None


def make_runner(kind: str, config: Any) -> LearnerRunner:
    """The runner of learner ``kind`` for ``config`` (builds the library objects)."""
    config_type, runner_type = _entry(kind)
    if not isinstance(config, config_type):
        raise TypeError(f"{kind} learner needs a {config_type.__name__}")
    return runner_type(config)
