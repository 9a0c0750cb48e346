"""Ticks per second of a world in one process (run_synch), as local processes (run_asynch, lockstep, over
inherited socket pairs) and served over unaiverse's libp2p layer (run_w.py --lockstep, the agents joined
from another process, or with ``--netns`` from another network namespace); and message round trips.

The tiny test world (an asker, two answerers, a world) is copied to a temporary folder and made endless
(``is_finished`` -> False) so that both runs tick exactly ``--ticks`` times; the difference of their loop
times divided by the ticks is the per-tick round trip of the process transport (the hub sends a tick
frame to each agent process and waits for its answer). With ``--training`` the training world
(``WMVERSE_LEARNERS=none WMVERSE_EPOCHS=3``) is also run end to end both ways (wall time, ticks).

``--rtt`` measures the round trip of one small message over a socket-pair channel and over two libp2p
endpoints (median and 99th percentile of 500 trips).

    python benchmarks/processes.py [--ticks 400] [--training] [--served] [--netns] [--rtt]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
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


def _served(folder: Path, ticks: int, netns: bool) -> tuple[float, float]:
    """(ticks per second, wall s) of the world served by run_w.py --lockstep 1, agents in one joiner."""
    token = "benchmark-token-0123456789"
    prefix: tuple[list[str], list[str]] = ([], [])
    host = "127.0.0.1"
    if netns:
        host = "10.78.0.1"
        prefix = (["ip", "netns", "exec", "wmvb-world"], ["ip", "netns", "exec", "wmvb-agents"])
        subprocess.run(["bash", "-c", _NETNS_UP], check=True)
    world = subprocess.Popen(
        prefix[0]
        + [sys.executable, str(ROOT / "run_w.py"), str(folder), "--host", host, "--port", "0"]
        + ["--lockstep", "1", "--max-steps", str(ticks), "--token", token, "--no-announce", "--db", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        where = None
        for line in world.stdout:
            found = re.search(r"--world (\S+@[^\s)]+)", line)
            if found:
                where = found.group(1)
                break
        if where is None:
            raise SystemExit("run_w.py printed no address")
        scripts = [str(p) for p in sorted(folder.glob("run_*.py")) if p.name != "run_w.py"]
        joiner = subprocess.Popen(
            prefix[1]
            + [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", where, "--token", token]
            + ["--quiet", *scripts],
            stdout=subprocess.DEVNULL,
        )
        started = None
        tail: list[str] = []
        for line in world.stdout:
            tail = (tail + [line])[-20:]
            if started is None and "joined the run" in line:
                started = time.perf_counter()
        world.wait()
        ended = time.perf_counter()
        joiner.wait(60)
        if world.returncode != 0 or started is None:
            raise SystemExit(f"served run failed (exit {world.returncode}):\n" + "".join(tail))
        return ticks / (ended - started), ended - started
    finally:
        world.kill()
        if netns:
            subprocess.run(["bash", "-c", _NETNS_DOWN], check=False)


_NETNS_UP = """
ip netns add wmvb-world && ip netns add wmvb-agents
ip link add wmvbw type veth peer name wmvba
ip link set wmvbw netns wmvb-world && ip link set wmvba netns wmvb-agents
ip netns exec wmvb-world ip addr add 10.78.0.1/24 dev wmvbw
ip netns exec wmvb-agents ip addr add 10.78.0.2/24 dev wmvba
for ns in wmvb-world wmvb-agents; do ip netns exec $ns ip link set lo up; done
ip netns exec wmvb-world ip link set wmvbw up && ip netns exec wmvb-agents ip link set wmvba up
"""
_NETNS_DOWN = "ip netns del wmvb-world; ip netns del wmvb-agents"


def _round_trips(trips: int = 500) -> dict[str, list[float]]:
    """Seconds per round trip of a small message: socket-pair channel and libp2p endpoints."""

    from wmverse.runtime.channels import PipeChannel
    from wmverse.runtime.p2p import P2PEndpoint

    async def ping_pong(a, b) -> list[float]:
        times = []
        for i in range(trips):
            t = time.perf_counter()
            await a.write({"type": "ping", "i": i}, [b"x" * 100])
            await b.read(10)
            await b.write({"type": "pong", "i": i})
            await a.read(10)
            times.append(time.perf_counter() - t)
        return times

    async def go() -> dict[str, list[float]]:
        left, right = socket.socketpair()
        a = PipeChannel(left, "a").start()
        b = PipeChannel(right, "b").start()
        pipes = await ping_pong(a, b)
        a.close()
        b.close()
        with tempfile.TemporaryDirectory() as tmp:
            server = P2PEndpoint(Path(tmp) / "s").start()
            client = P2PEndpoint(Path(tmp) / "c").start()
            accepted: list = []
            server.on_new_peer = accepted.append
            server.serve()
            chan = await client.connect(server.multiaddr())
            await chan.write({"type": "hello"})
            while not accepted:
                await asyncio.sleep(0.001)
            await accepted[0].read(10)
            p2p = await ping_pong(chan, accepted[0])
            await client.close()
            await server.close()
        return {"socket pair": pipes, "libp2p": p2p}

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticks", type=int, default=400, help="ticks of the endless tiny world (default 400)"
    )
    parser.add_argument("--training", action="store_true", help="also time the training world both ways")
    parser.add_argument("--served", action="store_true", help="also serve the tiny world over libp2p")
    parser.add_argument("--netns", action="store_true", help="serve it across two network namespaces (root)")
    parser.add_argument("--rtt", action="store_true", help="message round trips: socket pair vs libp2p")
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
        for flag, netns, label in ((args.served, False, "loopback"), (args.netns, True, "two namespaces")):
            if flag:
                rate, wall = _served(folder, args.ticks, netns)
                print(
                    f"  run_w.py over libp2p ({label}, 1 joiner process): {wall:7.3f} s -> {rate:8.1f} ticks/s"
                )
        if args.rtt:
            for name, times in _round_trips().items():
                ms = sorted(1000.0 * t for t in times)
                p99 = ms[int(0.99 * (len(ms) - 1))]
                print(f"  round trip, {name:11s}: median {statistics.median(ms):.3f} ms, p99 {p99:.3f} ms")
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
