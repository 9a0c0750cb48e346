import math

import torch

from wmverse.canvas.data import HeterogeneousDataset
from wmverse.canvas.diffusion import CosineNoiseSchedule, DiffusionConfig, DiffusionWorldModelTrainer
from wmverse.canvas.model import CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import default_schema

SMALL = CanvasModelConfig(d_model=16, n_layers=1, n_heads=2, dropout=0.1)
PATHS = ["financial.volatility.equity.vix", "country_us.macro.output.gdp_nowcast"]  # daily, quarterly


def test_cosine_schedule_values():
    sch = CosineNoiseSchedule(n_steps=100, s=0.008)
    ab = sch.alpha_bar
    assert ab[0] == 1.0 and ab.shape == (101,)
    assert torch.all(ab[1:] < ab[:-1])
    f = lambda t: math.cos((t / 100 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 25, 50, 75):
        assert float(ab[t]) == pytest_approx(f(t) / f(0))
    assert float(ab[100]) < 1e-3 and float(sch.betas.max()) <= 0.999 + 1e-6
    assert torch.allclose(sch(torch.tensor([0, 50])), ab[[0, 50]])


def pytest_approx(x):
    import pytest

    return pytest.approx(x, rel=1e-4, abs=1e-6)


def _trainer(frequency_aware=True, seed=0):
    bound = default_schema().bind(PATHS)
    model = CanvasWorldModel(bound, SMALL, seed=seed)
    cfg = DiffusionConfig(n_steps=50, sample_steps=5, frequency_aware=frequency_aware, seed=seed)
    return bound, DiffusionWorldModelTrainer(bound, model, config=cfg)


def test_slow_fields_get_less_noise():
    bound, tr = _trainer()
    assert tr.noise_scale[0] == 1.0 and tr.noise_scale[1] == torch.tensor(1 / (1 + math.log(91.0)))
    x0 = torch.zeros(4000, 1, 2)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    xt = tr.noise(x0, torch.full((4000,), 50), eps)
    std = xt.std(dim=(0, 1))
    assert std[1] < 0.4 * std[0]
    _, flat = _trainer(frequency_aware=False)
    assert torch.equal(flat.noise_scale, torch.ones(2))


def _batch(bound):
    import numpy as np
    import pandas as pd

    from wmverse.canvas.specs import DatasetSpec, InputSpec

    idx = pd.date_range("2000-01-01", periods=30, freq="D")
    data = pd.DataFrame({"a": np.sin(np.arange(30) / 3), "b": np.cos(np.arange(30) / 5)}, index=idx)
    spec = DatasetSpec("S", [InputSpec("a", "vix", PATHS[0]), InputSpec("b", "gdp", PATHS[1])])
    ds = HeterogeneousDataset(bound, [(spec, data)], window=4)
    return {k: torch.stack([ds[i][k] for i in range(16)]) for k in ds[0]}


def test_diffusion_training_and_sampling_reinject_conditioning():
    bound, tr = _trainer()
    batch = _batch(bound)
    losses = [tr.step(batch)["loss"] for _ in range(5)]
    assert all(math.isfinite(x) for x in losses)
    cond = torch.ones(2, 4, 2, dtype=torch.bool)
    cond[:, -1] = False
    out = tr.sample(batch["values"][:2], cond, n_samples=3, seed=7)
    assert out.shape == (3, 2, 4, 2)
    assert torch.equal(out[:, :, :-1], batch["values"][:2, :-1].expand(3, -1, -1, -1))
    assert torch.equal(out, tr.sample(batch["values"][:2], cond, n_samples=3, seed=7))
    assert not torch.equal(out, tr.sample(batch["values"][:2], cond, n_samples=3, seed=8))


def test_diffusion_training_is_deterministic():
    a = [_trainer(seed=3)[1] for _ in range(2)]
    batch = _batch(a[0].bound)
    assert [a[0].step(batch)["loss"] for _ in range(3)] == [a[1].step(batch)["loss"] for _ in range(3)]
