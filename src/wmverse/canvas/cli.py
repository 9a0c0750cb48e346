"""``wmverse canvas train`` and ``wmverse canvas forecast``."""

from __future__ import annotations

import argparse

SOURCES = ("fred", "yahoo", "pmi", "earnings", "news", "tabular")


def _load_sources(items: list[str]):
    """``name`` (bundled default) or ``name:path`` (local export files)."""
    from wmverse.canvas import adapters

    out = []
    for item in items:
        name, _, path = item.partition(":")
        if name not in SOURCES:
            raise SystemExit(f"unknown source {name!r}; choose from {SOURCES} (optionally name:path)")
        if name == "tabular":
            raise SystemExit("the tabular source needs a column mapping; use tabular_adapter from Python")
        fn = getattr(adapters, "yahoo_finance_adapter" if name == "yahoo" else f"{name}_adapter")
        try:
            out.append(fn(path) if path else fn())
        except adapters.AdapterError as exc:
            raise SystemExit(f"source {item!r}: {exc}") from None
    return out


def _train(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    from wmverse.canvas.curriculum import CurriculumTrainer, bind_sources, default_curriculum
    from wmverse.canvas.dag import STANDARD_DAG, DAGCurriculumTrainer, with_steps
    from wmverse.canvas.model import CanvasModelConfig

    torch.manual_seed(args.seed)
    sources = _load_sources(args.sources)
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
        torch.save(
            {"state": model.state_dict(), "paths": bound.paths, "model_config": mcfg.__dict__}, args.out
        )
        print(f"saved {args.out}")
    return 0


def _forecast(args: argparse.Namespace) -> int:
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
        res["predictions"].to_csv(args.csv)
    return 0


def add_subparser(subparsers) -> None:
    """Register ``wmverse canvas train|forecast``."""
    p = subparsers.add_parser("canvas", help="the canvas world model (seed 002)")
    sub = p.add_subparsers(dest="canvas_command", metavar="ACTION")
    sub.required = True
    t = sub.add_parser("train", help="train on sources with a sequential or DAG curriculum")
    t.add_argument(
        "--sources",
        nargs="+",
        default=["fred", "yahoo"],
        help="name or name:path, names: " + ", ".join(SOURCES),
    )
    t.add_argument("--curriculum", choices=("seq", "dag"), default="seq")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=50, help="steps per phase / per DAG node")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--window", type=int, default=6)
    t.add_argument("--d-model", type=int, default=32)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--executor", choices=("process", "serial", "ray"), default="process")
    t.add_argument("--ray-address", default=None)
    t.add_argument("--out", default=None, help="save the final weights here (torch.save)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (small models: 1 is fastest)"
    )
    t.set_defaults(func=_train)
    f = sub.add_parser("forecast", help="held-out one-step-ahead US inflation/unemployment vs RW and AR(1)")
    f.add_argument("--test-start", default="2000-01-01")
    f.add_argument("--steps", type=int, default=600)
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    f.add_argument("--window", type=int, default=4)
    f.add_argument("--method", choices=("masked", "diffusion"), default="masked")
    f.add_argument("--csv", default=None, help="write per-quarter predictions here")
    f.add_argument("--quiet", action="store_true")
    f.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    f.set_defaults(func=_forecast)
