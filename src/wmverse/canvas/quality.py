"""The zero-overlap experiment: do datasets with disjoint fields help each other on one canvas?

The seed's central claim is that datasets sharing *no* field, trained together on one canvas
through the presence-masked loss, teach a shared model (its regime latent) something each
alone does not. Here three real datasets bundled with installed packages, with pairwise
disjoint fields, are each forecast one step ahead on a held-out time span by

- ``alone``: the canvas model trained on that dataset only;
- ``mixture``: the same model (same config, steps and batch size) trained on all of them,
  sources drawn equally often;
- a random walk (last value) and an AR(1) per series fitted on the training span.

Each dataset has its own time split (``QualityConfig.test_start``): normalisation, AR(1)
coefficients and network weights see only its rows before that date. Windows hold one
dataset each and the model has no calendar input, so the other datasets' rows cannot carry
a held-out date's values. Errors are normalised RMSE (training-span z-units, pooled over
the dataset's series) on held-out windows whose target and previous value both exist; for
the US data also inflation and unemployment in percentage points. Over seeds: mean, 95%
t-interval, and a paired t-test of ``mixture - alone`` (paired by seed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from wmverse.canvas.curriculum import bind_sources
from wmverse.canvas.data import HeterogeneousDataset, Source, build_mixed_dataloader
from wmverse.canvas.forecast import TARGETS, ar1_fit
from wmverse.canvas.model import CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import BoundSchema
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig

US = "FRED-macrodata"


@dataclass
class QualityConfig:
    """The zero-overlap experiment."""

    n_steps: int = 500
    """Optimiser steps of every model (alone or mixture): the same budget."""
    batch_size: int = 32
    """Windows per step."""
    window: int = 4
    """Rows per window (context + the forecast row)."""
    model: CanvasModelConfig = field(
        default_factory=lambda: CanvasModelConfig(d_model=32, n_layers=2, n_heads=4)
    )
    """Network size (as ``wmverse canvas forecast``)."""
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(lr=2e-3, mask_ratio=0.15, weight_decay=1e-3)
    )
    """Optimisation (its seed is replaced by each seed)."""
    test_start: dict[str, str] = field(
        default_factory=lambda: {
            US: "2000-01-01",  # 1959Q2-1999Q4 train, 2000Q1-2009Q3 held out (as `canvas forecast`)
            "Germany-macro": "1994-01-01",  # 1972Q2-1993Q4 train, 1994Q1-1998Q4 held out
            "Yahoo-vega-stocks": "2008-01-01",  # 2000-01..2007-12 train, 2008-01..2010-03 held out
        }
    )
    """First held-out date of each dataset (about the last fifth of its rows)."""
    arms: tuple[str, ...] = ("alone", "mixture")
    """``alone``, ``mixture``, and variants of the mixture: ``mixture_no_regime`` (``n_regime=0``),
    ``mixture_no_semantic_type`` (no semantic-type embedding), ``mixture_equal_exposure`` (``n_steps``
    times the number of datasets: each dataset gets as many of its own windows as alone)."""


def quality_sources() -> list[Source]:
    """US macro (statsmodels), German inflation/long rate (statsmodels), five stocks (vega_datasets)."""
    from wmverse.canvas.adapters import fred_adapter, german_macro_adapter, yahoo_finance_adapter

    return [fred_adapter(), german_macro_adapter(), yahoo_finance_adapter()]


def check_disjoint(sources: Sequence[Source]) -> None:
    """Raise ``ValueError`` if two sources share a field path."""
    seen: dict[str, str] = {}
    for spec, _ in sources:
        for s in spec.input_specs:
            if s.field_path in seen:
                raise ValueError(f"{spec.name} and {seen[s.field_path]} share field {s.field_path}")
            seen[s.field_path] = spec.name


@dataclass
class HeldOut:
    """One dataset's held-out windows and everything its baselines need."""

    source: Source
    """The full ``(spec, data)``."""
    train: Source
    """Its rows before the split."""
    test: HeterogeneousDataset
    """Held-out windows, normalised with the training rows' statistics (on the dataset's own canvas)."""
    mask: np.ndarray
    """(W, N) target rows with both the value and the previous one present."""


def held_out(source: Source, test_start: str, window: int) -> HeldOut:
    spec, data = source
    start = pd.Timestamp(test_start)
    train_end = data.index[data.index < start][-1]
    bound = bind_sources([source])
    test = HeterogeneousDataset(bound, [source], window, fit_until=train_end, end_between=(start, None))
    p = test.stacked()["presence"].numpy()
    return HeldOut(source, (spec, data.loc[:train_end]), test, (p[:, -1] > 0) & (p[:, -2] > 0))


def _rmse(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt(((pred - truth) ** 2)[mask].mean()))


def baseline_forecasts(h: HeldOut) -> dict[str, np.ndarray]:
    """Normalised forecasts ``(W, N)`` of the random walk and the per-series AR(1) (fit on training rows)."""
    v = h.test.stacked()["values"].numpy()
    arr = h.test.sources[0]
    train_rows = np.asarray(arr.index <= h.train[1].index[-1])
    ar = v[:, -2].copy()
    for j in range(v.shape[2]):
        c, phi = ar1_fit(np.where(arr.presence[:, j] > 0, arr.values[:, j], np.nan)[train_rows])
        ar[:, j] = c + phi * v[:, -2, j]
    return {"random walk": v[:, -2], "AR(1)": ar}


def us_targets_pp(h: HeldOut, pred: np.ndarray) -> dict[str, float]:
    """Inflation and unemployment RMSE (percentage points) of normalised predictions on the US canvas."""
    real = h.test.denormalise(0, pred)
    truth = h.test.denormalise(0, h.test.stacked()["values"].numpy()[:, -1])
    out = {}
    for key, path in TARGETS.items():
        j = h.test.bound.position(path)
        out[key] = _rmse(real[:, j], truth[:, j], h.mask[:, j])
    return out


def train_canvas(
    sources: Sequence[Source], cfg: QualityConfig, seed: int, model_cfg=None
) -> MaskedCanvasTrainer:
    """The canvas model trained ``cfg.n_steps`` steps on the (training spans of) ``sources``."""
    bound = bind_sources(sources)
    loader = build_mixed_dataloader(bound, sources, cfg.batch_size, cfg.window, seed=seed)
    model = CanvasWorldModel(bound, model_cfg or cfg.model, seed=seed)
    trainer = MaskedCanvasTrainer(bound, model=model, config=replace(cfg.trainer, seed=seed))
    trainer.train(loader, cfg.n_steps)
    return trainer


def forecast_on(trainer: MaskedCanvasTrainer, h: HeldOut) -> np.ndarray:
    """Normalised one-step-ahead forecasts of ``h``'s windows, laid out on the dataset's own canvas."""
    own: BoundSchema = h.test.bound
    w = h.test.stacked()
    ids = torch.as_tensor([trainer.bound.position(p) for p in own.paths])
    n = trainer.bound.n_fields
    big = {k: torch.zeros(*w[k].shape[:-1], n) for k in ("values", "presence")}
    sem = torch.zeros(w["semantic_type"].shape[0], n, w["semantic_type"].shape[-1])
    for k in big:
        big[k][..., ids] = w[k]
    sem[:, ids] = w["semantic_type"]
    return trainer.forecast(big["values"], big["presence"], semantic_type=sem)[:, ids].numpy()


def summarise(x: Sequence[float]) -> dict:
    """Mean, 95% t-interval and the values."""
    from scipy import stats

    a = np.asarray(x, dtype=float)
    half = (
        float(stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else math.nan
    )
    return {
        "mean": float(a.mean()),
        "ci95": [float(a.mean()) - half, float(a.mean()) + half],
        "per_seed": a.tolist(),
    }


def paired(a: Sequence[float], b: Sequence[float]) -> dict:
    """``b - a`` paired by seed: mean, 95% interval, two-sided paired t-test p, seeds where b < a."""
    from scipy import stats

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    out = summarise(d)
    out["p_value"] = float(stats.ttest_rel(b, a).pvalue) if len(d) > 1 and d.std() > 0 else math.nan
    out["b_better"] = int((d < 0).sum())
    return out


ARMS = ("alone", "mixture", "mixture_no_regime", "mixture_no_semantic_type", "mixture_equal_exposure")
_ABLATIONS = {
    "mixture_no_regime": {"n_regime": 0},
    "mixture_no_semantic_type": {"semantic_type_embedding": False},
}


def run_zero_overlap(
    seeds: Sequence[int] = (0, 1, 2, 3, 4), cfg: QualityConfig | None = None, progress: bool = False
) -> dict:
    """Run every arm for every seed; the table described in the module doc (JSON-safe)."""
    cfg = cfg or QualityConfig()
    if set(cfg.arms) - set(ARMS):
        raise ValueError(f"unknown arms {sorted(set(cfg.arms) - set(ARMS))}; known: {ARMS}")
    sources = quality_sources()
    check_disjoint(sources)
    helds = {s.name: held_out((s, d), cfg.test_start[s.name], cfg.window) for s, d in sources}
    train = [h.train for h in helds.values()]
    truths = {n: h.test.stacked()["values"].numpy()[:, -1] for n, h in helds.items()}
    nrmse: dict[str, dict[str, list[float]]] = {n: {a: [] for a in cfg.arms} for n in helds}
    pp: dict[str, list[dict[str, float]]] = {a: [] for a in cfg.arms}
    for seed in seeds:
        for arm in cfg.arms:
            if arm == "alone":
                trained = {n: train_canvas([h.train], cfg, seed) for n, h in helds.items()}
            else:
                mcfg = replace(cfg.model, **_ABLATIONS.get(arm, {}))
                steps = cfg.n_steps * (len(train) if arm == "mixture_equal_exposure" else 1)
                one = train_canvas(train, replace(cfg, n_steps=steps), seed, mcfg)
                trained = {n: one for n in helds}
            for n, h in helds.items():
                pred = forecast_on(trained[n], h)
                nrmse[n][arm].append(_rmse(pred, truths[n], h.mask))
                if n == US:
                    pp[arm].append(us_targets_pp(h, pred))
            if progress:
                print(f"seed {seed} {arm}: " + ", ".join(f"{n} {nrmse[n][arm][-1]:.3f}" for n in helds))
    out: dict = {"seeds": list(seeds), "n_steps": cfg.n_steps, "datasets": {}, "us_targets_pp": {}}
    for n, h in helds.items():
        row: dict = {
            "test_start": cfg.test_start[n],
            "n_test_windows": len(h.test),
            "n_series": len(h.source[0].input_specs),
            "baselines": {b: _rmse(f, truths[n], h.mask) for b, f in baseline_forecasts(h).items()},
        }
        row.update({a: summarise(nrmse[n][a]) for a in cfg.arms})
        if "alone" in cfg.arms:
            row["paired"] = {a: paired(nrmse[n]["alone"], nrmse[n][a]) for a in cfg.arms if a != "alone"}
        if "mixture" in cfg.arms:  # what each component adds: mixture - mixture without it
            row["component"] = {
                a: paired(nrmse[n][a], nrmse[n]["mixture"]) for a in cfg.arms if a in _ABLATIONS
            }
        out["datasets"][n] = row
    base_pp = {b: us_targets_pp(helds[US], f) for b, f in baseline_forecasts(helds[US]).items()}
    for key in TARGETS:
        out["us_targets_pp"][key] = {b: base_pp[b][key] for b in base_pp}
        out["us_targets_pp"][key].update({a: summarise([r[key] for r in pp[a]]) for a in cfg.arms})
        if "alone" in cfg.arms:
            alone = [r[key] for r in pp["alone"]]
            out["us_targets_pp"][key]["paired"] = {
                a: paired(alone, [r[key] for r in pp[a]]) for a in cfg.arms if a != "alone"
            }
    return out


def canvas_quality(
    seeds: Sequence[int] = (0, 1, 2, 3, 4), cfg: QualityConfig | None = None, progress: bool = False
) -> dict:
    """For ``wmverse eval``: the zero-overlap experiment (canvas trained on one dataset vs on the
    mixture, random walk, AR(1)) with a one-line verdict per dataset (``verdict``) and whether the
    mixture model beats both baselines on each dataset's mean (``mixture_beats_baselines``)."""
    if not {"alone", "mixture"} <= set((cfg or QualityConfig()).arms):
        raise ValueError("canvas_quality needs the 'alone' and 'mixture' arms")
    res = run_zero_overlap(seeds, cfg, progress)
    verdict = {}
    for n, row in res["datasets"].items():
        d = row["paired"]["mixture"]
        lo, hi = d["ci95"]
        if hi < 0:
            verdict[n] = "mixture helps (paired 95% interval below 0)"
        elif lo > 0:
            verdict[n] = "mixture hurts (paired 95% interval above 0)"
        else:
            verdict[n] = "no significant difference"
    res["verdict"] = verdict
    res["mixture_beats_baselines"] = {
        n: bool(row["mixture"]["mean"] < min(row["baselines"].values())) for n, row in res["datasets"].items()
    }
    return res


def format_quality(res: dict) -> str:
    """The zero-overlap table as text: per dataset, normalised RMSE (mean [95% interval]) per arm,
    the baselines, and the paired difference of every mixture arm against ``alone``."""

    def ci(s: dict) -> str:
        return f"{s['mean']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"

    lines = [f"zero-overlap experiment: seeds {res['seeds']}, {res['n_steps']} steps per model"]
    for n, row in res["datasets"].items():
        b = row["baselines"]
        lines.append(
            f"{n} (held out from {row['test_start']}, {row['n_test_windows']} windows, {row['n_series']} series): "
            f"random walk {b['random walk']:.3f}, AR(1) {b['AR(1)']:.3f}"
        )
        for arm, s in row.items():
            if isinstance(s, dict) and "per_seed" in s:
                lines.append(f"  {arm:<26} {ci(s)}")
        for arm, d in row.get("paired", {}).items():
            lines.append(
                f"  {arm} - alone: {ci(d)}, paired t-test p={d['p_value']:.3g}, "
                f"better in {d['b_better']}/{len(d['per_seed'])} seeds"
            )
        for arm, d in row.get("component", {}).items():
            lines.append(
                f"  mixture - {arm}: {ci(d)}, paired t-test p={d['p_value']:.3g}, "
                f"mixture better in {d['b_better']}/{len(d['per_seed'])} seeds"
            )
    for key, row in res["us_targets_pp"].items():
        parts = [
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {ci(v)}"
            for k, v in row.items()
            if k != "paired"
        ]
        lines.append(f"US {key} RMSE (pp): " + ", ".join(parts))
        for arm, d in row.get("paired", {}).items():
            lines.append(f"  {arm} - alone: {ci(d)}, paired t-test p={d['p_value']:.3g}")
    for n, v in res.get("verdict", {}).items():
        lines.append(f"verdict {n}: {v}")
    return "\n".join(lines)
