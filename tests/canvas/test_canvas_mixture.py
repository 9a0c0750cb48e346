"""Datasets with disjoint fields on one canvas: semantic types, the shared regime latent, the
zero-overlap experiment and the world learner trained on the mixture."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import default_collate

from wmverse.canvas.adapters import german_macro_adapter
from wmverse.canvas.curriculum import bind_sources
from wmverse.canvas.data import HeterogeneousDataset
from wmverse.canvas.model import OBSERVED, CanvasWorldModel
from wmverse.canvas.quality import (
    QualityConfig,
    baseline_forecasts,
    check_disjoint,
    format_quality,
    held_out,
    quality_sources,
    run_zero_overlap,
)
from wmverse.canvas.semantics import SEMANTIC_TYPE_DIM, hash_texts
from wmverse.canvas.specs import DatasetSpec
from wmverse.canvas.testing import FRED_LIKE, SMALL, YAHOO_LIKE, make_source
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig


def retyped(source, prefix: str):
    """The same data and fields, every column's semantic_type prefixed."""
    spec, data = source
    inputs = [replace(s, semantic_type=f"{prefix} {s.semantic_type}") for s in spec.input_specs]
    return DatasetSpec(spec.name, inputs, []), data


def batch_of(ds, n=6):
    return default_collate([ds[i] for i in range(n)])


def test_samples_carry_each_datasets_semantic_type():
    a, b = make_source("A", FRED_LIKE, seed=1), make_source("B", YAHOO_LIKE, seed=2)
    bound = bind_sources([a, b])
    ds = HeterogeneousDataset(bound, [a, b], window=4)
    first_a = ds[0]
    first_b = ds[int(np.flatnonzero(ds.items[:, 0] == 1)[0])]
    pos_a = [bound.position(p) for p in FRED_LIKE]
    pos_b = [bound.position(p) for p in YAHOO_LIKE]
    assert first_a["semantic_type"].shape == (bound.n_fields, SEMANTIC_TYPE_DIM)
    expect = torch.from_numpy(hash_texts([a[0].input_specs[0].semantic_type], SEMANTIC_TYPE_DIM)[0])
    assert torch.allclose(first_a["semantic_type"][pos_a[0]], expect)
    assert first_a["semantic_type"][pos_b].abs().sum() == 0  # A has no column there
    assert (
        first_b["semantic_type"][pos_b].abs().sum() > 0 and first_b["semantic_type"][pos_a].abs().sum() == 0
    )
    # one field, two datasets that say different things about it: different vectors
    other = HeterogeneousDataset(bound, [retyped(a, "year-over-year")], window=4)
    assert not torch.allclose(other[0]["semantic_type"][pos_a[0]], first_a["semantic_type"][pos_a[0]])


def test_semantic_type_changes_predictions_losses_and_evaluation():
    a = make_source("A", FRED_LIKE, seed=1)
    bound = bind_sources([a])
    plain = HeterogeneousDataset(bound, [a], window=4)
    other = HeterogeneousDataset(bound, [retyped(a, "year-over-year percent")], window=4)
    b1, b2 = batch_of(plain), batch_of(other)
    assert torch.equal(b1["values"], b2["values"]) and not torch.equal(
        b1["semantic_type"], b2["semantic_type"]
    )
    model = CanvasWorldModel(bound, SMALL, seed=0)
    tr = MaskedCanvasTrainer(bound, model=model, config=TrainerConfig(seed=0, mask_ratio=0.0))
    state = torch.full_like(b1["values"], OBSERVED, dtype=torch.long)
    model.eval()
    # zero-initialised: a fresh model ignores semantic types ...
    assert torch.equal(
        model(b1["values"], state, semantic_type=b1["semantic_type"]), model(b1["values"], state)
    )
    # ... the trainer feeds them to the model, so the gradient reaches the type embedding ...
    tr.step(b1)
    assert model.encoder.type_weight.grad.abs().sum() > 0 and model.encoder.type_weight.abs().sum() > 0
    # ... and once trained, what a dataset says its column means changes predictions, losses, evaluation
    model.eval()
    p1 = model(b1["values"], state, semantic_type=b1["semantic_type"])
    p2 = model(b1["values"], state, semantic_type=b2["semantic_type"])
    assert (p1 - p2).abs().max() > 1e-5
    hide = tr.make_state(b1["presence"])
    assert abs(tr._loss(b1, None, hide)[0].item() - tr._loss(b2, None, hide)[0].item()) > 1e-7
    assert tr.evaluate(plain)["rmse"] != tr.evaluate(other)["rmse"]
    off = CanvasWorldModel(bound, replace(SMALL, semantic_type_embedding=False), seed=0)
    assert off.encoder.type_weight is None
    MaskedCanvasTrainer(bound, model=off, config=TrainerConfig(seed=0)).step(b1)
    off.eval()
    assert torch.equal(
        off(b1["values"], state, semantic_type=b1["semantic_type"]),
        off(b1["values"], state, semantic_type=b2["semantic_type"]),
    )


def test_shared_regime_latent_is_trained_by_every_dataset_with_zero_overlap():
    a, b = make_source("A", FRED_LIKE, seed=1), make_source("B", YAHOO_LIKE, seed=2)
    bound = bind_sources([a, b])
    ds = HeterogeneousDataset(bound, [a, b], window=4)
    only = {k: default_collate([ds[i] for i in np.flatnonzero(ds.items[:, 0] == k)[:6]]) for k in (0, 1)}
    for k in (0, 1):  # a batch of one dataset alone reaches the shared regime tokens
        assert (
            only[k]["presence"][..., [bound.position(p) for p in (FRED_LIKE, YAHOO_LIKE)[1 - k]]] == 0
        ).all()
        model = CanvasWorldModel(bound, SMALL, seed=0)
        tr = MaskedCanvasTrainer(bound, model=model, config=TrainerConfig(seed=0))
        before = model.regime_tokens.detach().clone()
        tr.step(only[k])
        assert model.regime_tokens.grad.abs().sum() > 0 and not torch.equal(model.regime_tokens, before)
    model = CanvasWorldModel(bound, SMALL, seed=0).eval()
    v, p = only[0]["values"], only[0]["presence"]
    state = torch.where(p > 0, OBSERVED, 0)
    z = model.regime(v, state)
    assert z.shape == (6, 4, SMALL.n_regime, SMALL.d_model)
    assert (z - model.regime(v + 1.0, state)).abs().max() > 1e-4  # the latent reads the data
    out = model(v, state)
    with torch.no_grad():
        model.regime_tokens.add_(
            torch.randn(model.regime_tokens.shape, generator=torch.Generator().manual_seed(0))
        )
    assert (out - model(v, state)).abs().max() > 1e-4  # and the predictions read the latent
    none = CanvasWorldModel(bound, replace(SMALL, n_regime=0), seed=0)
    assert none.regime(v, state).shape == (6, 4, 0, SMALL.d_model)


def test_german_adapter_and_the_zero_overlap_sources():
    spec, data = german_macro_adapter()
    assert list(data.columns) == ["Dp", "R"] and data.shape == (107, 2)
    assert data.index[0] == pd.Timestamp("1972-04-01") and data.index[-1] == pd.Timestamp("1998-10-01")
    assert all(s.field_path.startswith("country_de.") for s in spec.input_specs)
    sources = quality_sources()
    check_disjoint(sources)  # no field shared
    with pytest.raises(ValueError, match="share field"):
        check_disjoint([sources[0], sources[0]])


def test_held_out_split_uses_training_rows_only():
    source = quality_sources()[1]
    h = held_out(source, "1994-01-01", window=4)
    assert h.train[1].index[-1] < pd.Timestamp("1994-01-01")
    ends = pd.DatetimeIndex(h.test.stacked()["end_time"].tolist())
    assert ends.min() >= pd.Timestamp("1994-01-01") and len(ends) == 20
    train_dp = source[1].loc[h.train[1].index, "Dp"]
    pos = h.test.bound.position("country_de.macro.inflation.gdp_deflator")
    assert math.isclose(h.test.sources[0].mean[pos], train_dp.mean(), rel_tol=1e-9)
    rw = baseline_forecasts(h)["random walk"]
    assert np.array_equal(rw, h.test.stacked()["values"].numpy()[:, -2])


def test_zero_overlap_experiment_table_shape():
    cfg = QualityConfig(n_steps=2, model=SMALL, arms=("alone", "mixture", "mixture_no_regime"))
    res = run_zero_overlap((0, 1), cfg)
    assert set(res["datasets"]) == {"FRED-macrodata", "Germany-macro", "Yahoo-vega-stocks"}
    row = res["datasets"]["FRED-macrodata"]
    assert row["n_test_windows"] == 39 and row["baselines"]["AR(1)"] > 0
    assert len(row["alone"]["per_seed"]) == 2 and row["alone"]["ci95"][0] <= row["alone"]["mean"]
    d = row["paired"]["mixture"]
    assert np.allclose(d["per_seed"], np.subtract(row["mixture"]["per_seed"], row["alone"]["per_seed"]))
    assert 0 <= d["p_value"] <= 1 and set(row["paired"]) == {"mixture", "mixture_no_regime"}
    assert set(row["component"]) == {"mixture_no_regime"}  # mixture - mixture without the regime latent
    infl = res["us_targets_pp"]["infl"]
    assert math.isclose(infl["random walk"], 3.8146, abs_tol=1e-3) and math.isclose(
        infl["AR(1)"], 3.3753, abs_tol=1e-3
    )
    text = format_quality(res)
    assert "mixture - alone" in text and "Germany-macro" in text


def test_world_learner_trains_on_the_mixture_and_forecasts_us_targets():
    from agents.learners.canvas import CanvasLearnerConfig, CanvasRunner

    runner = CanvasRunner(CanvasLearnerConfig(phase_steps=(2, 2, 2), batch_size=8))
    names = {s.name for s, _ in runner.trainer.sources}
    assert names == {"FRED-macrodata", "Germany-macro", "Yahoo-vega-stocks"}
    assert max(d.index[-1] for s, d in runner.trainer.sources if s.name == "FRED-macrodata") < pd.Timestamp(
        "2000-01-01"
    )
    for k in range(3):
        runner.run("run_curriculum_phase", {"phase": k})
    ev = runner.run("evaluate", {})
    assert set(ev["rmse"]["canvas"]) == {"infl", "unemp"} and ev["n_test"] == 39
    assert all(math.isfinite(v) for v in ev["rmse"]["canvas"].values())


def test_source_weights_set_how_often_each_dataset_is_drawn():
    from wmverse.canvas.data import build_mixed_dataloader
    from wmverse.canvas.specs import SpecError

    a, b = make_source("A", FRED_LIKE, seed=1), make_source("B", YAHOO_LIKE, n=80, seed=2)
    bound = bind_sources([a, b])

    def share_a(**kw):
        loader = build_mixed_dataloader(
            bound, [a, b], batch_size=64, window=4, seed=0, num_samples=4000, **kw
        )
        return float(np.mean([(batch["source"] == 0).float().mean() for batch in loader]))

    assert abs(share_a() - 0.5) < 0.05  # uniform: each dataset equally often whatever its length
    assert abs(share_a(source_weights={"A": 3.0}) - 0.75) < 0.05
    assert abs(share_a(balance="proportional") - 37 / 114) < 0.05
    with pytest.raises(SpecError, match="source_weights"):
        share_a(source_weights={"A": -1.0})
    with pytest.raises(ValueError, match="unknown arms"):
        run_zero_overlap((0,), QualityConfig(arms=("alone", "bogus")))
