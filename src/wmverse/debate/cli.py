"""``wmverse debate ...``: train a debate world model and predict with a saved one.

Heavy modules are imported inside the command functions so ``wmverse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wmverse.cli_args import fail, positive_int, seed, unit_float, writable_dir, writable_file

__all__ = ["add_subparser"]


def add_subparser(subparsers) -> None:
    """Register ``wmverse debate train`` and ``wmverse debate predict``."""
    debate = subparsers.add_parser("debate", help="adversarial-debate world model of a person")
    sub = debate.add_subparsers(dest="debate_command", metavar="ACTION")
    sub.required = True

    train = sub.add_parser("train", help="train on an observation file and report held-out validation")
    train.add_argument(
        "observations",
        help="observation file (JSON object with an observations list, or a JSON list of strings)",
    )
    train.add_argument("--name", required=True, help="name of the person being modelled")
    train.add_argument("--labels", help="gold labels {id: tendency}, used for validation only")
    train.add_argument("--epochs", type=positive_int, default=10, help="maximum epochs (default 10)")
    train.add_argument("--judge", choices=["lexical", "embedding", "llm"], default="embedding")
    train.add_argument("--seed", type=seed, default=0, help="seed of the split and the agents (default 0)")
    train.add_argument(
        "--validation-split", type=unit_float, default=0.2, help="held-out fraction in [0, 1) (default 0.2)"
    )
    train.add_argument("--log-json", type=writable_file, metavar="FILE", help="write the JSON training log")
    train.add_argument(
        "--tensorboard", type=writable_dir, metavar="DIR", help="write TensorBoard event files"
    )
    train.add_argument(
        "--wandb", type=writable_dir, metavar="DIR", help="log a W&B run in offline mode under DIR"
    )
    train.add_argument("--out", type=writable_file, metavar="MODEL.json", help="save the trained model")
    train.add_argument(
        "--llm-url", help="OpenAI-compatible base URL for --judge llm (e.g. http://127.0.0.1:8000/v1)"
    )
    train.add_argument("--llm-model", default="gpt-4o-mini", help="model name for --judge llm")
    train.add_argument("--llm-backend", choices=["openai", "claude"], default="openai")
    train.add_argument("--quiet", action="store_true", help="only the final table and validation line")
    train.set_defaults(func=_train)

    predict = sub.add_parser("predict", help="print the owning tendency of each text with a saved model")
    predict.add_argument("model", help="a model saved by 'wmverse debate train --out'")
    predict.add_argument("texts", nargs="+", help="observations to classify")
    predict.set_defaults(func=_predict)


def _train(args: argparse.Namespace) -> int:
    from .loggers import (
        ConsoleLogger,
        JSONLogger,
        MultiLogger,
        TensorBoardLogger,
        WandbLogger,
        significance_stars,
    )
    from .model import create_world_model
    from .observations import ObservationFileError, load_labels
    from .trainer import TrainConfig, Trainer

    try:
        config = TrainConfig(
            max_epochs=args.epochs,
            min_epochs=min(2, args.epochs),
            validation_split=args.validation_split,
            seed=args.seed,
            judge=args.judge,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    judge_kwargs = {}
    if args.judge == "llm":
        judge_kwargs = {"backend": args.llm_backend, "base_url": args.llm_url, "model": args.llm_model}
    try:
        from .judge_factory import make_judge

        model = create_world_model(
            args.name, args.observations, judge=make_judge(args.judge, **judge_kwargs)
        ).configure(config)
        judge = model.judge
        labels = load_labels(args.labels) if args.labels else None
    except (ObservationFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = _check_inputs(args, model.observations, labels, config)
    if problem:
        return fail(problem)

    loggers = [] if args.quiet else [ConsoleLogger()]
    if args.log_json:
        loggers.append(JSONLogger(args.log_json))
    if args.tensorboard:
        loggers.append(TensorBoardLogger(args.tensorboard))
    if args.wandb:
        loggers.append(WandbLogger(project="wmverse-debate", run_name=args.name, dir=args.wandb))
    n = len(model.observations)
    print(
        f"Training the debate world model of {args.name}: {n} observations, judge={judge.name}, seed={args.seed}"
    )
    history, result = Trainer(config, judge=judge).train(
        observations=model.observations,
        agents=model.agents,
        logger=MultiLogger(*loggers),
        verbose=not args.quiet,
        labels=labels,
    )
    print()
    print(f"Training complete: {history.epochs_run} epochs, converged={history.converged}")
    print(f"Winner: {result.winner.value if result.winner else 'None'}")
    print("Final allocations:")
    for agent in sorted(model.agents.all(), key=lambda a: -a.allocation):
        bar = "#" * int(round(agent.allocation * 50))
        print(f"  {agent.tendency.value:<11} {agent.allocation:6.1%}  {bar}")
    if history.validation_results:
        v = history.validation_results[-1]
        print(
            f"Validation: {v.value:.1%} {v.metric} ({v.correct}/{v.n} held-out, chance {v.chance:.1%}, "
            f"p={v.p_value:.2g}{significance_stars(v.p_value)}, 95% CI {v.ci_low:.1%}-{v.ci_high:.1%})"
        )
    model.history = {
        "epochs_run": history.epochs_run,
        "converged": history.converged,
        "validation": history.validation_results[-1].to_json() if history.validation_results else None,
    }
    if args.out:
        model.save(args.out)
        print(f"Saved model to {args.out}")
    return 0


def _check_inputs(args: argparse.Namespace, observations, labels, config) -> str | None:
    """Why the loaded inputs cannot give a meaningful run (``None`` if they can); prints how many
    labels match. Runs before any training or output."""
    n = len(observations)
    if n < 2:
        return (
            f"{args.observations}: training needs at least 2 observations (some to debate on, "
            f"some held out), got {n}"
        )
    inputs = {Path(p).resolve() for p in (args.observations, args.labels) if p}
    for flag, out in (("--out", args.out), ("--log-json", args.log_json)):
        if out and Path(out).resolve() in inputs:
            return f"{flag} {out} is an input file of this run; choose another path"
    if labels is None:
        return None
    ids = set(observations.ids)
    matched = sum(1 for key in labels if key in ids)
    if matched == 0:
        some = ", ".join(repr(k) for k in list(labels)[:3])
        return (
            f"{args.labels}: no label matches an observation id of {args.observations} "
            f"(label ids such as {some}; observation ids such as {observations.ids[0]!r})"
        )
    print(
        f"labels: {matched} of {len(labels)} labels match an observation id "
        f"({matched} of {n} observations labelled)"
    )
    if config.validation_split > 0:
        _, held_out = observations.split(config.validation_split, seed=config.seed)
        if not any(o.id in labels for o in held_out):
            print(
                f"warning: none of the {len(held_out)} held-out observations has a label in "
                f"{args.labels}; validation reports agreement, not accuracy",
                file=sys.stderr,
            )
    return None


def _predict(args: argparse.Namespace) -> int:
    from .model import WorldModel

    try:
        model = WorldModel.load(args.model)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for text, tendency in zip(args.texts, model.predict(args.texts), strict=True):
        print(f"{tendency.value}\t{text}")
    return 0
