"""``wmverse dynamics ...``: train a model-based planning agent on a gymnasium env."""

from __future__ import annotations

import argparse

from wmverse.cli_args import int_in_range, non_negative_int, positive_int, seed, writable_file


def add_subparser(subparsers) -> None:  # type: ignore[no-untyped-def]
    parser = subparsers.add_parser("dynamics", help="dynamics world model: learn, dream, plan")
    sub = parser.add_subparsers(dest="dynamics_command", metavar="ACTION")
    sub.required = True
    train = sub.add_parser("train", help="train the planning agent online and evaluate it")
    train.add_argument("--env", default="CartPole-v1", help="gymnasium env id (CartPole-v1, Pendulum-v1)")
    train.add_argument("--backend", default="ensemble", choices=["mlp", "lstm", "transformer", "ensemble"])
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument(
        "--max-env-steps",
        type=positive_int,
        default=6000,
        help="budget of real env steps for learning, checked between episodes (one in progress finishes)",
    )
    train.add_argument("--max-episodes", type=positive_int, default=200)
    train.add_argument("--eval-episodes", type=positive_int, default=10)
    train.add_argument(
        "--eval-workers",
        type=positive_int,
        default=1,
        help="evaluation episodes played in this many shares at once, in forked processes (same returns)",
    )
    train.add_argument(
        "--warmup-steps", type=non_negative_int, default=None, help="random-action steps before planning"
    )
    train.add_argument(
        "--population", type=positive_int, default=None, help="planner sequences per iteration"
    )
    train.add_argument("--horizon", type=positive_int, default=None, help="planner horizon")
    train.add_argument(
        "--action-repeat",
        type=positive_int,
        default=None,
        help="env steps per planner slot after --fine-steps",
    )
    train.add_argument(
        "--fine-steps", type=non_negative_int, default=None, help="leading one-step planner slots"
    )
    train.add_argument("--method", choices=["cem", "random"], default=None, help="planning method")
    train.add_argument("--hidden-dim", type=positive_int, default=None)
    train.add_argument(
        "--no-terminal-value",
        action="store_true",
        help="plan on dreams alone (no learned value at the end of each dream; an ablation)",
    )
    train.add_argument(
        "--save",
        type=writable_file,
        default=None,
        metavar="PATH",
        help="write the trained world model and value here (torch.save)",
    )
    train.add_argument(
        "--threads", type=positive_int, default=1, help="torch threads (small nets: 1 is fastest)"
    )
    train.add_argument(
        "--metrics-port",
        type=int_in_range(1, 65535),
        default=None,
        help="serve Prometheus metrics on 127.0.0.1:PORT",
    )
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    import sys
    from dataclasses import replace

    import torch

    from .agent import AgentConfig, train_agent
    from .planner import PlanningMethod
    from .types import TransitionBackend

    torch.set_num_threads(args.threads)
    cfg = AgentConfig(env_id=args.env, backend=TransitionBackend[args.backend.upper()], seed=args.seed)
    if args.env != "CartPole-v1":
        cfg = replace(cfg, planner=replace(cfg.planner, discount=0.99))
    if args.warmup_steps is not None:
        cfg = replace(cfg, warmup_steps=args.warmup_steps)
    if args.hidden_dim is not None:
        cfg = replace(cfg, hidden_dim=args.hidden_dim)
    if args.no_terminal_value:
        cfg = replace(cfg, terminal_value=False)
    planner = cfg.planner
    if args.population is not None:
        planner = replace(planner, population=args.population)
    if args.horizon is not None:
        planner = replace(planner, horizon=args.horizon)
    if args.action_repeat is not None:
        planner = replace(planner, action_repeat=args.action_repeat)
    if args.fine_steps is not None:
        planner = replace(planner, fine_steps=args.fine_steps)
    if args.method is not None:
        planner = replace(
            planner, method=PlanningMethod.CEM if args.method == "cem" else PlanningMethod.RANDOM_SHOOTING
        )
    cfg = replace(cfg, planner=planner)
    server = None
    if args.metrics_port is not None:
        from .metrics import serve_metrics

        server = serve_metrics(args.metrics_port)
        print(f"metrics: {server.url}", flush=True)

    def progress(r) -> None:  # type: ignore[no-untyped-def]
        mode = "plan" if r.planned else "random"
        print(
            f"episode {r.episode:3d} [{mode:6s}] return {r.episode_return:8.1f}  len {r.length:3d}  "
            f"env_steps {r.env_steps:5d}  surprise {r.mean_surprise:.5f}  loss {r.train_loss:.4f}  "
            f"buffer {r.buffer_size:5d}  plan {r.mean_plan_ms:5.1f} ms",
            flush=True,
        )

    print(
        f"training {cfg.backend.name} world model + {cfg.planner.method.name} planner on {cfg.env_id} (seed {cfg.seed})",
        flush=True,
    )
    try:
        agent, s = train_agent(
            cfg,
            max_env_steps=args.max_env_steps,
            max_episodes=args.max_episodes,
            eval_episodes=args.eval_episodes,
            progress=progress,
            eval_workers=args.eval_workers,
        )
    except ValueError as exc:
        print(f"dynamics: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        if server is not None:
            server.close()
    print(
        f"summary: env={s.env_id} backend={s.backend} seed={s.seed} train_env_steps={s.train_env_steps} "
        f"train_episodes={s.train_episodes} eval_mean_return={s.eval_mean:.1f} over {len(s.eval_returns)} episodes "
        f"(random policy {s.random_mean:.1f}) solved={s.solved} (threshold {s.solved_return}) wall={s.wall_s:.0f}s",
        flush=True,
    )
    print("eval returns: " + ", ".join(f"{r:.0f}" for r in s.eval_returns), flush=True)
    if args.save:
        from pathlib import Path

        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        torch.save(agent.checkpoint(), args.save)
        print(
            f"saved: {args.save} (TorchWorldModel.from_snapshot(torch.load(PATH)['world_model']))", flush=True
        )
    return 0
