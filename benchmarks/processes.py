"""Ticks per second of a world in one process (run_synch) vs as local processes (run_asynch, lockstep).

The tiny test world (an asker, two answerers, a world) is copied to a temporary folder and made endless
(``is_finished`` -> False) so that both runs tick exactly ``--ticks`` times; the difference of their loop
times divided by the ticks is the per-tick round trip of the process transport (the hub sends a tick
frame to each agent process and waits for its answer). With ``--training`` the training world
(``WMVERSE_LEARNERS=none WMVERSE_EPOCHS=3``) is also run end to end both ways (wall time, ticks).

    python benchmarks/processes.py [--ticks 400] [--training]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "runtime" / "worlds" / "tiny"


def _endless_tiny(dest: Path) -> Path:
    folder = dest / "tiny"
    shutil.copytree(
        TINY, folder, ignore=shutil.ignore_patterns("out", "pdf", "*.json", "__pycache__", "stats")
    )
    world = folder / "src" / "world.py"
    text = world.read_text()
    finished = "return sum(len(v) for v in self.get_all_badges().values()) >= 1"
    world.write_text(text.replace(finished, "return False"))
    return folder


def _both(folder: Path, ticks: int, quiet_out: Path) -> tuple:
    from wmverse.runtime import RuntimeConfig, run_world
    from wmverse.runtime.processes import run_processes

    config = RuntimeConfig(seed=0, max_steps=ticks, quiet=True, out_dir=quiet_out / "synch")
    started = time.perf_counter()
    synch = run_world(folder, config, write=lambda _line: None)
    synch_wall = time.perf_counter() - started
    config = RuntimeConfig(seed=0, max_steps=ticks, quiet=True, out_dir=quiet_out / "asynch")
    started = time.perf_counter()
    asynch = run_processes(folder, config, write=lambda _line: None)
    asynch_wall = time.perf_counter() - started
    for name, result in (("synch", synch), ("asynch", asynch)):
        if result.exit_code != 0:
            raise SystemExit(f"{name} run failed: {result.error}")
    return synch, synch_wall, asynch, asynch_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticks", type=int, default=400, help="ticks of the endless tiny world (default 400)"
    )
    parser.add_argument("--training", action="store_true", help="also time the training world both ways")
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs (shared; figures are approximate)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = _endless_tiny(Path(tmp))
        synch, synch_wall, asynch, asynch_wall = _both(folder, args.ticks, Path(tmp) / "out")
        print(f"tiny world, {args.ticks} ticks of 100 ms, 4 nodes (3 agent processes under asynch, forked):")
        print(
            f"  run_synch : loop {synch.loop_wall_s:7.3f} s  -> {synch.steps / synch.loop_wall_s:8.1f} ticks/s"
            f"   (wall incl. load and hooks {synch_wall:6.2f} s, {synch.messages} messages)"
        )
        print(
            f"  run_asynch: loop {asynch.loop_wall_s:7.3f} s  -> {asynch.steps / asynch.loop_wall_s:8.1f} ticks/s"
            f"   (wall incl. process start {asynch_wall:6.2f} s, {asynch.messages} messages)"
        )
        overhead_ms = 1000.0 * (asynch.loop_wall_s - synch.loop_wall_s) / args.ticks
        print(f"  per-tick round-trip overhead of the process transport: {overhead_ms:.3f} ms")
        if args.training:
            os.environ.update({"WMVERSE_LEARNERS": "none", "WMVERSE_EPOCHS": "3"})
            print("training world, WMVERSE_LEARNERS=none WMVERSE_EPOCHS=3 (runs until the world finishes):")
            synch, synch_wall, asynch, asynch_wall = _both(
                ROOT / "worlds" / "training", 20_000, Path(tmp) / "tw"
            )
            for name, result, wall in (
                ("run_synch ", synch, synch_wall),
                ("run_asynch", asynch, asynch_wall),
            ):
                print(
                    f"  {name}: {result.steps} ticks, {len(result.nodes)} nodes, {result.messages} messages, "
                    f"loop {result.loop_wall_s:6.2f} s, wall {wall:6.2f} s, ended by {result.ended_by}"
                )
            print(f"  same summary both ways: {synch.summary == asynch.summary}")


if __name__ == "__main__":
    main()
