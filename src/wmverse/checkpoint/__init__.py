"""Checkpoints on disk: a run's state saved atomically, verified on load, and read without running code.

    from wmverse.checkpoint import CheckpointStore, capture_rngs, restore_rngs

    store = CheckpointStore(folder, keep=3)
    store.save({"model": model.state_dict(), "optim": opt.state_dict(), "rngs": capture_rngs()}, step=100)
    loaded = store.load_latest()          # None: nothing verifies, start fresh
    restore_rngs(loaded.state["rngs"])

- :mod:`.codec`: the payload (nested dicts/lists/tuples of plain values, tensors, numpy arrays) to bytes
  and back through ``torch.load(weights_only=True)``;
- :mod:`.fileformat`: the file's magic, version, JSON header and checksums;
- :mod:`.store`: the folder of numbered files (atomic save, retention, newest-good load with fallback);
- :mod:`.rng`: capture and restore of Python, numpy and torch random generators.

Generic machinery: imports torch, numpy and the standard library only. The names below load on first use,
so that importing the package does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codec import CodecError, decode, encode
    from .fileformat import FORMAT_VERSION, MAGIC, CheckpointError, read_checkpoint
    from .rng import capture_rngs, restore_rngs
    from .store import CheckpointStore, LoadedCheckpoint

#: public name -> the submodule that defines it
_HOME = {
    "CheckpointError": "fileformat",
    "CheckpointStore": "store",
    "CodecError": "codec",
    "FORMAT_VERSION": "fileformat",
    "LoadedCheckpoint": "store",
    "MAGIC": "fileformat",
    "capture_rngs": "rng",
    "decode": "codec",
    "encode": "codec",
    "read_checkpoint": "fileformat",
    "restore_rngs": "rng",
}

__all__ = [
    "CheckpointError",
    "CheckpointStore",
    "CodecError",
    "FORMAT_VERSION",
    "LoadedCheckpoint",
    "MAGIC",
    "capture_rngs",
    "decode",
    "encode",
    "read_checkpoint",
    "restore_rngs",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
