"""``wmverse leworld ...``: train LeWorld and its baselines, print the evaluation table."""

from __future__ import annotations

import argparse
from pathlib import Path

from wmverse.cli_args import fail, int_at_least, non_negative_int, seed, writable_file


def add_subparser(subparsers) -> None:
    parser = subparsers.add_parser("leworld", help="LeWorld: bit memory, SLMs and a routing BLM")
    sub = parser.add_subparsers(dest="leworld_command", metavar="ACTION")
    sub.required = True
    train = sub.add_parser("train", help="three-phase training plus memory-free and oracle baselines")
    train.add_argument("--difficulty", choices=("easy", "medium", "hard"), default="medium")
    train.add_argument(
        "--sequences", type=int_at_least(4), default=1024, help="training sequences (held-out: a quarter)"
    )
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--no-baselines", action="store_true", help="train and evaluate LeWorld only")
    train.add_argument(
        "--routed",
        action="store_true",
        help="specialty data and presence-aware phase 1: the router gates on only the SLMs an input needs",
    )
    for i in (1, 2, 3):
        train.add_argument(
            f"--phase{i}-epochs", type=non_negative_int, default=None, help="0 skips the phase"
        )
    train.add_argument(
        "--save",
        type=writable_file,
        default=None,
        metavar="PATH",
        help="write the trained LeWorld system here (torch.save)",
    )
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    if all(getattr(args, f"phase{i}_epochs") == 0 for i in (1, 2, 3)):
        return fail(
            "--phase1-epochs, --phase2-epochs and --phase3-epochs are all 0: nothing would be trained"
        )
    import torch

    from .pipeline import DEMO_MEMORY, default_system, demo_config, run_training

    torch.set_num_threads(1)  # small ops: extra threads only contend on a shared machine
    overrides = {
        f"phase{i}_epochs": getattr(args, f"phase{i}_epochs")
        for i in (1, 2, 3)
        if getattr(args, f"phase{i}_epochs") is not None
    }
    config = demo_config(
        args.difficulty, seed=args.seed, preset="routed" if args.routed else "demo", **overrides
    )
    system = default_system(config, memory=DEMO_MEMORY)
    result = run_training(
        system,
        config,
        num_train_sequences=args.sequences,
        num_val_sequences=max(1, args.sequences // 4),
        difficulty=args.difficulty,
        baselines=not args.no_baselines,
    )
    if "beats_memory_free" in result:
        verdict = "beats" if result["beats_memory_free"] else "does NOT beat"
        print(f"held-out next-state MSE: LeWorld {verdict} the memory-free baseline")
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"config": repr(config), "difficulty": args.difficulty, "system": system.state_dict()}, args.save
        )
        print(
            f"saved: {args.save} (default_system(demo_config(...)).load_state_dict(torch.load(PATH)['system']))"
        )
    return 0
