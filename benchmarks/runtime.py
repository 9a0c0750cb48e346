"""Throughput of the in-process runtime: simulated seconds per wall second and ticks per second.

A world is generated in a temporary folder with N worker agents and one hub agent (N = 7, 50, 200, 1000):
each worker connects to the hub by role (handshake through PROFILE/AGENT_APPROVAL messages), then
loops 'idle' -> 'pinged' -> 'idle', sending an interaction request to the hub every 0.5 simulated
seconds and its stats to the world every simulated second. The hub's state machine serves one request
per tick; the others wait in its queue or are refused when its interaction manager is full.

``--stats both`` runs every size twice: with unaiverse's own stats path (the world JSON-walks every stored
value) and with the runtime's fast one (``wmverse.runtime.fast_stats``, the default), to compare them.
``--fast-paths off`` runs without the runtime's faster, equivalent versions of a few unaiverse functions
(``wmverse.runtime.fast_paths``, on by default); ``--fast-paths both`` runs each size without then with them.
Besides wall-clock rates it prints the ticking loop's CPU time and ticks per CPU second, which are steadier
on a shared machine.

``--gc python`` runs with the interpreter's collector thresholds instead of the runtime's (``WMVERSE_GC_THRESHOLD=0``,
see ``wmverse.runtime.collector``); ``--gc both`` runs each size both ways. The ``gc s`` column is the time this
process spent in the cyclic collector during the run (load included).

``--processes`` runs every size in one process (0, run_synch.py's runtime) and as local processes in lockstep
(K > 0, ``run_asynch.py --processes K``: the agents in K processes, contiguous in script order, the world in
this one); by default 0 and this machine's cores. For K > 0 the CPU columns count every process
of the run (this one and its children) over the whole run, load included.

    python benchmarks/runtime.py [--agents 7 50 200 1000] [--ticks 200] [--tick-ms 100] [--stats both]
                                 [--fast-paths both] [--gc both] [--processes 0 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

WORLD_PY = """
import os

from unaiverse.hsm import HybridStateMachine
from unaiverse.world import World

from .stats import WStats


class WWorld(World):
    def __init__(self, **kwargs):
        folder = os.path.dirname(os.path.abspath(__file__))
        db = os.path.join(os.environ["WMVERSE_OUT_DIR"], "world_stats.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        super().__init__(world_folder=folder, stats=WStats(is_world=True, db_path=db), **kwargs)

    def assign_role(self, profile, is_world_master):
        return "hub" if profile.get_static_profile()["node_name"] == "Hub" else "worker"

    def create_behav_files(self):
        from .hub import WAgent as Hub
        from .worker import WAgent as Worker

        behav = HybridStateMachine(Worker(proc=None))
        behav.set_role("worker")
        behav.add_state("init", blocking=True)
        behav.add_state("searching", blocking=True)
        behav.add_state("idle", blocking=True)
        behav.add_state("pinged", blocking=True)
        behav.add_transit("init", "searching", action="connect_by_role", args={"role": "hub"})
        behav.add_transit("searching", "idle", action="hub_known")
        behav.add_transit("idle", "pinged", action="ping_hub", delay=0.5)
        behav.add_transit("pinged", "idle", action="nop")
        behav.save(os.path.join(self.world_folder, "worker.json"), only_if_changed=Worker(proc=None))

        behav = HybridStateMachine(Hub(proc=None))
        behav.set_role("hub")
        behav.add_state("serving", blocking=True)
        behav.add_transit("serving", "serving", action="pong", ready=False)
        behav.save(os.path.join(self.world_folder, "hub.json"), only_if_changed=Hub(proc=None))
"""

WORKER_PY = """
from unaiverse.agent import Agent, action


class WAgent(Agent):
    @action
    async def hub_known(self) -> bool:
        return len(self.get_agents_by_role("hub")) > 0

    @action
    async def ping_hub(self) -> bool:
        hubs = self.get_agents_by_role("hub")
        return await self.send(action_name="pong", target=hubs[:1]) if hubs else False
"""

HUB_PY = """
from unaiverse.agent import Agent, action
from unaiverse.interaction import Interaction


class WAgent(Agent):
    served = 0

    @action
    async def pong(self, interaction: Interaction | None = None) -> bool:
        type(self).served += 1
        return True
"""

STATS_PY = """
from unaiverse.stats import Stats


class WStats(Stats):
    pass
"""

RUN_W = """from src.world import WWorld
from unaiverse.networking.node.node import Node

node = Node(WWorld(), node_name="BenchWorld", hidden=True)
node.run()
"""

RUN_AGENT = """from unaiverse.agent import Agent
from unaiverse.networking.node.node import Node

node = Node(Agent(proc=None), node_name="{name}", hidden=True, send_stats_every=1.0)
node.run(join_world="BenchWorld")
"""


def make_world(folder: Path, n_workers: int) -> Path:
    """Writes a benchmark world with ``n_workers`` workers and one hub into ``folder``."""
    (folder / "src").mkdir(parents=True)
    for name, text in {
        "world.py": WORLD_PY,
        "worker.py": WORKER_PY,
        "hub.py": HUB_PY,
        "stats.py": STATS_PY,
        "__init__.py": "",
    }.items():
        (folder / "src" / name).write_text(text)
    (folder / "run_w.py").write_text(RUN_W)
    (folder / "run_0000.py").write_text(RUN_AGENT.format(name="Hub"))
    for i in range(1, n_workers + 1):
        (folder / f"run_{i:04d}.py").write_text(RUN_AGENT.format(name=f"Worker{i:04d}"))
    return folder


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its reaped children so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def bench(
    n_workers: int,
    ticks: int,
    tick_ms: float,
    fast_stats: bool = True,
    fast_paths: bool = True,
    processes: int = 0,
    tuned_gc: bool = True,
) -> dict:
    """Runs the benchmark world once; ``fast_stats=False``: with unaiverse's own stats path;
    ``fast_paths=False``: without the runtime's fast paths; ``processes`` > 0: as local processes in lockstep,
    the agents in that many; ``tuned_gc=False``: with the interpreter's collector thresholds."""
    from wmverse.runtime import RuntimeConfig, run_world
    from wmverse.runtime import fast_paths as fast_paths_module
    from wmverse.runtime import fast_stats as fast_stats_module
    from wmverse.runtime.collector import GC_VAR
    from wmverse.runtime.processes import run_processes
    from wmverse.runtime.scheduler import Runtime

    loop_cpu = []
    real_run = Runtime.run

    async def timed_run(self):  # the ticking loop's CPU time (run_world reports its wall time)
        started = time.process_time()
        try:
            return await real_run(self)
        finally:
            loop_cpu.append(time.process_time() - started)

    collecting = {"since": 0.0, "total": 0.0}

    def on_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            collecting["since"] = time.perf_counter()
        else:
            collecting["total"] += time.perf_counter() - collecting["since"]

    was_enabled, paths_were_enabled = fast_stats_module.ENABLED, fast_paths_module.ENABLED
    gc_was = os.environ.get(GC_VAR)
    if not tuned_gc:
        os.environ[GC_VAR] = "0"
    gc.callbacks.append(on_gc)
    Runtime.run = timed_run
    fast_stats_module.ENABLED = fast_stats
    fast_paths_module.ENABLED = fast_paths
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = make_world(Path(tmp) / f"bench{n_workers}", n_workers)
            config = RuntimeConfig(
                seed=0, max_steps=ticks, tick_ms=tick_ms, quiet=True, out_dir=Path(tmp) / "out"
            )
            started, cpu_started = time.perf_counter(), _cpu_with_children()
            if processes > 0:
                result = run_processes(folder, config, processes=processes, write=lambda _line: None)
            else:
                result = run_world(folder, config)
            total = time.perf_counter() - started
            all_cpu = _cpu_with_children() - cpu_started
    finally:
        gc.callbacks.remove(on_gc)
        if gc_was is None:
            os.environ.pop(GC_VAR, None)
        else:
            os.environ[GC_VAR] = gc_was
        Runtime.run = real_run
        fast_stats_module.ENABLED = was_enabled
        fast_paths_module.ENABLED = paths_were_enabled
    if result.exit_code != 0:
        raise SystemExit(f"benchmark world failed: {result.error}")
    cpu = all_cpu if processes > 0 else loop_cpu[0]
    return {
        "stats": "fast" if fast_stats else "unaiverse",
        "paths": "on" if fast_paths else "off",
        "procs": processes,
        "gc": "tuned" if tuned_gc else "python",
        "gc_s": collecting["total"],
        "loop_cpu_s": cpu,
        "ticks_per_cpu_s": result.steps / cpu,
        "agents": n_workers,
        "ticks": result.steps,
        "sim_s": result.sim_seconds,
        "load_s": result.load_wall_s,
        "loop_s": result.loop_wall_s,
        "total_s": total,
        "messages": result.messages,
        "ticks_per_s": result.steps / result.loop_wall_s,
        "sim_per_wall": result.sim_seconds / result.loop_wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--agents", type=int, nargs="+", default=[7, 50, 200, 1000], help="worker agents per world"
    )
    parser.add_argument("--ticks", type=int, default=200, help="ticks per run")
    parser.add_argument("--tick-ms", type=float, default=100.0, help="synthetic ms per tick")
    parser.add_argument(
        "--stats",
        choices=["fast", "unaiverse", "both"],
        default="fast",
        help="the world's stats path: the runtime's fast one, unaiverse's own, or both (before/after)",
    )
    parser.add_argument(
        "--fast-paths",
        choices=["on", "off", "both"],
        default="on",
        help="the runtime's fast paths for unaiverse's hot functions: on, off, or both (off then on)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[0, os.cpu_count() or 1],
        help="0: one process (run_synch.py); K > 0: the agents in K local processes (run_asynch.py "
        "--processes K); default: 0 and the cores",
    )
    parser.add_argument(
        "--gc",
        choices=["tuned", "python", "both"],
        default="tuned",
        help="the collector's thresholds during a run: the runtime's, the interpreter's, or both (python first)",
    )
    args = parser.parse_args()
    if any(k < 0 for k in args.processes):
        parser.error("--processes takes integers >= 0")
    stats_paths = {"fast": [True], "unaiverse": [False], "both": [False, True]}[args.stats]
    fast_paths = {"on": [True], "off": [False], "both": [False, True]}[args.fast_paths]
    collectors = {"tuned": [True], "python": [False], "both": [False, True]}[args.gc]
    print(
        f"runtime benchmark: {args.ticks} ticks of {args.tick_ms:g} ms, hub + N workers, wire encoding on; "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs (shared machine: figures are approximate)"
    )
    print(
        f"{'agents':>6} {'procs':>5} {'stats':>9} {'paths':>5} {'gc':>6} {'ticks':>6} {'sim s':>7} {'load s':>7} {'loop s':>7} {'messages':>9} "
        f"{'ticks/s':>8} {'sim s/wall s':>12} {'loop cpu s':>10} {'ticks/cpu s':>11} {'gc s':>6}"
    )
    for n in args.agents:
        runs = [
            (f, p, c, k) for f in stats_paths for p in fast_paths for c in collectors for k in args.processes
        ]
        for fast, paths_on, tuned, k in runs:
            r = bench(n, args.ticks, args.tick_ms, fast, paths_on, processes=k, tuned_gc=tuned)
            print(
                f"{r['agents']:>6} {r['procs']:>5} {r['stats']:>9} {r['paths']:>5} {r['gc']:>6} {r['ticks']:>6} {r['sim_s']:>7.1f} {r['load_s']:>7.2f} "
                f"{r['loop_s']:>7.2f} {r['messages']:>9} {r['ticks_per_s']:>8.1f} {r['sim_per_wall']:>12.2f} "
                f"{r['loop_cpu_s']:>10.2f} {r['ticks_per_cpu_s']:>11.1f} {r['gc_s']:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
