"""Snapshots of random generators, so that a restarted run draws the numbers the original would have.

:func:`capture_rngs` returns a plain dict that the checkpoint codec stores as is (tuples, ints, a numpy
array, uint8 tensors); :func:`restore_rngs` puts every generator back exactly. The global generators
(Python's ``random``, numpy's legacy ``np.random``, torch's CPU generator and, once CUDA is initialised,
each GPU's) are always captured, because library code draws from them even where the model owns its own
generator; named ``numpy.random.Generator``/``torch.Generator`` objects are captured when passed.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture_rngs(
    np_generators: dict[str, np.random.Generator] | None = None,
    torch_generators: dict[str, torch.Generator] | None = None,
) -> dict[str, Any]:
    """The current state of the global generators and of the named ones, as a checkpointable dict.

    Keys: ``python`` (``random.getstate()``), ``numpy_global`` (``np.random.get_state()``), ``torch``
    (``torch.get_rng_state()``), ``torch_cuda`` (one state per GPU; only when CUDA is initialised),
    ``numpy`` (name -> ``bit_generator.state``) and ``torch_generators`` (name -> ``get_state()``).
    The snapshot is a copy: drawing afterwards does not change it.
    """
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy_global": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": {name: gen.bit_generator.state for name, gen in (np_generators or {}).items()},
        "torch_generators": {name: gen.get_state() for name, gen in (torch_generators or {}).items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def _named(kind: str, captured: dict[str, Any], name: str) -> Any:
    if name not in captured:
        have = ", ".join(sorted(captured)) or "none"
        raise KeyError(f"no captured state for {kind} generator {name!r} (captured: {have})")
    return captured[name]


def restore_rngs(
    state: dict[str, Any],
    np_generators: dict[str, np.random.Generator] | None = None,
    torch_generators: dict[str, torch.Generator] | None = None,
) -> None:
    """Put back the generators captured in ``state`` by :func:`capture_rngs`.

    The global generators are always restored. Each named generator passed gets the state captured under
    its name (``KeyError`` if there is none; a numpy generator of another bit generator type raises
    numpy's ``ValueError``); captured names not passed are left alone. The GPU states are restored for the
    GPUs present, when the snapshot has them and CUDA is available.
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy_global"])
    torch.set_rng_state(state["torch"].cpu())
    for name, gen in (np_generators or {}).items():
        gen.bit_generator.state = _named("numpy", state["numpy"], name)
    for name, gen in (torch_generators or {}).items():
        gen.set_state(_named("torch", state["torch_generators"], name).cpu())
    if state.get("torch_cuda") is not None and torch.cuda.is_available():
        for index, cuda_state in enumerate(state["torch_cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), index)
