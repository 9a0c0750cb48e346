"""What a world wrote survives a SIGKILL of its process, and the next open marks that run 'killed'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

from sqlalchemy import update

from wmverse.store import RunStore
from wmverse.store.connect import process_alive
from wmverse.store.schema import runs

WRITER = textwrap.dedent(
    """
    import sys, time
    from wmverse.store import Point, RunStore, Transition

    store = RunStore.open(sys.argv[1])
    run_id = store.begin_run("training", 3, {"epochs": 30})
    store.add_node(run_id, "world", "world", "peer-w")
    for step in range(5):
        store.add_points(run_id, [Point(f"peer-{i}", "allocation", i / 10, step=step) for i in range(100)])
        store.add_transitions(run_id, [Transition("peer-0", "idle", "busy", "train", float(step))])
    print(run_id, flush=True)
    time.sleep(600)  # the test kills it here, with the store still open
    """
)


def test_points_survive_sigkill_and_the_run_is_marked_killed(db_url):
    RunStore.open(db_url).close()  # migrated before the child starts, so that only the child writes
    child = subprocess.Popen([sys.executable, "-c", WRITER, db_url], stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with RunStore.open(db_url) as store:
        run = store.run(run_id)
        assert run.status == "killed" and run.pid == child.pid
        points = store.points(run_id)
        assert len(points) == 500 and points["step"].max() == 4
        assert run.ended_at == datetime.fromtimestamp(points["wall_time"].max(), UTC)
        assert store.counts(run_id) == {
            "nodes": 1,
            "points": 500,
            "transitions": 5,
            "badges": 0,
            "message_counts": 0,
        }


def test_live_runs_and_other_hosts_runs_stay_running(store):
    mine = store.begin_run("w")  # this process: alive
    elsewhere = store.begin_run("w")
    with store._engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == elsewhere).values(host="another-host", pid=1))
    with RunStore.open(store.url) as again:
        assert again.run(mine).status == "running"
        assert again.run(elsewhere).status == "running"  # cannot tell from here


def test_a_reused_pid_is_not_the_run_s_process():
    assert process_alive(os.getpid(), datetime.now(UTC))
    if sys.platform == "linux":  # this process started after 2000: it cannot be a run begun then
        assert not process_alive(os.getpid(), datetime(2000, 1, 1, tzinfo=UTC))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not process_alive(dead.pid, datetime.now(UTC))
