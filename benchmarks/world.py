"""Benchmark of the training world: the default run, before/after, side by side, as processes; the dashboard.

    python benchmarks/world.py [--judge embedding|lexical] [--repeats R] [--before COMMIT] [--side-by-side]
                               [--asynch] [--no-browser]

Prints the wall time of `python run_synch.py worlds/training` (process start, imports, model load and the
run itself, seed 0) with the ticks, simulated seconds and badges it gave. Optional, in the same run:
``--before COMMIT`` runs the same command from a clean checkout of COMMIT (a git worktree, its own sources
on PYTHONPATH) for a before/after ratio on this machine; ``--side-by-side`` starts two worlds at once and
compares each one's time with one alone; ``--asynch`` runs `python run_asynch.py worlds/training` (local
processes, lockstep: a process per agent, then the agents in as many processes as the cores) and checks
each ends with the same badges and summary. Then the dashboard's size and how long
headless Chromium takes to draw it offline. Numbers depend on the machine's load.
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


def _cmd(script: str, out: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, script, "worlds/training", "--seed", "0", "--out", str(out), "--quiet", *extra]


def _env(judge: str, src: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMVERSE_")}
    env.update(WMVERSE_JUDGE=judge, WMVERSE_SEED="0")
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src / "src"), str(src)])
    return env


def run_world(
    out: Path, judge: str, script: str = "run_synch.py", cwd: Path = REPO, extra: tuple[str, ...] = ()
) -> tuple[float, str]:
    """One whole run (``extra``: more flags); (wall seconds, stdout). A failing run ends the benchmark."""
    src = cwd if cwd != REPO else None
    t0 = time.perf_counter()
    proc = subprocess.run(
        _cmd(script, out, extra), cwd=cwd, env=_env(judge, src), capture_output=True, text=True, timeout=1800
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def badges(stdout: str) -> list[str]:
    """The badge lines of a run's summary, without their award time."""
    return sorted(
        re.sub(r"; awarded .*", "", ln.strip()) for ln in stdout.splitlines() if ln.startswith("  [")
    )


def _summary(stdout: str) -> str:
    """The run's summary block (from its title to the output paths), without award times."""
    start, end = stdout.find("TRAINING WORLD SUMMARY"), stdout.find("\nstats database:")
    return re.sub(r"; awarded .*", "", stdout[start:end]) if start >= 0 else ""


def describe(stdout: str) -> str:
    m = re.search(r"run ended by world: (\d+) ticks, ([\d.]+) simulated s", stdout)
    epochs = len(re.findall(r"^\[world\] epoch ", stdout, flags=re.M))
    where = f"{m.group(1)} ticks, {float(m.group(2)):.1f} simulated s" if m else "no end line"
    return f"{epochs} epochs, {where}, {len(badges(stdout))} badges"


def side_by_side(tmp: Path, judge: str) -> list[float]:
    """Two worlds started at once; each one's wall time."""
    procs, t0 = [], time.perf_counter()
    for k in range(2):
        procs.append(
            subprocess.Popen(
                _cmd("run_synch.py", tmp / f"pair{k}"),
                cwd=REPO,
                env=_env(judge),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    walls = [0.0, 0.0]
    pending = set(range(2))
    while pending:
        for k in list(pending):
            if procs[k].poll() is not None:
                walls[k] = time.perf_counter() - t0
                pending.discard(k)
                if procs[k].returncode != 0:
                    raise SystemExit(f"side-by-side world {k} failed with {procs[k].returncode}")
        time.sleep(0.2)
    return walls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judge", default="embedding", choices=["embedding", "lexical"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--before", metavar="COMMIT", help="also time a checkout of COMMIT (e.g. 9d3c01d)")
    ap.add_argument("--side-by-side", action="store_true", help="also run two worlds at once")
    ap.add_argument("--asynch", action="store_true", help="also run run_asynch.py (local processes)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    print(
        f"training world benchmark: judge={args.judge} seed=0 repeats={args.repeats} "
        f"cpus={os.cpu_count()} (wall times depend on the machine's load)"
    )
    with tempfile.TemporaryDirectory(prefix="wmverse-bench-world-") as tmp_name:
        tmp = Path(tmp_name)
        walls, stdout = [], ""
        for r in range(args.repeats):
            wall, stdout = run_world(tmp / f"run{r}", args.judge)
            walls.append(wall)
        alone = statistics.median(walls)
        print(
            f"  run_synch.py, this checkout: {alone:.1f} s ({', '.join(f'{w:.1f}' for w in walls)}); {describe(stdout)}"
        )
        for line in badges(stdout):
            print(f"    {line}")

        if args.before:
            tree = tmp / "before"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), args.before],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            try:
                wall_b, out_b = run_world(tmp / "before_out", args.judge, cwd=tree)
            finally:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True
                )
            same = badges(out_b) == badges(stdout)
            print(f"  run_synch.py at {args.before}: {wall_b:.1f} s; {describe(out_b)}")
            print(f"  speed-up: {wall_b / alone:.2f}x (before / after); same badges: {same}")

        if args.side_by_side:
            pair = side_by_side(tmp, args.judge)
            print(
                f"  two worlds side by side: {pair[0]:.1f} s and {pair[1]:.1f} s = "
                f"{max(pair) / alone:.2f}x one alone (goal: under 2.5x)"
            )

        if args.asynch:
            grouped = str(os.cpu_count() or 1)
            for label, extra in (
                ("a process per agent", ()),
                (f"--processes {grouped}", ("--processes", grouped)),
            ):
                wall_a, out_a = run_world(tmp / "asynch", args.judge, script="run_asynch.py", extra=extra)
                print(
                    f"  run_asynch.py ({label}, lockstep): {wall_a:.1f} s = {wall_a / alone:.2f}x run_synch; "
                    f"{describe(out_a)}; same badges as run_synch: {badges(out_a) == badges(stdout)}; "
                    f"same summary: {_summary(out_a) == _summary(stdout)}"
                )

        dash = tmp / "run0" / "dashboard.html"
        print(f"  dashboard: {dash.stat().st_size / 1e6:.2f} MB (plotly.js inlined)")
        if not args.no_browser:
            from wmverse.dashboard.browser import dump_dom, find_chromium

            if find_chromium() is None:
                print("  chromium: not installed, skipped")
            else:
                t0 = time.perf_counter()
                rendered = 'data-rendered="1"' in dump_dom(dash)
                print(
                    f"  headless Chromium load + draw (offline): {time.perf_counter() - t0:.1f} s, "
                    f"rendered={rendered}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
