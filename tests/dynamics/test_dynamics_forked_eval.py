"""The evaluation split across forked copies of the process (``wmverse.dynamics.forked``): the same returns
and planner counters as one process, failures named, nothing left behind. Each check runs in a fresh
interpreter, where only its own thread is alive (a pytest process may hold other tests' threads, and then
nothing forks)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from agents.learners.dynamics import EVAL_WORKERS_VAR, eval_workers


def _run(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_split_evaluation_gives_the_returns_and_counters_of_one_process():
    out = _run(
        """
        import json, os
        import torch
        from wmverse.dynamics.agent import AgentConfig, DynamicsAgent
        from wmverse.dynamics.planner import PlannerConfig

        torch.set_num_threads(1)
        forks = []
        real_fork = os.fork
        def counting_fork():
            pid = real_fork()
            if pid:
                forks.append(pid)
            return pid
        os.fork = counting_fork
        config = AgentConfig(hidden_dim=64, ensemble_size=2, batch_size=16, warmup_steps=30, pretrain_steps=5,
                             planner=PlannerConfig(horizon=4, population=16, cem_iterations=2, enforce_budget=False),
                             imagination_steps=10)
        agent = DynamicsAgent(config)
        agent.run_steps(60)
        p = agent.planner
        out = {}
        for name, kwargs in [("one", {}), ("two", {"workers": 2}), ("three", {"workers": 3}),
                             ("alone", {"batched": False}), ("many", {"workers": 9})]:
            before = (p.decisions, p.replans, p.surprise_replans)
            returns = agent.evaluate(5, **kwargs)
            counted = [p.decisions - before[0], p.replans - before[1], p.surprise_replans - before[2]]
            out[name] = {"returns": returns, "counted": counted, "forks": len(forks)}
        print(json.dumps(out))
        """
    )
    one = out["one"]
    assert len(one["returns"]) == 5 and len(set(one["returns"])) > 1 and one["counted"][0] > 5
    for name in ("two", "three", "alone", "many"):
        assert out[name]["returns"] == one["returns"], name
        assert out[name]["counted"] == one["counted"], name  # the children's decisions counted here
    # forks: none for one share, 1 for two, 2 for three, none one at a time, 4 for nine (five episodes)
    assert [out[n]["forks"] for n in ("one", "two", "three", "alone", "many")] == [0, 1, 3, 3, 7]


def test_run_split_orders_results_names_failures_and_leaves_no_child():
    out = _run(
        """
        import json, os, threading
        from wmverse.dynamics.forked import can_fork, run_split

        def work(n):
            if n == 13:
                raise ValueError("thirteen")
            return [os.getpid(), n * n]

        me = os.getpid()
        out = {"can_fork": can_fork()}
        got = run_split(work, [1, 2, 3])
        out["squares"] = [r[1] for r in got]
        out["pids"] = [r[0] == me for r in got]
        try:
            run_split(work, [1, 13])
        except RuntimeError as exc:
            out["child_failure"] = str(exc)
        try:
            run_split(work, [13, 2, 3])
        except ValueError as exc:
            out["own_failure"] = str(exc)
        real_fork, forks = os.fork, []
        def failing_fork():
            forks.append(1)
            if len(forks) == 2:
                raise OSError("no process left")
            return real_fork()
        fds = len(os.listdir("/proc/self/fd"))
        os.fork = failing_fork
        try:
            run_split(work, [1, 2, 3])
        except OSError as exc:
            out["fork_failure"] = [str(exc), len(os.listdir("/proc/self/fd")) == fds]
        os.fork = real_fork
        try:
            os.waitpid(-1, os.WNOHANG)
            out["children_left"] = True
        except ChildProcessError:
            out["children_left"] = False
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        out["with_a_thread"] = [can_fork(), [r[0] == me for r in run_split(work, [4, 5])]]
        stop.set()
        thread.join()
        print(json.dumps(out))
        """
    )
    assert out["can_fork"] is True
    assert out["squares"] == [1, 4, 9]
    assert out["pids"] == [True, False, False]  # the first share here, the others in forked children
    assert out["child_failure"] == "share 1 failed in its process: ValueError: thirteen"
    assert out["own_failure"] == "thirteen"
    assert out["fork_failure"] == ["no process left", True]  # raised, no pipe left open
    assert out["children_left"] is False  # every child waited for or killed, after every kind of failure
    assert out["with_a_thread"] == [False, [True, True]]  # another thread alive: both shares here


def test_eval_workers_reads_the_environment_and_refuses_bad_values():
    assert eval_workers({EVAL_WORKERS_VAR: "3"}) == 3
    assert eval_workers({}) == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "two", "1.5", "²"):  # "²": a digit to str.isdigit, not to int()
        with pytest.raises(ValueError, match=EVAL_WORKERS_VAR):
            eval_workers({EVAL_WORKERS_VAR: bad})


def test_a_bad_setting_fails_the_learner_when_it_is_built(monkeypatch):
    from agents.learners.dynamics import DynamicsLearnerConfig, DynamicsRunner

    monkeypatch.setenv(EVAL_WORKERS_VAR, "lots")
    with pytest.raises(ValueError, match=EVAL_WORKERS_VAR):
        DynamicsRunner(DynamicsLearnerConfig())
    monkeypatch.setenv(EVAL_WORKERS_VAR, "2")
    assert DynamicsRunner(DynamicsLearnerConfig()).eval_workers == 2


def test_contiguous_shares_cover_every_episode_once_in_order():
    from wmverse.dynamics.forked import contiguous_shares

    assert contiguous_shares(10, 3) == [range(0, 4), range(4, 7), range(7, 10)]
    assert contiguous_shares(2, 5) == [range(0, 1), range(1, 2)]  # never more shares than episodes
    assert contiguous_shares(4, 1) == [range(0, 4)]
    for n in range(1, 12):
        for k in range(1, 6):
            shares = contiguous_shares(n, k)
            assert [i for s in shares for i in s] == list(range(n))
            assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_the_cli_hands_its_eval_workers_to_the_evaluation(monkeypatch, capsys):
    import torch

    from wmverse.cli import main
    from wmverse.dynamics.agent import DynamicsAgent

    seen = []
    real = DynamicsAgent.evaluate

    def spy(self, episodes=10, **kwargs):
        seen.append(kwargs.get("workers"))
        return real(self, episodes, **kwargs)

    monkeypatch.setattr(DynamicsAgent, "evaluate", spy)
    threads = torch.get_num_threads()  # the CLI sets torch's thread count for its process
    args = ["dynamics", "train", "--backend", "mlp", "--seed", "2", "--max-env-steps", "40", "--eval-episodes", "3",
            "--warmup-steps", "30", "--population", "16", "--horizon", "4", "--hidden-dim", "16"]  # fmt: skip
    try:
        assert main([*args, "--eval-workers", "2"]) == 0
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)
    assert seen == [2, 1]
    returns = [line for line in capsys.readouterr().out.splitlines() if line.startswith("eval returns:")]
    assert len(returns) == 2 and returns[0] == returns[1]
    with pytest.raises(SystemExit) as bad:
        main([*args, "--eval-workers", "0"])
    assert bad.value.code == 2
