"""Save and load time and file size of checkpoints, for a synthetic state of a given size.

The state looks like a training run's: a model's ``state_dict`` of float32 tensors (about 70% of the
size), Adam-like moments as numpy arrays (the rest), a few scalars and the random generators. Each save
and load goes through :class:`wmverse.checkpoint.CheckpointStore` into a fresh folder (fsyncs included);
the figures are the best of ``--repeats`` runs.

    python benchmarks/checkpoint.py [--mb 50] [--repeats 3] [--dir /path/on/the/disk/to/measure]

:func:`measure` takes any state, so a world's real state can be measured the same way.

    python benchmarks/checkpoint.py --world [worlds/training] [--seed 0]

runs the world with ``run_synch.py`` twice (without checkpoints, then checkpointing about once per debate
epoch: every ``simulated seconds / epochs``), prints both wall times, the checkpoints' count, size and save
times, and the overhead (both as the wall-time difference, noisy on a shared machine, and as the sum of the
save times over the plain run's time); then resumes from the checkpoint in the middle of the run and prints how long the replay
took and whether the resumed run's summary equals the plain one's. The wall-time difference is only
meaningful on an otherwise idle machine; the saves' share is not affected by other load.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
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


ROOT = Path(__file__).resolve().parents[1]


def _run_world(folder: Path, out: Path, seed: int, *extra: str) -> tuple[float, str]:
    cmd = [
        sys.executable,
        str(ROOT / "run_synch.py"),
        str(folder),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--db",
        "none",
        "--quiet",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return wall, done.stdout


def _summary(stdout: str) -> str:
    return stdout[stdout.index("=== run ended") :].split("stats database:")[0].split("\n", 1)[1]


def world_benchmark(folder: Path, seed: int) -> None:
    """The world-level figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="wmverse-ckpt-world-") as root:
        plain_s, plain = _run_world(folder, Path(root) / "plain", seed)
        ticks, sim_s = re.search(r"run ended by \w+: (\d+) ticks, ([0-9.]+) simulated s", plain).groups()
        epochs = int(re.search(r"Epochs run: (\d+)", plain).group(1)) if "Epochs run:" in plain else 10
        every = max(float(sim_s) / epochs, 0.1)
        out = Path(root) / "ckpt"
        ckpt_s, text = _run_world(folder, out, seed, "--checkpoint-every", f"{every:.3f}", "--keep", "1000")
        saves = [
            float(x)
            for x in re.findall(
                r"checkpoint ckpt-\d+\.wmc written \(tick \d+(?:, written at tick \d+)?, ([0-9.]+) s\)", text
            )
        ]
        files = sorted((out / "checkpoints").glob("ckpt-*.wmc"))
        sizes = [f.stat().st_size / MB for f in files]
        middle = files[len(files) // 2] if files else None
        for f in files:
            if f != middle:
                f.unlink()  # resume from the middle of the run: the rest runs live
        resume_s, resumed = _run_world(folder, out, seed, "--resume")
        late = len(re.findall(r"written at tick", text))
        replay = re.search(r"resumed at tick (\d+) .* in ([0-9.]+) s with (\d+) job", resumed)
    print(
        f"world {folder.name}, seed {seed}: {ticks} ticks, {sim_s} simulated s, {epochs} epochs; "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    )
    print(f"  plain run                  {plain_s:8.1f} s wall")
    print(
        f"  checkpoint every {every:.2f} sim s {ckpt_s:8.1f} s wall  ({len(saves)} checkpoints, {late} of them "
        "written at a later tick, once the learner steps running at their tick had ended)"
    )
    if saves:
        print(
            f"  one checkpoint             {sum(saves) / len(saves):8.3f} s mean save, {max(saves):.3f} s max; "
            f"{sum(sizes) / len(sizes):.2f} MiB mean file, {max(sizes):.2f} MiB largest"
        )
        print(
            f"  overhead                   {100 * sum(saves) / plain_s:8.2f} % (saves / plain run); "
            f"{100 * (ckpt_s - plain_s) / plain_s:+.1f} % wall difference"
        )
    if replay:
        print(
            f"  resume from tick {replay.group(1)}       {resume_s:8.1f} s wall for the rest; replay of the world "
            f"{replay.group(2)} s, {replay.group(3)} learner jobs from the journal"
        )
    print(f"  resumed summary equals the plain run's: {_summary(resumed) == _summary(plain)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--world",
        nargs="?",
        const=str(ROOT / "worlds" / "training"),
        default=None,
        metavar="FOLDER",
        help="measure checkpoints of a whole world run (default worlds/training)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the world run's seed (with --world)")
    parser.add_argument("--mb", type=float, default=50.0, help="size of the synthetic state in MiB")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument(
        "--dir", type=Path, default=None, help="folder on the disk to measure (default: temp)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.world is not None:
        world_benchmark(Path(args.world), args.seed)
        return
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
