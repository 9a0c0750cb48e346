"""Thread discipline (threads per process) and background work off the clock."""

import asyncio
import threading
import time

import pytest
import torch

from wmverse.runtime import background
from wmverse.runtime.threads import THREADS_VAR, configure_threads, threads_for


def test_threads_share_the_cores_and_the_variable_wins(monkeypatch):
    monkeypatch.setattr("wmverse.runtime.threads.available_cores", lambda: 8)
    monkeypatch.setattr("wmverse.runtime.threads.DEFAULT_MAX_THREADS", 8)
    assert threads_for(1, {}) == 8 and threads_for(3, {}) == 2 and threads_for(20, {}) == 1
    monkeypatch.setattr("wmverse.runtime.threads.DEFAULT_MAX_THREADS", 1)
    assert threads_for(1, {}) == 1  # the default cap
    assert threads_for(1, {THREADS_VAR: "3"}) == 3
    for bad in ("0", "-2", "two"):
        with pytest.raises(ValueError, match=THREADS_VAR):
            threads_for(1, {THREADS_VAR: bad})


def test_configure_threads_limits_torch_and_exports_for_children():
    before = torch.get_num_threads()
    env = {THREADS_VAR: "1"}
    try:
        assert configure_threads(environ=env) == 1
        assert torch.get_num_threads() == 1
        assert env["OMP_NUM_THREADS"] == "1" and env["OPENBLAS_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(before)


def test_background_jobs_run_one_at_a_time_in_order_and_settle_waits_for_them():
    order, threads = [], set()

    def job(i):
        threads.add(threading.get_ident())
        time.sleep(0.05)
        order.append(i)
        return i * i

    jobs = [background.submit(job, i) for i in range(4)]
    beats = []

    async def beat():
        beats.append(1)

    waited = asyncio.run(background.settle(beat, every_s=0.02))
    assert waited >= 1 and all(j.done() for j in jobs) and not background.pending()
    assert order == [0, 1, 2, 3] and [j.result() for j in jobs] == [0, 1, 4, 9]
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert beats  # the heartbeat ran while the jobs were still going


def test_a_failing_job_keeps_its_exception_for_the_caller():
    def boom():
        raise RuntimeError("step failed")

    job = background.submit(boom)
    asyncio.run(background.settle())  # settling does not raise the job's error...
    assert job.done()
    with pytest.raises(RuntimeError, match="step failed"):  # ...its owner gets it
        job.result()


def test_a_deferred_lane_job_is_waited_for_only_from_its_due_time():
    release = threading.Event()

    def slow():
        release.wait(5)
        return "done"

    with background.lanes(True, "fork"):
        job = background.submit_in("lane-a", slow)
        assert background.defer(job, until_s=10.0)
        assert background.pending(now_s=9.5) == []  # not due: the clocks tick on without it
        assert background.pending(now_s=10.0 - background.DUE_EPS_S / 2) == [job]  # due (float slack)
        assert background.pending() == [job]  # e.g. before a checkpoint: every job
        assert asyncio.run(background.settle(now_s=9.0)) == 0 and not job.done()
        threading.Timer(0.2, release.set).start()
        assert asyncio.run(background.settle(now_s=10.0)) == 1 and job.result() == "done"  # due: waited for
        assert not background.is_due(10.0, 9.9) and background.is_due(10.0, 10.0)
        other = background.submit(lambda: 1)  # outside a lane: never deferred (it may share generators)
        assert not background.defer(other, until_s=99.0)
        asyncio.run(background.settle(now_s=0.0))
        assert other.done()


def test_wait_all_blocks_until_deferred_jobs_end():
    with background.lanes(True, "fork"):
        job = background.submit_in("lane-b", lambda: time.sleep(0.2) or 7)
        background.defer(job, until_s=1e9)
        background.wait_all()
        assert job.done() and job.result() == 7 and background.pending() == []


def test_after_lane_runs_behind_the_lanes_running_job_or_at_once_when_idle():
    order, release = [], threading.Event()

    def job():
        release.wait(5)
        order.append("job")

    with background.lanes(True, "fork"):
        running = background.submit_in("lane-c", job)
        behind = background.after_lane("lane-c", lambda: order.append("after") or len(order))
        assert not behind.done()  # queued behind the running job
        release.set()
        assert behind.result(5) == 2 and order == ["job", "after"] and running.done()
        idle = background.after_lane("lane-c", lambda: threading.get_ident())
        assert idle.done() and idle.result() == threading.get_ident()  # idle lane: at once, in this thread
