"""``wmverse eval``: every world model's trained result beside its honest baselines, over seeds.

Prints ONE table (:func:`.report.format_table`) on stdout, progress lines (one per model and
seed) on stderr, and with ``--json FILE`` the whole report (per-seed values included). Every
option is checked before any model runs: a bad seed list, an unknown model, an unwritable
``--json`` path or missing debate data exit with code 2 and a message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from wmverse.cli_args import fail, positive_int, seed, writable_file

from .harness import MODELS, PEOPLE

__all__ = ["add_arguments", "add_subparser", "canonical_command", "run", "seed_spec"]

#: ``--seeds`` when not given: 0 to 9
DEFAULT_SEEDS: tuple[int, ...] = tuple(range(10))


def seed_spec(text: str) -> list[int]:
    """Seeds from ``"3"``, ``"0-9"`` (inclusive) or comma-joined pieces of both (``"0-4,7"``)."""
    out: list[int] = []
    for piece in text.split(","):
        piece = piece.strip()
        low, sep, high = piece.partition("-")
        if sep and low:
            a, b = seed(low), seed(high)
            if a > b:
                raise argparse.ArgumentTypeError(f"empty seed range {piece!r} (write low-high)")
            out.extend(range(a, b + 1))
        else:
            out.append(seed(piece))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``wmverse eval`` (shared with ``benchmarks/quality.py``)."""
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        default=list(MODELS),
        metavar="MODEL",
        help=f"models to evaluate, of {', '.join(MODELS)} (default: all)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=seed_spec,
        default=None,
        metavar="SEEDS",
        help="seeds: a range 0-9, a list 0 1 2 or 0,1,2, or both (default 0-9)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny budgets for smoke tests (the table says QUICK)"
    )
    parser.add_argument(
        "--json", type=writable_file, default=None, metavar="FILE", help="also write the report"
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument(
        "--debate-data",
        default=None,
        metavar="DIR",
        help="folder with the debate people's files (default: the training world's worlds/training/data)",
    )


def add_subparser(subparsers) -> None:  # type: ignore[no-untyped-def]
    parser = subparsers.add_parser(
        "eval",
        help="every world model beside its honest baselines over seeds (mean, 95%% CI, paired tests)",
        description="Every world model's trained result beside its honest baselines on held-out data, "
        "over seeds: per-seed values, the mean with a 95% interval and one-sided paired tests.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run, prog_command="wmverse eval")


def _debate_data(given: str | None) -> Path | None:
    """The debate data folder: ``given``, else the training world's, looked for from the working
    directory and from this package's checkout; ``None`` when none has every file."""
    import wmverse

    if given is not None:
        candidates = [Path(given).expanduser()]
    else:
        rel = Path("worlds") / "training" / "data"
        candidates = [Path.cwd() / rel, Path(wmverse.__file__).resolve().parents[2] / rel]
    for folder in candidates:
        if all((folder / name).is_file() for pair in PEOPLE.values() for name in pair):
            return folder
    return None


def canonical_command(prog: str, seeds: Sequence[int], models: Sequence[str], quick: bool) -> str:
    """The command that reproduces a run (printed beside the table)."""
    from .report import seed_list

    cmd = f"{prog} --seeds {seed_list(seeds).replace(',', ' ')}"
    if list(models) != list(MODELS):
        cmd += " --models " + " ".join(models)
    return cmd + (" --quick" if quick else "")


def run(args: argparse.Namespace) -> int:
    seeds = [s for chunk in (args.seeds or [list(DEFAULT_SEEDS)]) for s in chunk]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        return fail(f"--seeds repeats {repeated}: each seed is one pair of the paired tests")
    models = [m for m in MODELS if m in args.models]  # report order, each once
    data = None
    if "debate" in models:
        data = _debate_data(args.debate_data)
        if data is None:
            files = ", ".join(name for pair in PEOPLE.values() for name in pair)
            where = args.debate_data or "worlds/training/data"
            return fail(f"debate data not found: {where} must hold {files} (see --debate-data)")
    return _evaluate(args, seeds, models, data)


def _evaluate(args: argparse.Namespace, seeds: list[int], models: list[str], data: Path | None) -> int:
    import json
    import time

    import torch
    from threadpoolctl import threadpool_limits

    from .harness import EvalSettings, run_model
    from .report import build_report, format_table

    torch.set_num_threads(args.threads)
    settings = EvalSettings(quick=args.quick, debate_data=data)
    command = canonical_command(getattr(args, "prog_command", "wmverse eval"), seeds, models, args.quick)

    def progress(line: str) -> None:
        print(f"[eval] {line}", file=sys.stderr, flush=True)

    groups, seconds = [], {}
    progress(f"{command}: models {', '.join(models)}, seeds {seeds}" + (" (QUICK)" if args.quick else ""))
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for model in models:
            t0 = time.perf_counter()
            groups.extend(run_model(model, seeds, settings, progress))
            seconds[model] = time.perf_counter() - t0
            progress(f"{model} done in {seconds[model]:.0f} s")
    report = build_report(groups, seeds, quick=args.quick, command=command, seconds=seconds)
    print(format_table(report), flush=True)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
        progress(f"report written to {path}")
    return 0
