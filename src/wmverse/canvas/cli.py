"""``wmverse canvas train`` and ``wmverse canvas forecast``."""

from __future__ import annotations

import argparse
from pathlib import Path

from wmverse.cli_args import fail, int_in_range, positive_int, seed, writable_file

SOURCES = ("fred", "yahoo", "germany", "pmi", "earnings", "news", "tabular")
#: ``CanvasModelConfig.max_time``: the longest window the time embedding supports (kept here so that
#: parsing does not import torch; a test checks the two agree).
MAX_WINDOW = 64
#: ``CanvasModelConfig.n_heads``: ``--d-model`` must be a multiple of it.
N_HEADS = 4


def source_item(text: str) -> str:
    """argparse type of ``--sources``: ``name`` or ``name:path`` with a known name the CLI can load."""
    name = text.partition(":")[0]
    if name not in SOURCES:
        raise argparse.ArgumentTypeError(
            f"unknown source {name!r}; choose from {', '.join(SOURCES)} (optionally name:path)"
        )
    if name == "tabular":
        raise argparse.ArgumentTypeError(
            "the tabular source needs a column mapping; use tabular_adapter from Python"
        )
    if name == "germany" and text != name:
        raise argparse.ArgumentTypeError("the germany source is statsmodels' bundled data only (no path)")
    return text


def d_model(text: str) -> int:
    """argparse type of ``--d-model``: a positive multiple of the attention head count."""
    value = positive_int(text)
    if value % N_HEADS:
        raise argparse.ArgumentTypeError(f"must be a multiple of {N_HEADS} (attention heads), got {value}")
    return value


def _load_sources(items: list[str]):
    """``name`` (bundled default) or ``name:path`` (local export files); names are checked by
    :func:`source_item`. Raises ``ValueError`` with the reason when a source cannot be loaded."""
    from wmverse.canvas import adapters

    out = []
    for item in items:
        name, _, path = item.partition(":")
        special = {"yahoo": "yahoo_finance_adapter", "germany": "german_macro_adapter"}
        fn = getattr(adapters, special.get(name, f"{name}_adapter"))
        try:
            out.append(fn(path) if path else fn())
        except adapters.AdapterError as exc:
            raise ValueError(f"source {item!r}: {exc}") from None
    return out


def _train(args: argparse.Namespace) -> int:
    if args.ray_address and not (args.curriculum == "dag" and args.executor == "ray"):
        return fail("--ray-address is only used with --curriculum dag --executor ray")
    if args.curriculum == "dag" and args.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            return fail("--executor ray needs Ray: pip install 'wmverse[ray]'")
    import torch

    torch.set_num_threads(args.threads)
    from wmverse.canvas.curriculum import CurriculumTrainer, bind_sources, default_curriculum
    from wmverse.canvas.dag import STANDARD_DAG, DAGCurriculumTrainer, with_steps
    from wmverse.canvas.model import CanvasModelConfig

    torch.manual_seed(args.seed)
    try:
        sources = _load_sources(args.sources)
    except ValueError as exc:
        return fail(str(exc))
    bound = bind_sources(sources)
    mcfg = CanvasModelConfig(d_model=args.d_model, n_layers=args.layers)
    print(f"canvas: {bound.n_fields} fields from {[s.name for s, _ in sources]}")
    if args.curriculum == "seq":
        cfg = default_curriculum(
            bound,
            (args.steps, args.steps, args.steps),
            batch_size=args.batch_size,
            window=args.window,
            seed=args.seed,
            model=mcfg,
        )
        trainer = CurriculumTrainer(cfg, sources, bound=bound, progress=not args.quiet)
        for m in trainer.run():
            print(
                f"phase {int(m['phase'])}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items() if k != "phase")
            )
        model = trainer.model
    else:
        dag = DAGCurriculumTrainer(
            with_steps(STANDARD_DAG, args.steps),
            sources,
            bound=bound,
            model_config=mcfg,
            batch_size=args.batch_size,
            window=args.window,
            seed=args.seed,
            executor=args.executor,
            ray_address=args.ray_address,
            progress=not args.quiet,
        )
        for name, m in dag.run().items():
            print(f"{name}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items()))
        model = dag.final_model()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"state": model.state_dict(), "paths": bound.paths, "model_config": mcfg.__dict__}, args.out
        )
        print(f"saved {args.out}")
    return 0


def _forecast(args: argparse.Namespace) -> int:
    problem = _check_forecast_span(args.test_start, args.window)
    if problem:
        return fail(problem)
    import torch

    from wmverse.canvas.forecast import ForecastConfig, run_macro_forecast

    torch.set_num_threads(args.threads)
    cfg = ForecastConfig(
        test_start=args.test_start,
        n_steps=args.steps,
        seeds=tuple(args.seeds),
        window=args.window,
        method=args.method,
    )
    res = run_macro_forecast(cfg, progress=not args.quiet)
    tr, te = res["train_span"], res["test_span"]
    print(
        f"train {tr[0]:%Y-%m}..{tr[1]:%Y-%m}, held-out {te[0]:%Y-%m}..{te[1]:%Y-%m} ({res['n_test']} quarters)"
    )
    print(f"one-step-ahead RMSE (percentage points), canvas method: {args.method}, seeds {list(args.seeds)}:")
    print(res["table"].to_string(float_format=lambda v: f"{v:.3f}"))
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        res["predictions"].to_csv(args.csv)
    return 0


def _check_forecast_span(test_start: str, window: int) -> str | None:
    """Why ``--test-start``/``--window`` leave no training or held-out window in the bundled FRED data
    (``None`` when they are fine)."""
    import pandas as pd

    from wmverse.canvas.adapters import fred_adapter

    try:
        start = pd.Timestamp(test_start)
    except (ValueError, TypeError):
        return f"--test-start {test_start!r} is not a date (e.g. 2000-01-01)"
    if start is pd.NaT:
        return f"--test-start {test_start!r} is not a date (e.g. 2000-01-01)"
    index = fred_adapter()[1].index
    n_train, n_test = int((index < start).sum()), int((index >= start).sum())
    span = f"{index[0]:%Y-%m-%d}..{index[-1]:%Y-%m-%d}"
    if n_test < 1:
        return f"--test-start {test_start} is after the data ({span}): nothing is left to forecast"
    if n_train < window:
        return (
            f"--test-start {test_start} leaves {n_train} quarters of the data ({span}) before it; "
            f"training needs at least one window of --window {window} quarters"
        )
    return None


def add_subparser(subparsers) -> None:
    """Register ``wmverse canvas train|forecast``."""
    p = subparsers.add_parser("canvas", help="the canvas world model (seed 002)")
    sub = p.add_subparsers(dest="canvas_command", metavar="ACTION")
    sub.required = True
    t = sub.add_parser("train", help="train on sources with a sequential or DAG curriculum")
    t.add_argument(
        "--sources",
        nargs="+",
        type=source_item,
        default=["fred", "yahoo"],
        help="name or name:path, names: " + ", ".join(SOURCES),
    )
    t.add_argument("--curriculum", choices=("seq", "dag"), default="seq")
    t.add_argument("--seed", type=seed, default=0)
    t.add_argument("--steps", type=positive_int, default=50, help="steps per phase / per DAG node")
    t.add_argument("--batch-size", type=positive_int, default=16)
    t.add_argument("--window", type=int_in_range(1, MAX_WINDOW), default=6, help="time steps per window")
    t.add_argument("--d-model", type=d_model, default=32, help=f"token width, a multiple of {N_HEADS}")
    t.add_argument("--layers", type=positive_int, default=2)
    t.add_argument("--executor", choices=("process", "serial", "ray"), default="process")
    t.add_argument("--ray-address", default=None)
    t.add_argument("--out", type=writable_file, default=None, help="save the final weights here (torch.save)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument(
        "--threads", type=positive_int, default=1, help="torch intra-op threads (small models: 1 is fastest)"
    )
    t.set_defaults(func=_train)
    f = sub.add_parser("forecast", help="held-out one-step-ahead US inflation/unemployment vs RW and AR(1)")
    f.add_argument("--test-start", default="2000-01-01", help="first held-out quarter (a date in the data)")
    f.add_argument("--steps", type=positive_int, default=600, help="optimiser steps per seed")
    f.add_argument("--seeds", type=seed, nargs="+", default=[0, 1, 2])
    f.add_argument(
        "--window",
        type=int_in_range(2, MAX_WINDOW),
        default=4,
        help="quarters per window: context + the forecast quarter (>= 2)",
    )
    f.add_argument("--method", choices=("masked", "diffusion"), default="masked")
    f.add_argument("--csv", type=writable_file, default=None, help="write per-quarter predictions here")
    f.add_argument("--quiet", action="store_true")
    f.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads")
    f.set_defaults(func=_forecast)
