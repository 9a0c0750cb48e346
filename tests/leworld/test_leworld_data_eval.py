"""Dataset semantics, Evaluator metrics and baselines, the pipeline and the CLI."""

import math

import pytest
import torch

from wmverse.leworld import Evaluator, StateTransitionDataset, default_system, run_training
from wmverse.leworld.data import code_size


def test_dataset_shapes_codes_and_dynamics(lw):
    system = lw.system()
    ds = lw.dataset(system, 12, "medium", seed=1)
    item = ds[0]
    assert item["states"].shape == (5, 8) and item["characteristics"].shape == (32,)
    assert item["relevant_starts"].shape == (3,) and item["n_relevant"] == 2
    ends, starts = ds.relevant_ends, ds.relevant_starts
    assert torch.all(ends[:, :2] <= lw.MEM.num_words) and torch.all(ends[:, :2] - starts[:, :2] >= 2)
    assert torch.all(ends[:, :2] - starts[:, :2] <= lw.MEM.max_read_range) and torch.all(ends[:, 2] == 0)
    # the characteristics carry the high byte of range 0 as +/-1 bits
    half = lw.MEM.half_space
    hb = int(math.log2(half))
    bits = (ds.characteristics[:, :hb] > 0).long()
    assert torch.equal((bits << torch.arange(hb)).sum(1), starts[:, 0] // half)
    # the transition rule: the residual is 0.15 * (sum of the ranges' seeds) + 0.05 * chars + noise
    seeds = system.memory.range_mean(starts[:, :2], ends[:, :2]) * 2 - 1  # (S, 2, 16)
    drift = 0.15 * seeds.sum(1).repeat(1, 1)[:, :8] + 0.05 * ds.characteristics[:, :8]
    resid = ds.states[:, 1:] - 0.8 * ds.states[:, :-1] - drift.unsqueeze(1)
    assert resid.std().item() == pytest.approx(0.1, abs=0.02)


def test_dataset_is_seeded_and_validates(lw):
    system = lw.system()
    a, b, c = (lw.dataset(system, 6, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.states, b.states) and not torch.equal(a.states, c.states)
    with pytest.raises(ValueError, match="difficulty"):
        lw.dataset(system, 4, "extreme")
    with pytest.raises(ValueError, match="char_dim 10 too small"):
        StateTransitionDataset(4, 5, 8, 10, system.memory, "hard")
    assert code_size(system.memory, 3) == 3 * (2 * 5 + 4)
    assert len(list(a.batches(4))) == 2


def test_evaluator_metrics_and_gap(lw):
    system = lw.system()
    ds = lw.dataset(system, 8)
    res = Evaluator.evaluate(
        system, ds, 3, memory_free=lw.system(read_mode="zero"), oracle=lw.system(read_mode="oracle")
    )
    m = res["leworld"]
    assert set(m) >= {"mse", "mae", "step_mses", "routing_entropy", "slm_usage", "address_accuracy"}
    assert len(m["step_mses"]) == 3 and len(m["slm_usage"]) == 3 and m["mse"] > 0
    with torch.no_grad():
        out = system.multi_step_forward(ds.states, ds.characteristics)
    assert m["mse"] == pytest.approx(float(((out["predictions"] - ds.states[:, 1:]) ** 2).mean()), rel=1e-5)
    free, orc = res["memory_free"]["mse"], res["oracle"]["mse"]
    if free > orc:
        assert res["gap_closed"] == pytest.approx((free - m["mse"]) / (free - orc))
    table = Evaluator.format_table(res)
    assert "memory_free" in table and "oracle" in table and "gap" in table
    assert system.training  # evaluation restores the training mode


def test_run_training_small_end_to_end(lw):
    cfg = lw.train_config(phase1_epochs=1, phase2_epochs=1, phase3_epochs=1)
    system = lw.system()
    lines = []
    res = run_training(system, cfg, 16, 8, difficulty="easy", log=lines.append)
    assert {"leworld", "memory_free", "oracle", "gap_closed", "history"} <= set(res)
    assert any("phase 3 epoch 1/1" in line for line in lines) and "MSE" in lines[-1]
    with pytest.raises(ValueError, match="mismatched dimensions"):
        run_training(default_system(lw.train_config(state_dim=16)), cfg, 4, 4)


def test_cli_train_runs_and_prints_the_table(capsys, tmp_path):
    import torch

    from wmverse.cli import main
    from wmverse.leworld.pipeline import DEMO_MEMORY, default_system, demo_config

    code = main(
        ["leworld", "train", "--difficulty", "easy", "--sequences", "8", "--seed", "1",
         "--phase1-epochs", "1", "--phase2-epochs", "1", "--phase3-epochs", "1", "--save", str(tmp_path / "lw.pt")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "phase 2 epoch 1/1" in out and "oracle" in out and "memory-free baseline" in out
    saved = torch.load(tmp_path / "lw.pt", weights_only=False)
    fresh = default_system(demo_config("easy", seed=2), memory=DEMO_MEMORY)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    fresh.load_state_dict(saved["system"])
    changed = [k for k, v in fresh.state_dict().items() if not torch.equal(v, before[k])]
    assert saved["difficulty"] == "easy" and changed  # the trained weights, restorable into a new system
