"""The learner agents' processor: the world model a learner trains, behind one request interface.

A :class:`LearnerProcessor` is the model a learner agent carries (``leworld``, ``canvas`` or ``dynamics``).
Its world sends the learner's config with every request; the processor builds the library objects once
(:func:`agents.learners.make_runner`: LeWorld system and trainers, canvas curriculum trainer, dynamics
agent) and runs each request with :meth:`run_request`. As a ``torch.nn.Module`` it is a valid unaiverse
processor: ``forward(text)`` returns a one-line status of the learner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from agents.learners import LEARNER_KINDS, LearnerRunner, config_from_payload, make_runner

__all__ = ["LearnerProcessor"]


class LearnerProcessor(torch.nn.Module):
    """The model of one learner agent; deterministic given the config (its seed) the world sends."""

    def __init__(self, kind: str):
        """``kind``: 'leworld', 'canvas' or 'dynamics'."""
        super().__init__()
        if kind not in LEARNER_KINDS:
            raise ValueError(f"unknown learner kind {kind!r}; known: {sorted(LEARNER_KINDS)}")
        self.kind = kind
        self.runner: LearnerRunner | None = None
        self._config: dict[str, Any] | None = None

    def run_request(self, action: str, args: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
        """Run one world request; the first request's ``config`` builds the runner (a different config later
        raises ValueError: one learner trains one configuration)."""
        config = dict(config)
        if self.runner is None:
            self.runner = make_runner(self.kind, config_from_payload(self.kind, config))
            self._config = config
        elif config != self._config:
            raise ValueError(f"the {self.kind} learner was configured differently by an earlier request")
        return self.runner.run(action, args)

    def forward(self, text: str) -> str:
        """A status line (the processor's output when the agent is asked to generate)."""
        return self.runner.status() if self.runner is not None else f"{self.kind} learner: not started"
