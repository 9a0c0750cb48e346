"""Faults of a world served over libp2p: an agent killed (and restarted), stopped, or cut off by a partition.

The tiny world is made to run until the test has seen what it checks (then it writes a stop file) and is
served in realtime (``run_w.py``, ``--max-steps`` only as a safety net); Asker and Bob join from
one process and Alice from another, whose faults the tests cause. Each run must end with a correct result
(the world ends when told, everyone exits 0) or with a non-zero exit that names the cause: never a
silent stall. The partition test needs root (network namespaces), as CI has.

The scenarios mostly wait (realtime ticks, timeouts, a partition), so they run at the same time in three
lanes, each on its own copy of the world (:func:`scenarios`). Each test checks its own scenario's outcome.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fault-test-token-0123456789"
TINY = Path(__file__).parent / "worlds" / "tiny"
#: Scenario name -> function(folder) that runs it and asserts its outcome (registered by @_scenario).
SCENARIOS: dict = {}
#: Seconds the partition lasts: five times the tick timeout (5 s), three times the joiners' hub timeout (8 s).
PARTITION_S = 25.0
#: Ticks (of 50 ms) after which a scenario's world gives up: a safety net, each scenario ends it earlier.
MAX_STEPS = 4000
#: Seconds between the starts of two lanes: a world and its two joiners take about 10 s of CPU to start.
LANE_STAGGER_S = 12.0


def _scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def _stoppable(tiny: Path) -> Path:
    """The tiny world made to run until the test creates ``tiny/STOP`` (then it ends "by world", exit 0): a
    scenario lasts as long as its events take, however slowly the processes start."""
    world = tiny / "src" / "world.py"
    text = world.read_text()
    finished = "return sum(len(v) for v in self.get_all_badges().values()) >= 1"
    assert finished in text
    world.write_text(text.replace(finished, f"return __import__('os').path.exists({str(tiny / 'STOP')!r})"))
    return tiny


def _stop(folder: Path) -> None:
    """A few more ticks with everyone back, then the world ends."""
    time.sleep(1.0)
    (folder / "STOP").touch()


class Served:
    """run_w.py in a subprocess, its output collected line by line."""

    def __init__(self, folder: Path, *args: str, prefix: list[str] | None = None) -> None:
        cmd = [sys.executable, str(ROOT / "run_w.py"), str(folder), "--port", "0", "--no-announce"]
        cmd += ["--token", TOKEN, "--tick-ms", "50", "--db", "none", *args]
        self.proc = subprocess.Popen(
            (prefix or []) + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None and not any(re.search(pattern, ln) for ln in self.lines):
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(self.lines[-30:]))

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _join(
    folder: Path, where: str, names: list[str], key: Path, *extra: str, prefix=None
) -> subprocess.Popen:
    scripts = [str(folder / n) for n in names]
    cmd = [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", where, "--token", TOKEN]
    cmd += [
        "--identity",
        str(key),
        "--quiet",
        "--hub-timeout",
        "8",
        "--connect-timeout",
        "60",
        *extra,
        *scripts,
    ]
    return subprocess.Popen((prefix or []) + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _start(folder: Path, host: str = "127.0.0.1", prefix_world=None, prefix_agents=None, **opts):
    args = ["--host", host, "--max-steps", str(opts.get("steps", MAX_STEPS)), "--tick-timeout", "5"]
    args += ["--rejoin-window", str(opts.get("window", 20))]
    world = Served(folder, *args, prefix=prefix_world)
    where = world.wait_for(r"--world (\S+@[^\s)]+)").group(1)
    keys = folder / "keys"
    first = _join(folder, where, ["run_1.py", "run_3.py"], keys / "a", prefix=prefix_agents)
    alice = _join(folder, where, ["run_2.py"], keys / "b", prefix=prefix_agents)
    world.wait_for(r"run_2\.py \(Alice\).*joined the run")
    world.wait_for(r"run_1\.py\+run_3\.py .*joined the run")
    return world, where, first, alice


def _finish(*procs: subprocess.Popen, timeout: float = 120.0) -> None:
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"a process did not end within {timeout} s (a stall)") from None


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, Future]:
    """Every scenario's outcome (a future), each run on its own copy of the world, in lanes of about the same
    length: the partition (where namespaces can be made); the stopped agent then the one that does not come
    back; the killed one. Each lane starts once the previous one's processes are up (their start-up is the
    CPU-heavy part)."""

    def run(name: str, outcome: Future) -> None:
        folder = tmp_path_factory.mktemp(name) / "tiny"
        shutil.copytree(
            TINY, folder, ignore=shutil.ignore_patterns("out", "pdf", "*.json", "__pycache__", "stats")
        )
        try:
            SCENARIOS[name](_stoppable(folder))
            outcome.set_result(None)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the scenario's own test
            outcome.set_exception(exc)

    def run_lane(names: list[str]) -> None:
        for name in names:
            run(name, futures[name])

    lanes = [["stopped", "gone"], ["killed"]]
    if _can_make_namespaces():
        lanes.insert(0, ["partition"])
    futures: dict[str, Future] = {name: Future() for lane in lanes for name in lane}
    for k, lane in enumerate(lanes):
        if k:
            time.sleep(LANE_STAGGER_S)
        threading.Thread(target=run_lane, args=(lane,), daemon=True).start()
    return futures


@_scenario
def killed(endless: Path) -> None:
    world, where, first, alice = _start(endless, window=60)  # a restart may take 20 s on a busy machine
    try:
        time.sleep(1.0)
        alice.send_signal(signal.SIGKILL)
        alice.wait(10)
        again = _join(endless, where, ["run_2.py"], endless / "keys" / "b")
        world.wait_for(r"Alice rejoined the run", timeout=90)
        _stop(endless)
        _finish(world.proc, first, again)
    finally:
        for proc in (world.proc, first, alice):
            proc.kill()
    assert world.proc.returncode == 0, world.text[-3000:]
    assert "run ended by world" in world.text
    assert first.returncode == 0 and again.returncode == 0, again.stdout.read()[-3000:] + world.text[-2000:]


@_scenario
def gone(endless: Path) -> None:
    world, _, first, alice = _start(endless, window=3)
    try:
        time.sleep(1.0)
        alice.send_signal(signal.SIGKILL)
        _finish(world.proc, first, timeout=60)
    finally:
        for proc in (world.proc, first, alice):
            proc.kill()
    assert world.proc.returncode == 1
    assert re.search(r"Alice left the run at tick \d+ and did not rejoin within 3 s", world.text), world.text[
        -2000:
    ]
    assert first.returncode == 1  # the joiner's exit code reflects the world's outcome


@_scenario
def stopped(endless: Path) -> None:
    world, _, first, alice = _start(endless, window=60)
    try:
        time.sleep(1.0)
        alice.send_signal(signal.SIGSTOP)
        world.wait_for(r"\(Alice\).*did not answer tick", timeout=30)  # the others go on after 5 s
        time.sleep(3.0)
        alice.send_signal(signal.SIGCONT)
        world.wait_for(r"Alice rejoined the run", timeout=60)
        _stop(endless)
        _finish(world.proc, first, alice)
    finally:
        for proc in (world.proc, first, alice):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
            proc.kill()
    assert world.proc.returncode == 0, world.text[-3000:]
    assert "run ended by world" in world.text
    assert first.returncode == 0 and alice.returncode == 0, alice.stdout.read()[-2000:]


def _can_make_namespaces() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@_scenario
def partition(endless: Path) -> None:
    tag = str(os.getpid() % 100000)
    world_ns, agents_ns, dev = f"wmvfw{tag}", f"wmvfa{tag}", f"wmvf{tag}"

    def sh(cmd: str) -> None:
        subprocess.run(["bash", "-c", cmd], check=True)

    sh(f"ip netns add {world_ns} && ip netns add {agents_ns}")
    try:
        sh(f"ip link add {dev}w type veth peer name {dev}a")
        sh(f"ip link set {dev}w netns {world_ns} && ip link set {dev}a netns {agents_ns}")
        for ns, end, addr in ((world_ns, "w", "10.79.0.1"), (agents_ns, "a", "10.79.0.2")):
            sh(
                f"ip netns exec {ns} ip link set lo up && ip netns exec {ns} ip addr add {addr}/24 dev {dev}{end}"
            )
            sh(f"ip netns exec {ns} ip link set {dev}{end} up")
        world, _, first, alice = _start(
            endless,
            host="10.79.0.1",
            window=60,
            prefix_world=["ip", "netns", "exec", world_ns],
            prefix_agents=["ip", "netns", "exec", agents_ns],
        )
        try:
            sh(f"ip netns exec {agents_ns} ip link set {dev}a down")
            time.sleep(PARTITION_S)
            sh(f"ip netns exec {agents_ns} ip link set {dev}a up")
            try:  # every agent back: end the run; else the world ends it, naming who did not come back
                for name in ("Alice", "Asker", "Bob"):
                    world.wait_for(rf"{name} rejoined the run", timeout=90)
                _stop(endless)
            except AssertionError:
                pass
            _finish(world.proc, first, alice, timeout=180)
        finally:
            for proc in (world.proc, first, alice):
                proc.kill()
    finally:
        subprocess.run(["bash", "-c", f"ip netns del {world_ns}; ip netns del {agents_ns}"], check=False)
    if world.proc.returncode == 0:
        assert "run ended by world" in world.text and "rejoined the run" in world.text
        assert first.returncode == 0 and alice.returncode == 0
    else:
        assert world.proc.returncode == 1
        assert re.search(r"left the run at tick \d+ and did not rejoin", world.text), world.text[-3000:]


def test_an_agent_killed_and_restarted_with_its_identity_rejoins_and_the_run_ends_well(scenarios):
    scenarios["killed"].result()


def test_an_agent_that_does_not_come_back_ends_the_run_naming_it(scenarios):
    scenarios["gone"].result()


def test_a_stopped_agent_is_dropped_and_rejoins_after_it_resumes(scenarios):
    scenarios["stopped"].result()


@pytest.mark.skipif(not _can_make_namespaces(), reason="network namespaces need root and iproute2")
def test_a_partition_past_every_timeout_ends_with_the_agent_back_or_a_named_failure(scenarios):
    scenarios["partition"].result()
