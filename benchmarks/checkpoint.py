"""Save and load time and file size of checkpoints, for a synthetic state of a given size.

The state looks like a training run's: a model's ``state_dict`` of float32 tensors (about 70% of the
size), Adam-like moments as numpy arrays (the rest), a few scalars and the random generators. Each save
and load goes through :class:`wmverse.checkpoint.CheckpointStore` into a fresh folder (fsyncs included);
the figures are the best of ``--repeats`` runs.

    python benchmarks/checkpoint.py [--mb 50] [--repeats 3] [--dir /path/on/the/disk/to/measure]

:func:`measure` takes any state, so a world's real state can be measured the same way.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmverse.checkpoint import CheckpointStore, capture_rngs

MB = 1024 * 1024


def state_bytes(state: Any) -> int:
    """The bytes of tensor and array data in ``state`` (containers and scalars not counted)."""
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, np.ndarray):
        return state.nbytes
    if isinstance(state, dict):
        return sum(state_bytes(v) for v in state.values())
    if isinstance(state, list | tuple):
        return sum(state_bytes(v) for v in state)
    return 0


def synthetic_state(mb: float, seed: int = 0) -> dict[str, Any]:
    """A state of about ``mb`` MiB of float32 data, split into layers of at most 4 MiB."""
    gen = torch.Generator().manual_seed(seed)
    floats = int(mb * MB / 4)
    model_floats, moment_floats = int(floats * 0.7), floats - int(floats * 0.7)
    layer = MB  # floats per layer: 4 MiB
    model = {
        f"layers.{i}.weight": torch.randn(min(layer, model_floats - start), generator=gen)
        for i, start in enumerate(range(0, model_floats, layer))
    }
    rng = np.random.default_rng(seed)
    moments = [
        rng.standard_normal(min(layer, moment_floats - s), dtype=np.float32)
        for s in range(0, moment_floats, layer)
    ]
    return {
        "model": model,
        "optimizer": {"moments": moments, "step": 1000, "lr": 3e-4},
        "rngs": capture_rngs({"env": rng}, {"model": gen}),
        "meta": {"epoch": 3, "name": "benchmark"},
    }


def measure(state: dict[str, Any], folder: Path | None = None, repeats: int = 3) -> dict[str, float]:
    """Time ``CheckpointStore.save`` and ``load_latest`` of ``state`` (best of ``repeats``) and its file size.

    Returns ``state_mb`` (tensor/array data), ``file_mb``, ``save_s``, ``load_s``, ``save_mb_s`` and
    ``load_mb_s`` (file MiB per second). ``folder`` is where the files go (a temporary folder by default);
    each repeat writes into a fresh subfolder.
    """
    with tempfile.TemporaryDirectory(dir=folder, prefix="wmverse-ckpt-bench-") as root:
        saves, loads, size = [], [], 0
        for i in range(repeats):
            store = CheckpointStore(Path(root) / str(i), keep=1)
            start = time.perf_counter()
            path = store.save(state, step=i)
            saves.append(time.perf_counter() - start)
            size = path.stat().st_size
            start = time.perf_counter()
            loaded = store.load_latest()
            loads.append(time.perf_counter() - start)
            assert loaded is not None and loaded.step == i
            path.unlink()
    save_s, load_s, file_mb = min(saves), min(loads), size / MB
    return {
        "state_mb": state_bytes(state) / MB,
        "file_mb": file_mb,
        "save_s": save_s,
        "load_s": load_s,
        "save_mb_s": file_mb / save_s,
        "load_mb_s": file_mb / load_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the synthetic state in MiB")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument(
        "--dir", type=Path, default=None, help="folder on the disk to measure (default: temp)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    state = synthetic_state(args.mb)
    figures = measure(state, args.dir, args.repeats)
    print(f"checkpoint of a {args.mb:g} MiB state; torch {torch.__version__}, {platform.platform()}")
    print(f"  state data  {figures['state_mb']:9.2f} MiB")
    print(f"  file        {figures['file_mb']:9.2f} MiB")
    print(f"  save        {figures['save_s']:9.3f} s   ({figures['save_mb_s']:.0f} MiB/s, fsyncs included)")
    print(
        f"  load        {figures['load_s']:9.3f} s   ({figures['load_mb_s']:.0f} MiB/s, checksum and decode)"
    )


if __name__ == "__main__":
    main()
