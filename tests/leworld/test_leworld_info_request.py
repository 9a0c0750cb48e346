"""Phase 3 trains the info request: the improvement term carries a gradient into the request head
and the SLMs' modulation; the detached reference carries none; the ablation without the request."""

import math

import pytest
import torch

from wmverse.leworld import Evaluator, Phase3Trainer
from wmverse.leworld import losses as L


def _grad_norms(system, loss):
    system.zero_grad()
    loss.backward()
    norms = {}
    for name, module in (
        ("request head", system.blm.info_request),
        ("info to slm", system.info_to_slm),
        ("slm trunk", system.slms[0].trunk),
    ):
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        norms[name] = float(torch.sqrt(sum((g**2).sum() for g in grads))) if grads else 0.0
    return norms


def _phase3(lw, **overrides):
    system = lw.system()
    torch.nn.init.normal_(system.blm.value_hidden.weight, std=0.1)  # as after phase 2: hidden states count
    ds = lw.dataset(system, 16)
    trainer = Phase3Trainer(system, lw.train_config(**overrides), ds)
    return system, trainer.paired_losses(ds.batch(torch.arange(16)))


def test_improvement_gradient_reaches_the_request_and_the_modulation(lw):
    system, parts = _phase3(lw)
    assert parts["improvement"].requires_grad
    norms = _grad_norms(system, parts["improvement"])
    assert norms["request head"] > 0 and norms["info to slm"] > 0 and norms["slm trunk"] > 0


def test_detached_reference_improvement_trains_nothing(lw):
    _, parts = _phase3(lw, phase3_info_objective="detached")
    assert not parts["improvement"].requires_grad


def test_paired_objective_gradient_is_total_plus_lambda_times_branch_with_info():
    total = torch.tensor(1.0, requires_grad=True)
    with_info = torch.tensor(0.4, requires_grad=True)
    without = torch.tensor(0.5, requires_grad=True)
    objective, improvement = L.paired_branch_objective(total, with_info, without, 0.3)
    objective.backward()
    assert float(improvement.detach()) == pytest.approx(0.1)
    assert float(total.grad) == 1.0 and float(with_info.grad) == pytest.approx(0.3)
    assert without.grad is None  # the branch without the request is the baseline: no gradient
    _, frozen = L.paired_branch_objective(total, with_info, without, 0.3, detached=True)
    assert not frozen.requires_grad


def test_phase3_step_moves_the_request_head(lw):
    system = lw.system()
    torch.nn.init.normal_(system.blm.value_hidden.weight, std=0.1)
    ds = lw.dataset(system, 16)
    before = [p.detach().clone() for p in system.blm.info_request.parameters()]
    Phase3Trainer(system, lw.train_config(), ds).train_epoch()
    after = list(system.blm.info_request.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_ablation_without_the_info_request(lw):
    system = lw.system()
    ds = lw.dataset(system, 16)
    trainer = Phase3Trainer(system, lw.train_config(phase3_use_info=False), ds)
    metrics = trainer.train_epoch()
    assert system.use_info is False and math.isnan(metrics["loss_with_info"])
    assert metrics["improvement"] == 0.0 and metrics["loss_without_info"] > 0
    with torch.no_grad():
        off = system.multi_step_forward(ds.states, ds.characteristics, use_info=False)["predictions"]
    res = Evaluator.prediction_accuracy(system, ds, 2)  # the Evaluator follows system.use_info
    assert res["mse"] == pytest.approx(float(((off - ds.states[:, 1:]) ** 2).mean()), rel=1e-5)
