"""What every learner processor shares: the request vocabulary, the runner contract, JSON-safe metrics.

A learner agent carries one world model (LeWorld, canvas, dynamics) and trains it when its world asks. The
world sends the learner's config with every request; the processor builds a :class:`LearnerRunner` once
and answers each request with :meth:`LearnerRunner.run`, a JSON-safe metrics dict. Between two requests
:meth:`LearnerRunner.state_dict` captures everything the later requests depend on, so that a runner built
afresh from the same config and given it by :meth:`LearnerRunner.load_state_dict` answers them exactly
as the original would have (a restarted run continues as if never interrupted).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["EVALUATE", "FINISH", "LearnerRunner", "json_safe"]

#: Request that ends every plan: evaluate on held-out data; its report decides the badge.
EVALUATE = "evaluate"
#: Request the world sends after the evaluation: the badges it decided (possibly none).
FINISH = "finish"


def json_safe(value: Any) -> Any:
    """``value`` with tuples as lists, numpy/torch scalars as floats and non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):
        return json_safe(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise TypeError(f"cannot send {type(value).__name__} in a learner report")


class LearnerRunner(abc.ABC):
    """Agent side: holds the library objects of one learner and runs the world's requests."""

    @abc.abstractmethod
    def run(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Run request ``action`` with ``args``; return JSON-safe metrics. Unknown actions raise ValueError."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """A copy of everything later requests depend on (weights, optimisers, generators, data positions,
        counters): nothing in it is shared with the live objects, so training on does not change it.

        Call it between requests, never while :meth:`run` runs. Made of dicts (``str``/``int`` keys),
        lists, tuples, ``str``, ``int``, ``float``, ``bool``, ``None``, ``bytes``, tensors and numpy
        arrays only: the types ``wmverse.checkpoint`` stores and reads back without unpickling objects.
        What the config determines (datasets, architecture) is rebuilt from the config instead."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured, into a runner built from the same config; its later
        replies are then bitwise those of the captured runner. Whatever this runner did before is
        overwritten."""

    def status(self) -> str:
        """One line describing the learner's progress (the processor's output)."""
        return type(self).__name__
