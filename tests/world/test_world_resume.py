"""The training world (every learner, tiny sizes) killed with SIGKILL and resumed with ``--resume`` ends exactly
as an uninterrupted run: summary (allocations, validation, badges), every row of the world's stats database,
and every stat point, transition and badge of the run store (wall-clock columns aside).

Three kill points: early (after the first checkpoint), mid-debate (after epoch 1's resolution) and during a
learner's request (LeWorld's background job seen running on a thread of the process). The same for
``run_asynch.py --restart-agents 1``: LeWorld's agent process killed while its job runs is started again by
its parent, replays its journal and resumes; the run ends as the undisturbed one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from wmverse.runtime.stats_db import rows as db_rows
from worlds.training.src.config import DEFAULT_WORLD_FOLDER as WORLD

REPO = WORLD.parents[1]
ENV = {
    "WMVERSE_SEED": "0",
    "WMVERSE_JUDGE": "embedding",
    "WMVERSE_EPOCHS": "3",
    "WMVERSE_TRAIN_CONVERGENCE_THRESHOLD": "1.0",
    "WMVERSE_TRAIN_PATIENCE": "1",
    "WMVERSE_LEWORLD_EPOCHS": "1,1,1",
    "WMVERSE_LEWORLD_SEQUENCES": "16,8",
    "WMVERSE_CANVAS_STEPS": "3,2,3",
    "WMVERSE_DYNAMICS_STEPS": "1,40",
    "WMVERSE_DYNAMICS_WARMUP": "30,10",
    "WMVERSE_DYNAMICS_EVAL_EPISODES": "1",
}
KILL_AT = {
    "early": "checkpoint ckpt-000000003.wmc written",
    "mid-debate": "[world] epoch 1/3",
    "learner-request": "LearnerLeWorld: 🔎",  # then killed once a job runs (see _job_running)
}


def _running(pid: int, skip_main: bool) -> bool:
    """A thread of ``pid`` (other than its main thread with ``skip_main``) is running."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return False
    for task in tasks:
        if skip_main and int(task) == pid:
            continue
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "R":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            continue
    return False


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _job_running(pid: int) -> bool:
    """A background learner job runs in ``pid``: on a thread other than its main thread (lanes off, or the
    main thread waiting for it), or in a learner's child process (``agents.learner_process``)."""
    return _running(pid, skip_main=True) or any(_running(c, skip_main=False) for c in _children(pid))


def _kill_during_job(pid: int, timeout: float = 120.0) -> None:
    """SIGKILLs ``pid`` once a background job has been seen running in it twice in a row."""
    end, seen = time.monotonic() + timeout, 0
    while time.monotonic() < end:
        seen = seen + 1 if _job_running(pid) else 0
        if seen >= 2:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.003)
    raise AssertionError(f"no background job seen running in process {pid} within {timeout} s")


def _cmd(out, *extra):
    return [
        sys.executable,
        "run_synch.py",
        str(WORLD),
        "--out",
        str(out),
        "--db",
        f"sqlite:///{out}/runs.db",
        *extra,
    ]


def _env(cache):
    return {**os.environ, **ENV, "WMVERSE_CACHE_DIR": str(cache)}


def _summary(stdout: str) -> str:
    start = stdout.index("TRAINING WORLD SUMMARY")
    return stdout[start : stdout.index("stats database:", start)]


def _store(out):
    """Every stat point, transition and badge of the one run in ``out``'s store, without wall-clock columns."""
    from wmverse import runs

    db = f"sqlite:///{out}/runs.db"
    listed = runs.list_runs(db)
    run_id = int(listed["id"].max())
    wall = {"id", "run_id", "wall_time", "created", "recorded_at", "started", "ended", "awarded_wall"}

    def clean(frame):
        keep = [c for c in frame.columns if c not in wall]
        return sorted(map(repr, frame[keep].itertuples(index=False)))

    return {
        "points": clean(runs.points(run_id, db=db)),
        "transitions": clean(runs.transitions(run_id, db=db)),
        "badges": clean(runs.badges(run_id, db=db)),
    }


def _kill_when(cmd, env, pattern: str, timeout: float = 240.0) -> str:
    """Runs ``cmd``; SIGKILLs it as soon as a line contains ``pattern``; returns its output up to then."""
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen: list[str] = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            seen.append(line)
            if pattern in line:
                if pattern == KILL_AT["learner-request"]:
                    _kill_during_job(proc.pid)
                else:
                    os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()
    text = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, (
        f"not killed at {pattern!r} (exit {proc.returncode}):\n{text[-3000:]}"
    )
    return text


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    out = base / "whole"
    done = subprocess.run(
        _cmd(out, "--quiet"), cwd=REPO, env=_env(base / "cache"), capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base, out, done.stdout


@pytest.fixture(scope="module")
def killed_and_resumed(uninterrupted) -> dict[str, Future]:
    """The three kill points at once (independent runs; mostly start-up and learner time): each run killed,
    then resumed; ``(out folder, resumed run)`` per point."""
    base = uninterrupted[0]
    env = _env(base / "cache")

    def one(point: str) -> tuple[Path, subprocess.CompletedProcess]:
        out = base / point
        _kill_when(_cmd(out, "--checkpoint-every", "0.1"), env, KILL_AT[point])
        assert list((out / "checkpoints").glob("ckpt-*.wmc")), f"{point}: no checkpoint before the kill"
        resumed = subprocess.run(
            _cmd(out, "--checkpoint-every", "0.1", "--resume", "--quiet"),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return out, resumed

    pool = ThreadPoolExecutor(len(KILL_AT))
    futures = {point: pool.submit(one, point) for point in sorted(KILL_AT)}
    pool.shutdown(wait=True)
    return futures


@pytest.mark.parametrize("point", sorted(KILL_AT))
def test_killed_and_resumed_run_equals_the_uninterrupted_one(uninterrupted, killed_and_resumed, point):
    _, whole, whole_stdout = uninterrupted
    out, resumed = killed_and_resumed[point].result()
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming from ckpt-" in resumed.stdout and "resumed at tick" in resumed.stdout
    assert _summary(resumed.stdout) == _summary(whole_stdout)
    assert db_rows(out / "world_stats.db") == db_rows(whole / "world_stats.db")
    assert _store(out) == _store(whole)


def _asynch(out, *extra):
    return [
        sys.executable,
        "run_asynch.py",
        str(WORLD),
        "--out",
        str(out),
        "--db",
        f"sqlite:///{out}/runs.db",
        "--restart-agents",
        "1",
        "--checkpoint-every",
        "0.1",
        *extra,
    ]


@pytest.fixture(scope="module")
def asynch_whole(uninterrupted):
    """The same world as local processes (run_asynch.py, checkpointing), undisturbed: its output folder and run."""
    base = uninterrupted[0]
    whole = subprocess.run(
        _asynch(base / "asynch-whole", "--quiet"),
        cwd=REPO,
        env=_env(base / "cache"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    return base / "asynch-whole", whole


def test_an_agent_process_killed_during_its_request_resumes_and_the_run_is_undisturbed(
    uninterrupted, asynch_whole
):
    base = uninterrupted[0]
    env = _env(base / "cache")
    _, whole = asynch_whole
    out = base / "asynch-killed"
    proc = subprocess.Popen(
        _asynch(out), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        end = time.monotonic() + 60
        while "(LearnerLeWorld)" not in "".join(lines) or "rank 7" not in "".join(lines):
            assert time.monotonic() < end and proc.poll() is None, "".join(lines[-20:])
            time.sleep(0.02)
        children = sorted(int(p) for p in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split())
        leworld = children[6]  # rank 7: run_leworld.py (children are forked in rank order)
        with open(f"/proc/{leworld}/cmdline", "rb") as cmdline:
            assert b"run_asynch.py" in cmdline.read()  # a forked child of this run
        _kill_during_job(leworld)
        assert proc.wait(240) == 0, "".join(lines[-40:])
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    text = "".join(lines)
    assert "hub: agent process run_leworld.py went away at tick" in text, text[-4000:]
    assert "run_leworld.py: replayed" in text and "hub: agent process run_leworld.py resumed" in text, text[
        -4000:
    ]
    assert _summary(text) == _summary(whole.stdout)
    assert db_rows(out / "world_stats.db") == db_rows(base / "asynch-whole" / "world_stats.db")
    assert _store(out) == _store(base / "asynch-whole")


def test_a_killed_run_of_local_processes_resumes_and_ends_as_the_undisturbed_one(uninterrupted, asynch_whole):
    """The whole of run_asynch.py killed (its parent: the children die with it) after the first epoch and the
    learners' first steps, then started again with ``--resume``: the world runs again from tick 0, each agent
    process replays its journal up to its newest checkpoint, and the run ends as the undisturbed one."""
    base = uninterrupted[0]
    env = _env(base / "cache")
    whole_out, whole = asynch_whole
    out = base / "asynch-whole-killed"
    text = _kill_when(_asynch(out), env, "[world] epoch 1/3")
    assert "TRAINING WORLD SUMMARY" not in text
    end = time.monotonic() + 60  # the children get SIGTERM when their parent dies, and stop
    while leftovers := subprocess.run(
        ["pgrep", "-f", "--", f"--out {out}"], capture_output=True
    ).stdout.split():
        assert time.monotonic() < end, f"agent processes outlived their killed parent: {leftovers}"
        time.sleep(0.1)
    journalled = sorted((out / "agents").glob("*/checkpoints/ckpt-*.wmc"))
    assert len({p.parent.parent.name for p in journalled}) == 11, (
        journalled
    )  # every agent process checkpointed
    resumed = subprocess.run(
        _asynch(out, "--resume", "--quiet"), cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming the run: the world runs again from tick 0" in resumed.stdout
    for script in ("run_leworld.py", "run_master.py", "run_curiosity.py"):
        assert (
            f"{script}: resuming from ckpt-" in resumed.stdout
            and f"{script}: resumed at tick" in resumed.stdout
        )
    assert "1 job(s) from the journal" in resumed.stdout  # a learner's step came from its journal
    assert _summary(resumed.stdout) == _summary(whole.stdout)
    assert db_rows(out / "world_stats.db") == db_rows(whole_out / "world_stats.db")
    assert _store(out) == _store(whole_out)


def test_a_checkpoint_written_after_its_tick_resumes_the_same_run(uninterrupted, tmp_path):
    """A checkpoint taken while a learner's step ran across ticks (deferred, in its own process) is written a
    few ticks later, with that learner's state after the step; resumed from it, the run ends as the
    uninterrupted one. (The learners' first steps build their models, far longer than a tick's wall time, so
    such checkpoints occur in every run.)"""
    import re
    import shutil

    base, _, whole_stdout = uninterrupted
    env = _env(base / "cache")
    first = tmp_path / "first"
    done = subprocess.run(
        _cmd(first, "--checkpoint-every", "0.1", "--keep", "100000"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    late = re.findall(r"checkpoint (ckpt-\d+\.wmc) written \(tick (\d+), written at tick (\d+)", done.stdout)
    assert late, "no checkpoint was written after its tick"
    name, tick, _ = late[len(late) // 2]
    again = tmp_path / "again"
    (again / "checkpoints").mkdir(parents=True)
    shutil.copy(first / "checkpoints" / name, again / "checkpoints" / name)
    resumed = subprocess.run(
        _cmd(again, "--resume", "--quiet"), cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resuming from {name}" in resumed.stdout and f"resumed at tick {int(tick)}" in resumed.stdout
    assert _summary(resumed.stdout) == _summary(whole_stdout)
