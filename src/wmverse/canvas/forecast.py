"""Held-out one-step-ahead forecasting on statsmodels' US macro data, against a random walk
and an AR(1) fitted on the training span.

Protocol (no leakage): normalisation statistics, AR(1) coefficients and network weights
use rows dated before ``test_start`` only. For every held-out quarter ``t`` each method
sees the true data up to ``t - 1`` (all series, as covariates for the canvas model) and
predicts ``t``. Errors are in the series' own units (percentage points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wmverse.canvas.adapters.fred import fred_adapter
from wmverse.canvas.data import HeterogeneousDataset, build_mixed_dataloader
from wmverse.canvas.model import CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import default_schema
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig

TARGETS = {
    "infl": "country_us.macro.inflation.headline_cpi",
    "unemp": "country_us.macro.labor.unemployment_rate",
}


@dataclass
class ForecastConfig:
    """The macro forecasting experiment."""

    test_start: str = "2000-01-01"
    """First held-out quarter (2000Q1); the held-out span runs to the data's end (2009Q3)."""
    window: int = 4
    """Quarters per window (3 of context + the forecast quarter)."""
    n_steps: int = 600
    """Optimiser steps per seed."""
    batch_size: int = 32
    """Windows per step."""
    seeds: Sequence[int] = (0, 1, 2)
    """One model per seed; the forecast is their mean."""
    model: CanvasModelConfig = field(
        default_factory=lambda: CanvasModelConfig(d_model=32, n_layers=2, n_heads=4)
    )
    """Network size."""
    method: str = "masked"
    """``masked``: MaskedCanvasTrainer, forecast in one pass; ``diffusion``: DiffusionWorldModelTrainer,
    forecast = mean of ``n_samples`` DDIM samples conditioned on the context."""
    n_samples: int = 8
    """Diffusion samples per seed (``method="diffusion"``)."""
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(lr=2e-3, mask_ratio=0.15, weight_decay=1e-3)
    )
    """Optimisation (its seed is replaced by each entry of ``seeds``)."""


def ar1_fit(y: np.ndarray) -> tuple[float, float]:
    """OLS ``y_t = c + phi * y_{t-1}`` on consecutive finite pairs; returns ``(c, phi)``."""
    x, z = y[:-1], y[1:]
    ok = np.isfinite(x) & np.isfinite(z)
    a = np.column_stack([np.ones(ok.sum()), x[ok]])
    c, phi = np.linalg.lstsq(a, z[ok], rcond=None)[0]
    return float(c), float(phi)


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _train_and_forecast(cfg, bound, model, loader, v, p, seed: int, progress: bool, sem=None) -> np.ndarray:
    if cfg.method == "masked":
        trainer = MaskedCanvasTrainer(
            bound, model=model, config=TrainerConfig(**{**cfg.trainer.__dict__, "seed": seed})
        )
        trainer.train(loader, cfg.n_steps, progress=progress, desc=f"canvas seed {seed}")
        return trainer.forecast(v, p, semantic_type=sem).numpy()
    if cfg.method == "diffusion":
        from tqdm.auto import tqdm

        from wmverse.canvas.diffusion import DiffusionConfig, DiffusionWorldModelTrainer
        from wmverse.canvas.trainer import cycle

        dcfg = DiffusionConfig(lr=cfg.trainer.lr, context_drop=cfg.trainer.mask_ratio, seed=seed)
        trainer = DiffusionWorldModelTrainer(bound, model, config=dcfg)
        it = cycle(loader)
        for _ in tqdm(range(cfg.n_steps), desc=f"diffusion seed {seed}", disable=not progress, leave=False):
            trainer.step(next(it))
        cond = p > 0
        cond[:, -1] = False
        samples = trainer.sample(v, cond, n_samples=cfg.n_samples, seed=seed, semantic_type=sem)
        return samples.mean(0)[:, -1].numpy()
    raise ValueError(f"method must be 'masked' or 'diffusion', got {cfg.method!r}")


def run_macro_forecast(cfg: ForecastConfig | None = None, progress: bool = False, source=None) -> dict:
    """Train the canvas model(s), forecast the held-out span, return the RMSE table and predictions.

    ``source`` replaces the bundled ``fred_adapter()`` pair (it must contain ``infl`` and ``unemp``).

    Returns ``{"table": DataFrame (rows: methods, columns: targets), "predictions": DataFrame,
    "n_test": int, "train_span": (first, last), "test_span": (first, last)}``.
    """
    cfg = cfg or ForecastConfig()
    spec, data = source if source is not None else fred_adapter()
    bound = default_schema().bind([s.field_path for s in spec.input_specs])
    test_start = pd.Timestamp(cfg.test_start)
    train_end = data.index[data.index < test_start][-1]
    test = HeterogeneousDataset(
        bound, [(spec, data)], window=cfg.window, fit_until=train_end, end_between=(test_start, None)
    )
    windows = test.stacked()
    v, p, sem = windows["values"], windows["presence"], windows["semantic_type"]
    stamps = pd.DatetimeIndex(windows["end_time"].tolist())
    preds = []
    for seed in cfg.seeds:
        model = CanvasWorldModel(bound, cfg.model, seed=seed)
        loader = build_mixed_dataloader(
            bound,
            [(spec, data)],
            batch_size=cfg.batch_size,
            window=cfg.window,
            seed=seed,
            fit_until=train_end,
            end_between=(None, train_end),
        )
        preds.append(
            test.denormalise(0, _train_and_forecast(cfg, bound, model, loader, v, p, seed, progress, sem))
        )
    canvas = np.mean(preds, axis=0)
    rows: dict[str, dict[str, float]] = {"random walk": {}, "AR(1)": {}, "canvas (ours)": {}}
    out = pd.DataFrame(index=stamps)
    for key, path in TARGETS.items():
        pos = bound.position(path)
        y = data[key].to_numpy(dtype=float)
        pos_t = data.index.get_indexer(stamps)
        truth, lag = y[pos_t], y[pos_t - 1]
        c, phi = ar1_fit(y[: data.index.get_loc(train_end) + 1])
        ar = c + phi * lag
        rows["random walk"][key] = rmse(lag, truth)
        rows["AR(1)"][key] = rmse(ar, truth)
        rows["canvas (ours)"][key] = rmse(canvas[:, pos], truth)
        out[f"{key}_true"], out[f"{key}_rw"], out[f"{key}_ar1"], out[f"{key}_canvas"] = (
            truth,
            lag,
            ar,
            canvas[:, pos],
        )
    table = pd.DataFrame(rows).T
    return {
        "table": table,
        "predictions": out,
        "n_test": len(stamps),
        "train_span": (data.index[0], train_end),
        "test_span": (stamps[0], stamps[-1]),
    }
