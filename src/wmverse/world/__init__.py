"""Shared pieces of the project's unaiverse worlds (no unaiverse import here: it costs seconds).

- :class:`TrainingWorldConfig` (``config``): the training world's settings, from ``WMVERSE_*`` variables.
- :class:`TrainingSession` (``session``): the Trainer and the Validator split into the steps the world runs
  as actions (begin epoch, collect claims and stakes, resolve, validate, decide badges).
- ``codec``: JSON for claims, stakes and observations travelling between the world and its agents.
- ``shared_judge`` (``judges``): one prepared judge per (name, training corpus) in a process.
- ``format_summary`` (``summary``): the end-of-run report.
- ``wmverse.world.learners``: the learner roles (LeWorld, canvas, dynamics): a generic request -> step ->
  report -> badge protocol, one spec per kind; ``learners.hosting`` (world side) and ``learners.agent``
  (agent side) import unaiverse and are used only by ``worlds/training``.
"""

from .config import DEFAULT_JUDGE, TrainingWorldConfig
from .judges import shared_judge
from .session import BadgeDecision, EpochRecord, TrainingSession, ValidationRecord
from .summary import format_summary

__all__ = [
    "DEFAULT_JUDGE",
    "BadgeDecision",
    "EpochRecord",
    "TrainingSession",
    "TrainingWorldConfig",
    "ValidationRecord",
    "format_summary",
    "shared_judge",
]
