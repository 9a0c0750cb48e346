"""One adapter per world model: run its quality harness seed by seed, keep one number per seed and arm.

Each adapter calls the model library's own harness once per seed (so progress is reported per
seed, and a seed's numbers are exactly what a direct call of that harness with that one seed
gives) and returns :class:`ModelResult` groups: the trained model and its honest baselines on
one held-out metric. The statistics are left to :mod:`.report`.

* ``debate``: :func:`wmverse.debate.baselines.debate_quality` on each person (Mara; Joaquín,
  written independently, the person the model was not developed on); held-out gold accuracy of
  the trained model vs the untrained judge on the same split, the nearest description and the
  centroid self-training baseline. Embedding judge, default :class:`TrainConfig`.
* ``leworld``: :func:`wmverse.leworld.quality.leworld_quality` (the world learner's small
  configuration, difficulty medium); held-out next-state MSE of LeWorld vs memory-free and oracle.
* ``canvas``: :func:`wmverse.canvas.quality.canvas_quality` (the zero-overlap experiment); per
  dataset, held-out normalised RMSE of the model trained on the mixture vs the same model trained
  on that dataset alone, a random walk and an AR(1) (these two are fitted, not trained: the same
  value for every seed).
* ``dynamics``: :func:`wmverse.dynamics.quality.train_and_evaluate` (CartPole-v1, 2,000 real
  steps); mean return over the evaluation episodes vs a random policy on the same episodes.

``quick=True`` swaps in tiny budgets (lexical judge, a few epochs and steps) for smoke tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MODELS",
    "PEOPLE",
    "EvalSettings",
    "ModelResult",
    "canvas_config",
    "debate_setup",
    "dynamics_config",
    "leworld_kwargs",
    "run_model",
]

#: Models ``wmverse eval`` knows, in report order.
MODELS: tuple[str, ...] = ("debate", "leworld", "canvas", "dynamics")

#: debate people: name -> (observations file, gold labels file), inside the data folder
PEOPLE: dict[str, tuple[str, str]] = {
    "Mara": ("observations.json", "labels.json"),
    "Joaquín (unseen)": ("person2_observations.json", "person2_labels.json"),
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvalSettings:
    """What every adapter needs besides the seeds."""

    quick: bool = False
    """Tiny budgets (smoke tests): the figures are not the real ones."""
    debate_data: Path | None = None
    """Folder with the :data:`PEOPLE` files (the training world's ``data`` folder)."""
    difficulty: str = "medium"
    """LeWorld's data difficulty."""


@dataclass
class ModelResult:
    """One group of the table: a trained model and its baselines on one metric, one value per seed."""

    label: str
    """Row label, e.g. ``"debate: Mara"``."""
    model: str
    """One of :data:`MODELS`."""
    metric: str
    """What the numbers are (held out), with units."""
    higher_is_better: bool
    """Direction of the metric: accuracy and return up, errors down."""
    trained: str
    """Name of the trained arm (the first key of ``per_seed``)."""
    per_seed: dict[str, list[float]]
    """Arm -> one value per seed (trained first, then the baselines in report order)."""
    seeds: list[int]
    """The seeds, in the order of every list in ``per_seed``."""
    scale: float = 1.0
    """Display factor (100 for accuracies shown in %); the JSON keeps raw values."""
    digits: int = 3
    """Decimals shown."""
    notes: list[str] = field(default_factory=list)
    """Lines printed under the table (what a baseline is, where it is a ceiling...)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping in the JSON (settings, held-out sizes, per-seed wall times)."""

    @property
    def baselines(self) -> list[str]:
        return [name for name in self.per_seed if name != self.trained]


# ---------------------------------------------------------------------------------------- settings
def debate_setup(settings: EvalSettings) -> tuple[Any, Any]:
    """``(judge, TrainConfig)``: the embedding judge (one instance for every seed and person) and the
    default config; quick: the lexical judge (rebuilt per split by ``debate_quality``) and 2 epochs."""
    from wmverse.debate import TrainConfig, make_judge

    if settings.quick:
        return "lexical", TrainConfig(max_epochs=2, min_epochs=0)
    return make_judge("embedding"), TrainConfig()


def leworld_kwargs(settings: EvalSettings) -> dict[str, Any]:
    """Keyword arguments of ``leworld_quality`` (none: the small configuration; quick: tiny)."""
    return {"epochs": (1, 1, 1), "num_train": 16, "num_val": 8} if settings.quick else {}


def canvas_config(settings: EvalSettings) -> Any:
    """The canvas ``QualityConfig`` (default: 500 steps per model; quick: 3 steps of 8 windows)."""
    from dataclasses import replace

    from wmverse.canvas.quality import QualityConfig

    cfg = QualityConfig()
    return replace(cfg, n_steps=3, batch_size=8) if settings.quick else cfg


def dynamics_config(settings: EvalSettings) -> Any:
    """The ``DynamicsQualityConfig`` (the training world's learner; quick: tiny)."""
    from wmverse.dynamics.quality import DynamicsQualityConfig

    return DynamicsQualityConfig.quick() if settings.quick else DynamicsQualityConfig()


def _fmt(values: dict[str, float], digits: int = 3) -> str:
    return ", ".join(f"{k} {v:.{digits}f}" for k, v in values.items())


# ---------------------------------------------------------------------------------------- adapters
def _debate(seeds: Sequence[int], settings: EvalSettings, progress: Progress) -> list[ModelResult]:
    from wmverse.debate import load_labels, load_observations
    from wmverse.debate.baselines import BASELINES, debate_quality

    if settings.debate_data is None:
        raise ValueError("debate needs EvalSettings.debate_data (the folder of the people's files)")
    judge, cfg = debate_setup(settings)
    names = {
        "trained": "trained model",
        "untrained": "untrained judge (same split)",
        "nearest_description": "nearest description",
        "centroid_self_training": "centroid self-training",
    }
    out = []
    for person, (obs_file, labels_file) in PEOPLE.items():
        observations = load_observations(settings.debate_data / obs_file)
        labels = load_labels(settings.debate_data / labels_file)
        per: dict[str, list[float]] = {names[k]: [] for k in ("trained", *BASELINES)}
        held, seconds = [], []
        for seed in seeds:
            t0 = time.perf_counter()
            r = debate_quality(observations, labels, [seed], judge, cfg)
            for key, name in names.items():
                per[name].append(r["methods"][key]["per_seed"][0])
            held.append(r["n_held_out"][0])
            seconds.append(time.perf_counter() - t0)
            progress(
                f"debate {person} seed {seed}: {_fmt({k: v[-1] for k, v in per.items()})} ({seconds[-1]:.1f} s)"
            )
        out.append(
            ModelResult(
                label=f"debate: {person}",
                model="debate",
                metric="held-out gold accuracy (%)",
                higher_is_better=True,
                trained=names["trained"],
                per_seed=per,
                seeds=list(seeds),
                scale=100.0,
                digits=1,
                details={
                    "observations": len(observations),
                    "held_out_per_seed": held,
                    "judge": r["judge"],
                    "config": r["config"],
                    "seconds_per_seed": seconds,
                },
            )
        )
    out[-1].notes.append(
        "debate: 7 tendencies (chance 14.3%); the untrained judge is the same model before any epoch "
        "on the same held-out split"
    )
    return out


def _leworld(seeds: Sequence[int], settings: EvalSettings, progress: Progress) -> list[ModelResult]:
    from wmverse.leworld.quality import leworld_quality

    kwargs = leworld_kwargs(settings)
    names = {"leworld": "LeWorld", "memory_free": "memory-free", "oracle": "oracle (ceiling)"}
    per: dict[str, list[float]] = {name: [] for name in names.values()}
    seconds = []
    for seed in seeds:
        r = leworld_quality([seed], settings.difficulty, **kwargs)
        for key, name in names.items():
            per[name].append(r["per_seed"][key][0])
        seconds.append(r["seconds"])
        progress(f"leworld seed {seed}: {_fmt({k: v[-1] for k, v in per.items()}, 4)} ({r['seconds']:.1f} s)")
    return [
        ModelResult(
            label="leworld",
            model="leworld",
            metric=f"held-out next-state MSE ({settings.difficulty})",
            higher_is_better=False,
            trained="LeWorld",
            per_seed=per,
            seeds=list(seeds),
            digits=4,
            notes=["leworld: the oracle reads the true memory ranges: a ceiling, not a bar to beat"],
            details={"difficulty": settings.difficulty, "overrides": kwargs, "seconds_per_seed": seconds},
        )
    ]


def _canvas(seeds: Sequence[int], settings: EvalSettings, progress: Progress) -> list[ModelResult]:
    from dataclasses import asdict

    from wmverse.canvas.quality import canvas_quality

    cfg = canvas_config(settings)
    names = {"mixture": "mixture (all 3 datasets)", "alone": "same model, this dataset alone"}
    per: dict[str, dict[str, list[float]]] = {}
    info: dict[str, dict[str, Any]] = {}
    seconds = []
    for seed in seeds:
        t0 = time.perf_counter()
        r = canvas_quality([seed], cfg)
        for dataset, row in r["datasets"].items():
            arms = per.setdefault(dataset, {name: [] for name in (*names.values(), "random walk", "AR(1)")})
            for key, name in names.items():
                arms[name].append(row[key]["per_seed"][0])
            for name in ("random walk", "AR(1)"):
                arms[name].append(row["baselines"][name])
            info[dataset] = {k: row[k] for k in ("test_start", "n_test_windows", "n_series")}
        seconds.append(time.perf_counter() - t0)
        line = ", ".join(
            f"{d} {a[names['mixture']][-1]:.3f} (alone {a[names['alone']][-1]:.3f})" for d, a in per.items()
        )
        progress(f"canvas seed {seed}: mixture {line} ({seconds[-1]:.1f} s)")
    out = [
        ModelResult(
            label=f"canvas: {dataset}",
            model="canvas",
            metric="held-out normalised RMSE, 1 step",
            higher_is_better=False,
            trained=names["mixture"],
            per_seed=arms,
            seeds=list(seeds),
            digits=3,
            details={
                **info[dataset],
                "n_steps": cfg.n_steps,
                "batch_size": cfg.batch_size,
                "seconds_per_seed": seconds,
            },
        )
        for dataset, arms in per.items()
    ]
    out[-1].notes.append(
        f"canvas: datasets with disjoint fields; every model {cfg.n_steps} steps; random walk and AR(1) "
        "are fitted on the training span, the same for every seed"
    )
    out[-1].details["config"] = asdict(cfg)
    return out


def _dynamics(seeds: Sequence[int], settings: EvalSettings, progress: Progress) -> list[ModelResult]:
    from dataclasses import asdict

    from wmverse.dynamics.quality import train_and_evaluate

    cfg = dynamics_config(settings)
    per: dict[str, list[float]] = {"planning agent": [], "random policy (same episodes)": []}
    runs = []
    for seed in seeds:
        r = train_and_evaluate(seed, cfg)
        per["planning agent"].append(r["mean_return"])
        per["random policy (same episodes)"].append(r["random_mean"])
        runs.append({k: r[k] for k in ("seed", "returns", "random_returns", "train_env_steps", "seconds")})
        progress(
            f"dynamics seed {seed}: planning {r['mean_return']:.1f}, random {r['random_mean']:.1f} "
            f"over {cfg.eval_episodes} episodes ({r['seconds']:.1f} s)"
        )
    return [
        ModelResult(
            label=f"dynamics: {cfg.env_id}",
            model="dynamics",
            metric=f"mean return, {cfg.eval_episodes} eval episodes",
            higher_is_better=True,
            trained="planning agent",
            per_seed=per,
            seeds=list(seeds),
            digits=1,
            notes=[
                f"dynamics: {cfg.train_steps} real steps of learning per seed; CartPole-v1's maximum "
                "return is 500 (solved at 475)"
            ],
            details={"config": asdict(cfg), "runs": runs},
        )
    ]


_ADAPTERS: dict[str, Callable[[Sequence[int], EvalSettings, Progress], list[ModelResult]]] = {
    "debate": _debate,
    "leworld": _leworld,
    "canvas": _canvas,
    "dynamics": _dynamics,
}


def run_model(
    model: str, seeds: Sequence[int], settings: EvalSettings, progress: Progress | None = None
) -> list[ModelResult]:
    """The groups of ``model`` (one of :data:`MODELS`) over ``seeds``; ``progress`` gets one line per seed."""
    if model not in _ADAPTERS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    return _ADAPTERS[model](seeds, settings, progress or (lambda line: None))
