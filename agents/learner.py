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

The runtime turns on the background lanes (``wmverse.runtime.background.lanes``) in ``run_synch.py``, in
each ``run_asynch.py`` agent process and in a joiner (``WMVERSE_LEARNER_PROCESSES=0`` turns them off): a
processor made then runs its runner in a child process (:class:`agents.learner_process.RunnerProcess`, started
at once so that its imports overlap the world's start) and :attr:`LearnerProcessor.lane` names the lane its
requests go to, so the learners compute at the same time, each step deferred across the ticks it declares
(``background.defer``), and give the numbers they give alone. Its :meth:`~LearnerProcessor.checkpoint_state` then
also holds the child's global generators.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch

from agents.learners import LEARNER_KINDS, LearnerRunner, config_from_payload, make_runner
from wmverse.runtime import background

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
        self._apart = background.lanes_enabled()
        self._process = self._start_process() if self._apart else None

    @property
    def lane(self) -> str | None:
        """The background lane of this learner's requests: its own when its runner computes in a child process,
        else None (the default lane, one job at a time)."""
        return f"learner-{self.kind}-{id(self)}" if self._apart else None

    def _start_process(self) -> Any:
        from agents.learner_process import RunnerProcess

        process = RunnerProcess(self.kind, background.lane_start_method())
        background.on_lanes_exit(process.close)
        return process

    def _build(self, config: dict[str, Any]) -> LearnerRunner:
        typed = config_from_payload(self.kind, config)  # a bad config is refused before any process sees it
        if not self._apart:
            return make_runner(self.kind, typed)
        if self._process is None or self._process.built:
            if self._process is not None:
                self._process.close()
            self._process = self._start_process()
        self._process.build(config, int(getattr(typed, "seed", 0)))
        return self._process

    def run_request(self, action: str, args: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
        """Run one world request; the first request's ``config`` builds the runner (a different config later
        raises ValueError: one learner trains one configuration)."""
        config = dict(config)
        if self.runner is None:
            self.runner = self._build(config)
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
        runner = self._build(config)
        runner.load_state_dict(state["runner"])
        self.runner, self._config = runner, config

    def forward(self, text: str) -> str:
        """A status line (the processor's output when the agent is asked to generate)."""
        return self.runner.status() if self.runner is not None else f"{self.kind} learner: not started"
