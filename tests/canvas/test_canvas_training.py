import numpy as np
import pytest
import torch

from wmverse.canvas.data import HeterogeneousDataset, build_mixed_dataloader
from wmverse.canvas.losses import masked_canvas_loss
from wmverse.canvas.model import HIDDEN, OBSERVED, CanvasWorldModel, last_visible
from wmverse.canvas.schema import default_schema
from wmverse.canvas.specs import SpecError
from wmverse.canvas.testing import FRED_LIKE, NEWS_LIKE, SMALL, YAHOO_LIKE, make_source
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig, source_names


def three_sources():
    return [
        make_source("A", FRED_LIKE, seed=1),
        make_source("B", YAHOO_LIKE, seed=2),
        make_source("C", NEWS_LIKE, n=60, seed=3, freq="D"),
    ]


def test_masked_loss_counts_only_present_positions():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(4, 3, 5, generator=g), torch.randn(4, 3, 5, generator=g)
    presence = (torch.rand(4, 3, 5, generator=g) > 0.5).float()
    w = torch.rand(4, 1, 5, generator=g)
    loss = masked_canvas_loss(pred, target, presence, w)
    assert torch.allclose(loss, ((pred - target) ** 2 * presence * w).sum())
    # anything at absent positions (even NaN targets, wild predictions) changes nothing
    t2 = torch.where(presence > 0, target, torch.full_like(target, float("nan")))
    p2 = torch.where(presence > 0, pred, pred + 1e6)
    assert torch.allclose(masked_canvas_loss(p2, t2, presence, w), loss)
    assert float(masked_canvas_loss(pred, target, torch.zeros_like(presence), w)) == 0.0
    mean = masked_canvas_loss(pred, target, presence, w, normalize=True)
    assert torch.allclose(mean, loss / (presence * w).sum())


def test_dataset_places_values_with_presence_and_train_only_stats():
    bound = default_schema().bind(FRED_LIKE + YAHOO_LIKE)
    spec, data = make_source("A", FRED_LIKE)
    data.iloc[3, 0] = np.nan
    ds = HeterogeneousDataset(bound, [(spec, data)], window=5, fit_until=data.index[19])
    arr = ds.sources[0]
    assert arr.presence[:, 2:].sum() == 0 and arr.presence[3, 0] == 0 and arr.presence[4, 0] == 1
    train = data.iloc[:20, 1]
    assert arr.mean[1] == pytest.approx(train.mean()) and arr.std[1] == pytest.approx(train.std(ddof=0))
    assert arr.loss_weight.tolist() == [1, 1, 0, 0]
    item = ds[0]
    assert item["values"].shape == (5, 4) and item["presence"].shape == (5, 4)
    held = HeterogeneousDataset(
        bound, [(spec, data)], window=5, fit_until=data.index[19], end_between=(data.index[20], None)
    )
    assert len(held) == 20 and all(int(held[i]["end_time"]) >= data.index[20].value for i in range(len(held)))
    with pytest.raises(SpecError, match="no window"):
        HeterogeneousDataset(bound, [(spec, data)], window=100)


def test_loader_is_seeded_and_balanced():
    srcs = three_sources()
    bound = default_schema().bind(FRED_LIKE + YAHOO_LIKE + NEWS_LIKE)
    a = [b["source"] for b in build_mixed_dataloader(bound, srcs, batch_size=16, window=4, seed=3)]
    b = [b["source"] for b in build_mixed_dataloader(bound, srcs, batch_size=16, window=4, seed=3)]
    c = [b["source"] for b in build_mixed_dataloader(bound, srcs, batch_size=16, window=4, seed=4)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    counts = torch.bincount(torch.cat(a), minlength=3).float()
    assert counts.min() / counts.max() > 0.5  # uniform over sources although C is longer


def test_zero_overlap_datasets_all_train_the_shared_backbone():
    srcs = three_sources()
    bound = default_schema().bind(FRED_LIKE + YAHOO_LIKE + NEWS_LIKE)
    ds = HeterogeneousDataset(bound, srcs, window=4)
    model = CanvasWorldModel(bound, SMALL, seed=0)
    trainer = MaskedCanvasTrainer(bound, model=model, config=TrainerConfig(seed=0))
    for k in range(3):
        rows = [i for i in range(len(ds)) if ds.items[i, 0] == k][:8]
        batch = {key: torch.stack([ds[i][key] for i in rows]) for key in ds[0]}
        model.zero_grad()
        loss, _ = trainer._loss(batch, None, trainer.make_state(batch["presence"]))
        loss.backward()
        grads = [p.grad.abs().sum() for p in model.backbone.parameters() if p.grad is not None]
        assert grads and sum(grads) > 0, f"dataset {k} did not reach the backbone"
        # and it only teaches its own fields' decoders
        own = [bound.position(p) for p in (FRED_LIKE, YAHOO_LIKE, NEWS_LIKE)[k]]
        others = [i for i in range(bound.n_fields) if i not in own]
        assert model.decoder.bias.grad[own].abs().sum() > 0
        assert model.decoder.bias.grad[others].abs().sum() == 0


def test_training_is_deterministic_and_learns():
    srcs = three_sources()
    bound = default_schema().bind(FRED_LIKE + YAHOO_LIKE + NEWS_LIKE)

    def run(seed):
        loader = build_mixed_dataloader(bound, srcs, batch_size=16, window=4, seed=seed)
        tr = MaskedCanvasTrainer(
            bound,
            model_config=SMALL,
            config=TrainerConfig(seed=seed, lr=3e-3),
            source_names=source_names(loader.dataset),
        )
        first = tr.train(loader, 3)
        return first, tr.train(loader, 40), tr.evaluate(loader.dataset)

    a, b = run(0), run(0)
    assert a == b
    assert run(1)[0]["loss"] != a[0]["loss"]
    assert {"loss/A", "loss/B", "loss/C"} <= set(a[1])
    assert a[1]["loss"] < a[0]["loss"]
    assert set(a[2]) == {"rmse", "rmse/A", "rmse/B", "rmse/C"}


def test_persistence_skip_uses_latest_visible_value():
    v = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    vis = torch.tensor([[[True], [False], [True], [False]]])
    assert last_visible(v, vis).flatten().tolist() == [1.0, 1.0, 3.0, 3.0]
    vis0 = torch.zeros_like(vis)
    assert last_visible(v, vis0).abs().sum() == 0


def test_forecast_hides_the_last_step():
    bound = default_schema().bind(FRED_LIKE)
    tr = MaskedCanvasTrainer(bound, model_config=SMALL)
    v = torch.randn(2, 4, 2)
    p = torch.ones(2, 4, 2)
    out = tr.forecast(v, p)
    v2 = v.clone()
    v2[:, -1] = 1e3  # the future value must not leak into its forecast
    assert torch.allclose(out, tr.forecast(v2, p))
    state = torch.full((2, 4, 2), OBSERVED)
    state[:, -1] = HIDDEN
    assert out.shape == (2, 2)


def test_custom_encoder_decoder_and_loss_fn():
    from torch import nn

    from wmverse.canvas.model import custom_modules_from_specs
    from wmverse.canvas.trainer import custom_losses_from_dataset

    spec, data = make_source("A", FRED_LIKE)
    enc, dec = nn.Linear(1, 16), nn.Linear(16, 1)
    spec.input_specs[0].encoder = enc
    spec.output_specs[0].decoder = dec
    spec.output_specs[1].loss_fn = lambda p, t: (p - t).abs()
    bound = default_schema().bind(FRED_LIKE)
    e, d = custom_modules_from_specs([spec])
    model = CanvasWorldModel(bound, SMALL, custom_encoders=e, custom_decoders=d)
    ds = HeterogeneousDataset(bound, [(spec, data)], window=4)
    tr = MaskedCanvasTrainer(bound, model=model, custom_losses=custom_losses_from_dataset(ds))
    batch = {k: torch.stack([ds[i][k] for i in range(8)]) for k in ds[0]}
    tr.step(batch)
    assert enc.weight.grad is not None and dec.weight.grad is not None
    other = make_source("B", FRED_LIKE)[0]
    other.input_specs[0].encoder = nn.Linear(1, 16)
    with pytest.raises(ValueError, match="two different custom encoders"):
        custom_modules_from_specs([spec, other])
