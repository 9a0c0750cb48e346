"""Benchmark of the training world: a whole default run under run_synch.py, and the dashboard in Chromium.

    python benchmarks/world.py [--judge embedding|lexical] [--epochs N] [--repeats R]

Prints the wall time of `python run_synch.py worlds/training` (process start, imports, model load and the
run itself), the ticks and simulated seconds it took, the dashboard's size, and how long headless Chromium
needs to load and draw the dashboard offline. Numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_world(out: Path, judge: str, epochs: int | None) -> tuple[float, str]:
    env = {**os.environ, "WMVERSE_JUDGE": judge, "WMVERSE_SEED": "0"}
    if epochs is not None:
        env["WMVERSE_EPOCHS"] = str(epochs)
    cmd = [sys.executable, "run_synch.py", "worlds/training", "--seed", "0", "--out", str(out), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"world run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default="embedding", choices=["embedding", "lexical"])
    ap.add_argument("--epochs", type=int, default=None, help="max epochs (default: the world's, 30)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    print(
        f"training world benchmark: judge={args.judge} epochs={args.epochs or 'default'} "
        f"repeats={args.repeats} cpus={os.cpu_count()} (shared machine: approximate)"
    )
    walls, stdout, out = [], "", None
    with tempfile.TemporaryDirectory(prefix="wmverse-bench-world-") as tmp:
        for r in range(args.repeats):
            out = Path(tmp) / f"run{r}"
            wall, stdout = run_world(out, args.judge, args.epochs)
            walls.append(wall)
        m = re.search(r"run ended by world: (\d+) ticks, ([\d.]+) simulated s", stdout)
        epochs_run = len(re.findall(r"^\[world\] epoch ", stdout, flags=re.M))
        print(
            f"  whole run (process start to exit): median {statistics.median(walls):.1f} s "
            f"(runs: {', '.join(f'{w:.1f}' for w in walls)})"
        )
        if m:
            ticks, sim = int(m.group(1)), float(m.group(2))
            print(f"  epochs run: {epochs_run}; ticks: {ticks}; simulated time: {sim:.1f} s")
        dash = out / "dashboard.html"
        print(f"  dashboard: {dash.stat().st_size / 1e6:.2f} MB (plotly.js inlined)")

        from wmverse.dashboard.browser import dump_dom, find_chromium

        if find_chromium() is None:
            print("  chromium: not installed, skipped")
        else:
            t0 = time.perf_counter()
            dom = dump_dom(dash)
            dt = time.perf_counter() - t0
            ok = 'data-rendered="1"' in dom
            print(f"  headless Chromium load + draw (offline, fresh profile): {dt:.1f} s, rendered={ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
