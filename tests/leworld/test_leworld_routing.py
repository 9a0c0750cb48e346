"""Sparse routing: the router's top-k cap, the sparsity and load-balancing terms, the routing
metrics, the specialty data layout and presence-aware phase 1."""

import math

import pytest
import torch

from wmverse.leworld import (
    BLMConfig,
    Evaluator,
    LeWorldSystem,
    Phase1Trainer,
    Phase2Trainer,
    Router,
    StateTransitionDataset,
    TrainingConfig,
)
from wmverse.leworld import losses as L
from wmverse.leworld.data import code_size


def test_router_top_k_caps_the_gates_per_input():
    router = Router(top_k=2)
    logits = torch.tensor([[3.0, 2.0, 1.0], [-1.0, 2.0, -3.0], [1.0, 3.0, 2.0]], requires_grad=True)
    mask, probs = router(logits)
    assert mask.tolist() == [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]]  # <= 2 on, each above 0.5
    mask.sum().backward()
    torch.testing.assert_close(logits.grad, probs * (1 - probs))  # straight-through, capped or not
    with pytest.raises(ValueError, match="top_k"):
        Router(top_k=-1)


def test_sparsity_and_load_balance_losses():
    probs = torch.tensor([[0.9, 0.1, 0.2], [0.8, 0.3, 0.1]], requires_grad=True)
    assert float(L.sparsity_loss(probs.detach())) == pytest.approx(2.4 / 6)
    one_slm = torch.tensor([[1.0, 0.0, 0.0]] * 4)
    balanced = torch.eye(3)
    assert float(L.load_balance_loss(one_slm, one_slm)) == pytest.approx(3.0)  # all load on one: n
    assert float(L.load_balance_loss(balanced, balanced)) == pytest.approx(1.0)  # balanced: 1
    mask = (probs > 0.5).float()
    L.load_balance_loss(mask, probs).backward()
    assert probs.grad[:, 0].gt(0).all() and probs.grad[:, 1:].lt(0).all()  # moves mass off the loaded SLM


def test_routing_metrics_per_input_and_of_the_load():
    dense = torch.ones(10, 3)
    entropy, usage = L.routing_entropy(dense)
    assert entropy == pytest.approx(math.log(3)) and usage.tolist() == [1.0, 1.0, 1.0]
    assert L.routing_per_input(dense) == pytest.approx((math.log(3), 3.0))
    # one SLM per input, a different one for different inputs: balanced load, no per-input spread
    one_hot = torch.eye(3).repeat(4, 1)
    assert L.routing_entropy(one_hot)[0] == pytest.approx(math.log(3))
    assert L.routing_per_input(one_hot) == pytest.approx((0.0, 1.0))
    assert L.routing_entropy(torch.zeros(5, 3))[0] == 0.0  # never on: no load to share
    two_of_three = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    assert L.routing_per_input(two_of_three) == pytest.approx((math.log(2), 2.0))


def test_sparsity_term_lowers_routing_entropy(lw):
    """Same tiny system, data and budget: the sparsity term turns SLMs off per input."""

    def per_input(lambda_sparsity):
        system = lw.system()
        ds = lw.dataset(system, 32)
        cfg = lw.train_config(lambda_sparsity=lambda_sparsity, router_lr_scale=10.0)
        trainer = Phase2Trainer(system, cfg, ds)
        for _ in range(4):
            trainer.train_epoch()
        return Evaluator.prediction_accuracy(system, ds, 2)

    dense, sparse = per_input(0.0), per_input(0.05)
    assert sparse["routing_entropy_input"] < dense["routing_entropy_input"] - 0.1
    assert sparse["slms_per_input"] < dense["slms_per_input"] - 0.5


def test_sparsity_and_load_balance_enter_the_total(lw):
    system = LeWorldSystem(lw.MEM, lw.SLM, lw.BLM, loss_weights={"sparsity": 0.5, "load_balance": 0.25})
    ds = lw.dataset(system, 4)
    with torch.no_grad():
        out = system(ds.states[:, 0], ds.states[:, 1], ds.characteristics, ds.states[:, 2])
    parts = out["losses"]
    expected = (
        parts["next_state_loss"] + 0.01 * parts["balance_loss"] + 0.001 * parts["diversity_loss"]
        + 0.01 * parts["entropy_loss"] + 0.5 * parts["sparsity_loss"] + 0.25 * parts["load_balance_loss"]
    )  # fmt: skip
    torch.testing.assert_close(parts["total"], expected)


def test_specialty_layout_puts_each_range_in_its_slms_region(lw):
    system = lw.system()
    ds = StateTransitionDataset(64, 5, 8, 48, system.memory, "medium", seed=3, layout="specialty")
    starts, ends = ds.relevant_starts, ds.relevant_ends
    present = ends > starts
    assert present.sum(1).eq(2).all()  # medium: two of the three specialties per sequence
    assert len({tuple(row) for row in present.tolist()}) == 3  # and which two varies
    region = lw.MEM.num_words // 3
    col = torch.arange(3).expand_as(starts)
    inside = (starts >= col * region) & (ends <= (col + 1) * region)
    assert inside[present].all() and (starts[~present] == 0).all() and (ends[~present] == 0).all()
    per = code_size(system.memory, 1)
    codes = ds.characteristics[:, : 3 * per].view(-1, 3, per)
    assert (codes[~present] == 0).all() and (codes[present].abs() == 1).all()
    # only the used specialties drive the dynamics
    seeds = system.memory.range_mean(starts, ends) * 2 - 1
    drift = 0.15 * (seeds * present.unsqueeze(-1)).sum(1)[:, :8] + 0.05 * ds.characteristics[:, :8]
    resid = ds.states[:, 1:] - 0.8 * ds.states[:, :-1] - drift.unsqueeze(1)
    assert resid.std().item() == pytest.approx(0.1, abs=0.02)
    assert code_size(system.memory, 1, "specialty") == 3 * per
    with pytest.raises(ValueError, match="char_dim 32 too small"):
        StateTransitionDataset(4, 5, 8, 32, system.memory, "easy", layout="specialty")
    with pytest.raises(ValueError, match="layout"):
        StateTransitionDataset(4, 5, 8, 48, system.memory, "easy", layout="rows")


def test_presence_aware_phase1_teaches_confidence_and_distractor_reads(lw):
    system = lw.system()
    ds = lw.dataset(system, 32)  # medium: column 2 is always empty
    cfg = lw.train_config(lambda_confidence=1.0, phase1_lr=1e-2)
    trainer = Phase1Trainer(system, cfg, ds)
    for _ in range(6):
        trainer.train_epoch()
    with torch.no_grad():
        out = system.multi_step_forward(ds.states, ds.characteristics)
    conf = out["confidences"].mean((0, 1))
    assert conf[2] < 0.25 and conf[2] + 0.3 < conf[:2].min()  # the empty column's SLM says so
    # the reference instead trains the empty column's SLM to the null range [0, 1)
    ref = lw.system()
    trainer = Phase1Trainer(ref, lw.train_config(phase1_lr=1e-2), ds)
    for _ in range(6):
        trainer.train_epoch()
    with torch.no_grad():
        addr = ref.multi_step_forward(ds.states, ds.characteristics)["addresses"][:, :, 2]
    assert (addr[..., 0] == 0).float().mean() > 0.9


def test_routing_config_validation():
    with pytest.raises(ValueError, match="router_top_k"):
        BLMConfig(n_slms=3, router_top_k=4)
    with pytest.raises(ValueError, match="router_top_k"):
        BLMConfig(router_top_k=-1)
    for field in ("lambda_sparsity", "lambda_load_balance", "lambda_confidence"):
        with pytest.raises(ValueError, match=field):
            TrainingConfig(**{field: -0.1})
    with pytest.raises(ValueError, match="router_lr_scale"):
        TrainingConfig(router_lr_scale=0)
    with pytest.raises(ValueError, match="phase3_info_objective"):
        TrainingConfig(phase3_info_objective="reward")
    with pytest.raises(ValueError, match="data_layout"):
        TrainingConfig(data_layout="rows")


def test_cli_routed_trains_on_specialty_data(capsys):
    from wmverse.cli import main

    code = main(
        ["leworld", "train", "--difficulty", "easy", "--sequences", "8", "--routed", "--no-baselines",
         "--phase1-epochs", "1", "--phase2-epochs", "1", "--phase3-epochs", "1"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "SLMs/in" in out and "phase 3 epoch 1/1" in out
