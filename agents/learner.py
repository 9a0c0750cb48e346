"""The learner agents' processor: the world model a learner trains, behind one request interface.

A :class:`LearnerProcessor` is the model a learner agent carries (``leworld``, ``canvas`` or ``dynamics``).
Its world sends the learner's config with every request; the processor builds the library objects once
(:func:`agents.learners.make_runner`: LeWorld system and trainers, canvas curriculum trainer, dynamics
agent) and runs each request with :meth:`run_request`. As a ``torch.nn.Module`` it is a valid unaiverse
processor: ``forward(text)`` returns a one-line status of the learner.

Checkpoints: :meth:`LearnerProcessor.checkpoint_state` (between requests) returns the config and the
runner's :meth:`~agents.learners.LearnerRunner.state_dict`; :meth:`LearnerProcessor.restore_checkpoint_state`
rebuilds the runner from that config and loads it, so a fresh processor (a restarted process) answers the
remaining requests exactly as the original would have. These are not ``state_dict``/``load_state_dict``:
torch calls those recursively with their own contract (flat tensors, ``strict``, ``prefix``), and unaiverse
deep-copies ``state_dict()`` before each of its probe calls and loads it back after; a whole learner (a
replay buffer, every baseline) there would be copied for nothing or reset a learner under way. The
module's own ``state_dict()`` stays torch's: empty, the processor registers no parameter.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch

from agents.learners import LEARNER_KINDS, LearnerRunner, config_from_payload, make_runner

__all__ = ["STATE_VERSION", "LearnerProcessor"]

#: Layout version of :meth:`LearnerProcessor.checkpoint_state`.
STATE_VERSION = 1


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

    def checkpoint_state(self) -> dict[str, Any]:
        """A copy of everything the later requests depend on: ``kind``, the ``config`` of the first request
        (None before any) and the ``runner``'s ``state_dict()`` (None before any request). Call it between
        requests. Plain values, tensors and numpy arrays only (see ``wmverse.checkpoint.codec``)."""
        return {
            "version": STATE_VERSION,
            "kind": self.kind,
            "config": copy.deepcopy(self._config),
            "runner": None if self.runner is None else self.runner.state_dict(),
        }

    def restore_checkpoint_state(self, state: Mapping[str, Any]) -> None:
        """Become the processor :meth:`checkpoint_state` captured: a runner built from its config, loaded
        with its runner state (whatever this processor ran before is dropped). ``ValueError`` for another
        kind's or an unknown version's state."""
        if state.get("version") != STATE_VERSION or state.get("kind") != self.kind:
            raise ValueError(
                f"not a {self.kind} learner state of version {STATE_VERSION}: "
                f"kind {state.get('kind')!r}, version {state.get('version')!r}"
            )
        if state["config"] is None:
            self.runner, self._config = None, None
            return
        config = copy.deepcopy(dict(state["config"]))
        runner = make_runner(self.kind, config_from_payload(self.kind, config))
        runner.load_state_dict(state["runner"])
        self.runner, self._config = runner, config

    def forward(self, text: str) -> str:
        """A status line (the processor's output when the agent is asked to generate)."""
        return self.runner.status() if self.runner is not None else f"{self.kind} learner: not started"
