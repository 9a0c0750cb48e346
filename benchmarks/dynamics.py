"""Throughput of the dynamics world model (run: python benchmarks/dynamics.py).

1. Vectorised ensemble (one batched matmul per layer) vs a Python loop over members.
2. Batched dream rollouts (1,000 sequences x horizon 10, one forward pass per step) vs the
   a loop of single dreams (one ``dream_rollout`` call per sequence, one forward per step).
3. Planner time per decision vs the 50 ms budget (with the learned terminal value where
   the agent uses one).
4. Evaluation of 10 episodes by the world's dynamics learner (trained as in the world, default
   config): one state at a time (``evaluate(batched=False)``, the reference) vs batched (all
   running episodes planned in one dream per step) vs batched in ``--eval-workers`` shares played at the
   same time in forked processes (``evaluate(workers=K)``), wall time and decisions per second, measured
   in the same run; all must give the same returns.
Timings are wall-clock medians on this machine's CPU (torch threads as printed).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time

import numpy as np
import torch
from torch import nn

from wmverse.cli_args import positive_int
from wmverse.dynamics import (
    DreamRolloutPlanner,
    PlannerConfig,
    PlanningMethod,
    TransitionBackend,
    build_world_model,
)
from wmverse.dynamics.testing import small_config
from wmverse.dynamics.value import TerminalValue


def _median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _looped_members(net) -> list[nn.Sequential]:  # type: ignore[no-untyped-def]
    """Independent nn.Sequential copies of each member (the 'naive' ensemble)."""
    members = []
    for m in range(net.members):
        layers: list[nn.Module] = []
        weights = net.member_weights(m)
        for i, (w, b) in enumerate(weights):
            lin = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w.T)
                lin.bias.copy_(b)
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(nn.SiLU())
        members.append(nn.Sequential(*layers))
    return members


def bench_ensemble(members: int, batch: int, hidden: int, repeats: int) -> None:
    cfg = small_config(
        TransitionBackend.ENSEMBLE, obs_dim=4, action_dim=2, ensemble_size=members, hidden_dim=hidden
    )
    net = build_world_model(cfg).net
    loop = _looped_members(net)
    x = torch.randn(batch, 6)
    with torch.no_grad():
        assert torch.allclose(net(x), torch.stack([m(x) for m in loop]), atol=1e-4)
        t_vec = _median_time(lambda: net(x), repeats)
        t_loop = _median_time(lambda: torch.stack([m(x) for m in loop]), repeats)
    print(f"  forward  E={members} batch={batch:5d} hidden={hidden}: vectorised {t_vec * 1e6:8.1f} us, "
          f"loop {t_loop * 1e6:8.1f} us  -> {t_loop / t_vec:5.1f}x")  # fmt: skip
    xe = torch.randn(members, batch, 6)
    params_loop = [p for m in loop for p in m.parameters()]

    def step_vec() -> None:
        net.zero_grad()
        net(xe).square().mean().backward()

    def step_loop() -> None:
        for p in params_loop:
            p.grad = None
        torch.stack([m(xe[i]) for i, m in enumerate(loop)]).square().mean().backward()

    t_vec, t_loop = _median_time(step_vec, repeats), _median_time(step_loop, repeats)
    print(f"  fwd+bwd  E={members} batch={batch:5d} hidden={hidden}: vectorised {t_vec * 1e6:8.1f} us, "
          f"loop {t_loop * 1e6:8.1f} us  -> {t_loop / t_vec:5.1f}x")  # fmt: skip


def _cartpole_sized_model(
    hidden: int = 64, backend=TransitionBackend.ENSEMBLE, seed: int = 0, done_net: bool = False
):  # type: ignore[no-untyped-def]
    cfg = small_config(
        backend,
        obs_dim=4,
        action_dim=2,
        ensemble_size=5,
        hidden_dim=hidden,
        seed=seed,
        done_from_next_obs=done_net,
    )
    wm = build_world_model(cfg)
    rng = np.random.default_rng(seed)
    for _ in range(256):  # a never-ending toy dynamics, so no dream exits early
        obs = rng.uniform(-1, 1, 4)
        a = int(rng.integers(2))
        wm.observe(obs, a, 0.95 * obs + 0.05 * (2 * a - 1), 1.0, False)
    wm.train_steps(100)
    return wm


def bench_rollouts(n: int, horizon: int, hidden: int, backend=TransitionBackend.ENSEMBLE) -> None:  # type: ignore[no-untyped-def]
    wm = _cartpole_sized_model(hidden, backend=backend)
    rng = np.random.default_rng(1)
    seqs = rng.integers(0, 2, size=(n, horizon))
    obs0 = (0.01, -0.02, 0.03, 0.0)

    async def single_dreams() -> int:
        steps = 0
        for seq in seqs:
            roll = await wm.dream_rollout(obs0, seq.tolist())
            steps += len(roll.steps)
        return steps

    t0 = time.perf_counter()
    steps = asyncio.run(single_dreams())
    t_loop = time.perf_counter() - t0
    t_batch = _median_time(lambda: wm.rollout_batch(obs0, seqs), 5)
    print(f"  {n} sequences x horizon {horizon} ({backend.name} E={wm.config.members}, hidden {hidden}): single dreams {t_loop * 1e3:8.1f} ms "
          f"({steps} steps), batched {t_batch * 1e3:6.2f} ms  -> {t_loop / t_batch:6.1f}x")  # fmt: skip


def bench_planner(decisions: int) -> None:
    wm = _cartpole_sized_model(done_net=True)  # as the agent: termination classifier on next states
    rng = np.random.default_rng(2)
    for name, cfg in [
        (
            "CEM 8x1 + 17x3 steps pop=64 iters=2 (action repeat)",
            PlannerConfig(horizon=25, fine_steps=8, action_repeat=3, population=64, cem_iterations=2),
        ),
        (
            "CEM h=25 pop=150 iters=2 + value (agent default)",
            PlannerConfig(horizon=25, population=150, cem_iterations=2),
        ),
        (
            "CEM h=15 pop=64 iters=2 + value (world learner)",
            PlannerConfig(horizon=15, population=64, cem_iterations=2),
        ),
        ("CEM h=10 pop=200 iters=3", PlannerConfig(horizon=10, population=200, cem_iterations=3)),
        (
            "random shooting h=20 pop=300",
            PlannerConfig(method=PlanningMethod.RANDOM_SHOOTING, horizon=20, population=300),
        ),
    ]:
        value = TerminalValue(4, wm.obs_norm) if "value" in name else None
        planner = DreamRolloutPlanner(wm, cfg, terminal_value=value)
        planner.plan(rng.uniform(-0.05, 0.05, 4))
        times = [planner.plan(rng.uniform(-0.05, 0.05, 4)).elapsed_s for _ in range(decisions)]
        within = sum(t <= cfg.time_budget_s for t in times)
        print(f"  {name:52s}: median {statistics.median(times) * 1e3:6.1f} ms, p95 "
              f"{np.percentile(times, 95) * 1e3:6.1f} ms, {within}/{decisions} within {cfg.time_budget_s * 1e3:.0f} ms")  # fmt: skip


def bench_evaluation(episodes: int, train_steps: int, seed: int, workers: int) -> None:
    from agents.learners.dynamics import DynamicsLearnerConfig, DynamicsRunner

    cfg = DynamicsLearnerConfig(seed=seed)
    runner = DynamicsRunner(cfg)
    t0 = time.perf_counter()
    done = 0
    while done < train_steps:
        n = min(cfg.chunk_steps, train_steps - done)
        runner.run("run_env_steps", {"n": n})
        done += n
    print(f"  trained the world learner (seed {seed}, pop {cfg.population}, horizon {cfg.horizon}) on "
          f"{done} env steps in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    planner = runner.agent.planner
    results = {}
    ways = [
        ("one state at a time", False, 1),
        ("batched", True, 1),
        (f"batched, {workers} shares", True, workers),
    ]
    for name, batched, shares in ways:
        before = planner.decisions
        t0 = time.perf_counter()
        returns = runner.agent.evaluate(episodes, batched=batched, workers=shares)
        wall = time.perf_counter() - t0
        decisions = planner.decisions - before
        results[name] = (returns, wall)
        print(f"  {name:<22}: {wall:7.2f} s, {decisions:5d} decisions, {decisions / wall:7.1f} decisions/s, "
              f"mean return {np.mean(returns):6.1f}")  # fmt: skip
    (ref, t_ref), (bat, t_bat), (split, t_split) = (results[name] for name, _, _ in ways)
    print(f"  -> batched {t_ref / t_bat:.1f}x faster than one state at a time; same returns: {ref == bat}")
    print(
        f"  -> {workers} shares at once {t_bat / t_split:.2f}x faster than batched; same returns: {split == bat}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--figures", type=int, nargs="+", default=[1, 2, 3, 4], help="figures to run")
    parser.add_argument("--eval-episodes", type=int, default=10, help="figure 4: evaluation episodes")
    parser.add_argument(
        "--eval-train-steps",
        type=int,
        default=2000,
        help="figure 4: env steps of training (the world's 4 x 500)",
    )
    parser.add_argument("--seed", type=int, default=0, help="figure 4: the learner's seed")
    parser.add_argument(
        "--eval-workers",
        type=positive_int,
        default=None,
        help="figure 4: shares played at the same time in forked processes (default: as the world's learner, "
        "WMVERSE_EVAL_WORKERS or the cores this process may use)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads={torch.get_num_threads()}"
    )
    if 1 in args.figures:
        print("1. ensemble: vectorised vs Python loop over members (target >= 3x at 5 members)")
        for members, batch, hidden in [
            (5, 32, 64),
            (5, 256, 64),
            (5, 256, 128),
            (5, 2000, 64),
            (10, 256, 64),
        ]:
            bench_ensemble(members, batch, hidden, args.repeats)
    if 2 in args.figures:
        print("2. dream rollouts: batched vs a loop of single dream_rollout calls (target >= 100x)")
        bench_rollouts(1000, 10, 64)
        bench_rollouts(1000, 10, 128)
        bench_rollouts(1000, 10, 64, TransitionBackend.MLP)
        bench_rollouts(1000, 10, 32, TransitionBackend.MLP)
    if 3 in args.figures:
        print(
            "3. planner time per decision (budget 50 ms; ENSEMBLE E=5, hidden 64, done classifier, CartPole-sized)"
        )
        bench_planner(30)
    if 4 in args.figures:
        print(
            f"4. evaluation of {args.eval_episodes} episodes: one state at a time vs batched (world learner)"
        )
        from agents.learners.dynamics import eval_workers

        workers = eval_workers() if args.eval_workers is None else args.eval_workers
        bench_evaluation(args.eval_episodes, args.eval_train_steps, args.seed, workers)


if __name__ == "__main__":
    main()
