"""A served lockstep world (``run_w.py --lockstep 2``) holds its tick while a joined process that was killed is
started again with ``--journal DIR --resume``: the process replays its journal, resumes, and the world's stats
equal those of an undisturbed run. The tiny world, made endless, runs 300 ticks over libp2p on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "resume-test-token-0123456789"


def _endless(folder: Path) -> Path:
    world = folder / "src" / "world.py"
    text = world.read_text()
    finished = "return sum(len(v) for v in self.get_all_badges().values()) >= 1"
    assert finished in text
    world.write_text(text.replace(finished, "return False"))
    return folder


class _Proc:
    """A subprocess whose output is collected line by line."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if text in line:
                    return line
            assert time.monotonic() < end and self.proc.poll() is None, "".join(self.lines[-30:])
            time.sleep(0.01)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _serve(folder: Path, out: Path) -> _Proc:
    cmd = [
        sys.executable,
        str(ROOT / "run_w.py"),
        str(folder),
        "--port",
        "0",
        "--no-announce",
        "--token",
        TOKEN,
    ]
    cmd += [
        "--lockstep",
        "2",
        "--max-steps",
        "300",
        "--out",
        str(out),
        "--db",
        "none",
        "--tick-timeout",
        "60",
        "--identity",
        str(out / "world-key"),  # each run its own world peer (the two runs go at the same time)
    ]
    return _Proc(cmd)


def _join(folder: Path, where: str, scripts: list[str], key: Path, journal: Path, *extra: str) -> _Proc:
    cmd = [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", where, "--token", TOKEN]
    cmd += ["--identity", str(key), "--journal", str(journal), "--checkpoint-every", "0.5", "--quiet"]
    cmd += ["--hub-timeout", "60", "--connect-timeout", "60", *extra, *(str(folder / s) for s in scripts)]
    return _Proc(cmd)


def _outputs(procs: list[_Proc]) -> str:
    """The last lines of every process, for a failure's message."""
    return "".join(f"--- {p.proc.args[-1]} (exit {p.proc.poll()}):\n{p.text[-2500:]}\n" for p in procs)


def _wait_all(procs: list[_Proc], timeout: float) -> None:
    """Waits until every process exited 0; fails as soon as one exits otherwise, or at the timeout (a world
    whose joiner died waits for it: polling all of them names the one that failed)."""
    end = time.monotonic() + timeout
    while any(p.proc.poll() is None for p in procs):
        failed = [p for p in procs if p.proc.poll() not in (None, 0)]
        assert not failed, f"{failed[0].proc.args[-1]} exited {failed[0].proc.poll()}"
        assert time.monotonic() < end, f"still running after {timeout:g} s"
        time.sleep(0.05)
    assert all(p.proc.returncode == 0 for p in procs), [p.proc.returncode for p in procs]


def _run(folder: Path, out: Path, kill_alice: bool) -> _Proc:
    world = _serve(folder, out)
    where = world.wait_for("--world TinyWorld@").split("--world ")[1].split(")")[0].strip()
    keys, journals = out / "keys", out / "journals"
    first = _join(folder, where, ["run_1.py", "run_3.py"], keys / "a", journals / "a")
    alice = _join(folder, where, ["run_2.py"], keys / "b", journals / "b")
    procs = [world, first, alice]
    try:
        if kill_alice:
            world.wait_for("world greeted Alice")
            alice.proc.send_signal(signal.SIGKILL)
            alice.proc.wait(10)
            again = _join(folder, where, ["run_2.py"], keys / "b", journals / "b", "--resume")
            procs.append(again)
            world.wait_for("agent process run_2.py resumed at tick", timeout=90)
        _wait_all([p for p in procs if p is not alice or not kill_alice], 180)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n" + _outputs(procs)) from None
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.kill()
    return world


def _canonical(value):
    """A stat value with its lists of names sorted: processes join a served world in any order, so the world's
    graph lists neighbours in that order (two undisturbed runs differ there too)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def _stats(rows):
    dynamic = rows["dynamic_stats"]
    static = sorted(
        (r[0], r[1], json.dumps(_canonical(json.loads(r[2])), sort_keys=True), r[3])
        for r in rows["static_stats"]
    )
    return dynamic, static


@pytest.fixture(scope="module")
def undisturbed(tiny_module, tmp_path_factory) -> tuple[Path, _Proc]:
    """The endless tiny world served and joined, undisturbed, once for the module: ``(out folder, its world)``.
    It runs alone, before the tests' own runs: three interpreters at a time on a 2-core machine."""
    out = tmp_path_factory.mktemp("undisturbed") / "whole"
    return out, _run(_endless(tiny_module), out, kill_alice=False)


def test_a_killed_joiner_resumes_from_its_journal_and_the_world_runs_as_undisturbed(
    tiny, tmp_path, db_rows, undisturbed
):
    whole_out, whole = undisturbed
    held = _run(_endless(tiny), tmp_path / "killed", kill_alice=True)
    assert (
        "run ended by max_steps: 300 ticks" in whole.text and "run ended by max_steps: 300 ticks" in held.text
    )
    assert "replays its journal to resume at tick" in held.text
    killed, whole_rows = (
        db_rows(tmp_path / "killed" / "world_stats.db"),
        db_rows(whole_out / "world_stats.db"),
    )
    assert len(killed["dynamic_stats"]) > 100
    assert _stats(killed) == _stats(whole_rows)


def test_resume_without_a_journal_is_refused_before_joining(tiny, tmp_path):
    cmd = [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", "TinyWorld"]
    cmd += ["--resume", str(tiny / "run_2.py")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--resume needs --journal" in done.stderr


def test_a_killed_served_world_resumes_and_its_joiners_come_back_to_an_undisturbed_run(
    tiny, tmp_path, db_rows, undisturbed
):
    """run_w.py (lockstep, two joiner processes with journals) killed with SIGKILL mid-run, then started again
    with ``--resume`` on the same port, identity and token: the joiners notice the lost world, rejoin by
    themselves with the same identities, get their old ranks back, replay their journals up to their newest
    checkpoints, and the run ends with the world's stats of an undisturbed run."""
    whole_out, whole = undisturbed
    folder = _endless(tiny)
    out = tmp_path / "killed"
    world = _serve(folder, out)
    address = world.wait_for("--world TinyWorld@").split("--world ")[1].split(")")[0].strip()
    port = address.split("@")[1].split("/")[0].rsplit(":", 1)[1]
    keys, journals = out / "keys", out / "journals"
    joiners = [
        _join(folder, address, ["run_1.py", "run_3.py"], keys / "a", journals / "a"),
        _join(folder, address, ["run_2.py"], keys / "b", journals / "b"),
    ]
    again = None
    try:
        world.wait_for("world greeted Alice", timeout=240)  # three interpreters start at once: give them time
        time.sleep(1.0)  # a few more ticks: the joiners checkpoint every 0.5 simulated s
        first_ranks = json.loads((out / "ranks.json").read_text())
        world.proc.send_signal(signal.SIGKILL)
        world.proc.wait(10)
        assert "run ended" not in world.text
        again = _Proc([*world.proc.args, "--port", port, "--resume"])  # the same command, the same port
        again.wait_for("resuming the run: the world runs again from tick 0", timeout=120)
        _wait_all([*joiners, again], 210)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n" + _outputs([world, *joiners, *([again] if again else [])])) from None
    finally:
        for p in [world, *joiners, *([again] if again else [])]:
            if p.proc.poll() is None:
                p.proc.kill()
    assert (
        "run ended by max_steps: 300 ticks" in whole.text
        and "run ended by max_steps: 300 ticks" in again.text
    )
    for joiner in joiners:
        assert "join: rejoining in" in joiner.text
        assert "resuming from ckpt-" in joiner.text and "resumed at tick" in joiner.text, joiner.text[-3000:]
    ranks = json.loads((out / "ranks.json").read_text())
    assert len(ranks) == 2 and ranks == first_ranks  # the same two peers, with the ranks of the killed run
    killed, whole_rows = db_rows(out / "world_stats.db"), db_rows(whole_out / "world_stats.db")
    assert len(killed["dynamic_stats"]) > 100
    assert _stats(killed) == _stats(whole_rows)
