"""Learners in child processes (``agents.learner_process``) and the background lanes that run them side by side.

Inside ``background.lanes()`` (as in ``run_synch.py``) a ``LearnerProcessor`` runs its runner in a child
process (forked or spawned): its replies, checkpoint and resume must be those of the same learner on a thread, float for
float; failures come back named; the child goes with the lanes. Lanes run their jobs at the same time (a
barrier two jobs wait at would time out in one lane), one lane's jobs in order.
"""

import os
import signal
import threading
import time

import pytest
import torch

from agents.learner import LearnerProcessor
from agents.learner_process import RunnerProcess
from wmverse.runtime import background
from worlds.training.src.learner_plans import learner_spec

torch.set_num_threads(1)

#: Tiny learners (as in tests/test_agent_checkpoints.py).
TINY_ENV = {
    "WMVERSE_SEED": "3",
    "WMVERSE_LEWORLD_EPOCHS": "2,2,2",
    "WMVERSE_LEWORLD_SEQUENCES": "16,8",
    "WMVERSE_CANVAS_STEPS": "3,3,3",
    "WMVERSE_DYNAMICS_STEPS": "2,40",
    "WMVERSE_DYNAMICS_WARMUP": "30,10",
    "WMVERSE_DYNAMICS_EVAL_EPISODES": "1",
}
KINDS = ("leworld", "canvas", "dynamics")


def _plan(kind: str):
    spec = learner_spec(kind, TINY_ENV)
    return spec.plan(), spec.config_payload()


def _same(a, b, path="state") -> None:
    """``b`` equals ``a``: containers, keys, scalars and tensors bitwise (wall times aside)."""
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            if k != "plan_s":
                _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif hasattr(a, "shape"):
        assert (a == b).all(), path
    elif isinstance(a, float) and a != a:
        assert b != b, path
    else:
        assert a == b, path


@pytest.fixture(scope="module")
def threaded() -> dict[str, tuple[list[dict], dict]]:
    """Each kind on a thread of this process (lanes off): its replies and its end state."""
    out = {}
    for kind in KINDS:
        plan, payload = _plan(kind)
        proc = LearnerProcessor(kind)
        assert proc.lane is None
        replies = [proc.run_request(s.action, s.args, payload) for s in plan]
        out[kind] = replies, proc.checkpoint_state()
    return out


def test_learners_in_forked_processes_answer_as_on_a_thread(threaded):
    """All three kinds at once, each in a forked child (as run_synch.py starts them): the same replies and the
    same end state, bit for bit; the lanes' end stops the children."""
    with background.lanes(start_method="fork"):
        procs = {kind: LearnerProcessor(kind) for kind in KINDS}
        for kind, proc in procs.items():
            assert proc.lane is not None and isinstance(proc._process, RunnerProcess)
            plan, payload = _plan(kind)
            replies = [proc.run_request(s.action, s.args, payload) for s in plan]
            assert proc.runner.pid != os.getpid()
            reference, end = threaded[kind]
            _same(reference, replies, kind)
            state = proc.checkpoint_state()
            assert set(state["runner"]) == {"runner", "rngs"}
            _same(end["runner"], state["runner"]["runner"], f"{kind} end state")
        children = [p.runner._process for p in procs.values()]
        assert all(c.is_alive() for c in children)
    for child in children:
        child.join(10)
        assert not child.is_alive()


def test_a_spawned_learner_resumes_from_a_checkpoint_as_on_a_thread(threaded):
    """A fresh interpreter (spawn: nothing inherited) checkpointed after the first request; a fresh processor
    (another child) restored from it gives the remaining replies and the same end state."""
    plan, payload = _plan("dynamics")
    reference, end = threaded["dynamics"]
    with background.lanes(start_method="spawn"):
        proc = LearnerProcessor("dynamics")
        replies = [proc.run_request(plan[0].action, plan[0].args, payload)]
        state = proc.checkpoint_state()
        replies += [proc.run_request(s.action, s.args, payload) for s in plan[1:]]
        fresh = LearnerProcessor("dynamics")
        fresh.restore_checkpoint_state(state)
        assert fresh.runner.pid not in (proc.runner.pid, os.getpid())
        resumed = [fresh.run_request(s.action, s.args, payload) for s in plan[1:]]
        _same(reference, replies, "replies")
        _same(reference[1:], resumed, "resumed replies")
        _same(end["runner"], fresh.checkpoint_state()["runner"]["runner"], "resumed end state")


def test_a_failing_request_raises_here_as_it_would_on_a_thread():
    plan, payload = _plan("leworld")
    on_thread = LearnerProcessor("leworld")
    with pytest.raises(ValueError) as expected:
        on_thread.run_request("teleport", {}, payload)
    with background.lanes(start_method="fork"):
        apart = LearnerProcessor("leworld")
        with pytest.raises(ValueError) as raised:
            apart.run_request("teleport", {}, payload)
        assert str(raised.value) == str(expected.value)
        with pytest.raises(ValueError, match="unknown leworld learner setting"):
            LearnerProcessor("leworld").run_request(plan[0].action, plan[0].args, {**payload, "x": 1})


def test_a_killed_learner_process_is_named_not_waited_for():
    plan, payload = _plan("leworld")
    with background.lanes(start_method="fork"):
        proc = LearnerProcessor("leworld")
        proc.run_request(plan[0].action, plan[0].args, payload)
        os.kill(proc.runner.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"the leworld learner's process ended \(exit code -9\)"):
            proc.run_request(plan[1].action, plan[1].args, payload)
        assert time.monotonic() - started < 5


def test_lanes_run_side_by_side_and_each_lane_in_order():
    barrier = threading.Barrier(2, timeout=10)
    order: list[tuple[str, int]] = []

    def job(lane: str, k: int) -> str:
        if k == 0:
            barrier.wait()  # both lanes' first jobs must be running at once to pass
        order.append((lane, k))
        return threading.current_thread().name

    with background.lanes():
        assert background.lanes_enabled()
        jobs = [background.submit_in(lane, job, lane, k) for k in range(3) for lane in ("a", "b")]
        names = [j.result(20) for j in jobs]
    assert [k for lane, k in order if lane == "a"] == [0, 1, 2]
    assert [k for lane, k in order if lane == "b"] == [0, 1, 2]
    assert len(set(names[0::2])) == 1 and len(set(names[1::2])) == 1 and names[0] != names[1]
    assert not background.lanes_enabled()
    # lanes off: every job in the one default lane, one at a time (a barrier of two would time out)
    lone = background.submit_in("a", threading.current_thread)
    assert lone.result(10).name.startswith("wmverse-background")


def test_the_setting_turns_the_processes_off_and_is_checked(monkeypatch):
    monkeypatch.setenv(background.LANES_VAR, "0")
    with background.lanes():
        assert not background.lanes_enabled()
        proc = LearnerProcessor("leworld")
        assert proc.lane is None and proc._process is None
    monkeypatch.setenv(background.LANES_VAR, "yes")
    with pytest.raises(ValueError, match="WMVERSE_LEARNER_PROCESSES must be 0 or 1, got 'yes'"):
        background.lanes_setting()


def test_run_synch_refuses_a_bad_setting_before_running(monkeypatch, capsys, tmp_path):
    from wmverse.runtime.cli import main

    monkeypatch.setenv(background.LANES_VAR, "2")
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "WMVERSE_LEARNER_PROCESSES must be 0 or 1, got '2'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

    from wmverse.cli import main as wmverse_main

    script = tmp_path / "run_agent.py"
    script.write_text("")
    assert wmverse_main(["runtime", "join", "--world", "NoSuchWorld", str(script)]) == 2  # before any lookup
    assert "join: WMVERSE_LEARNER_PROCESSES must be 0 or 1, got '2'" in capsys.readouterr().err
