"""Shapes, gradients and validation of the SLM, the BLM (router) and the whole system."""

import math

import pytest
import torch

from wmverse.leworld import (
    BigLeWorldModel,
    BLMConfig,
    LeWorldSystem,
    Router,
    SLMConfig,
    SmallLeWorldModel,
    count_params,
)


def test_slm_shapes_hard_addresses_and_gradients(lw):
    slm = SmallLeWorldModel(lw.SLM, lw.MEM, seed=0)
    past, cur, chars = torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 32)
    out = slm(past, cur, chars, modulation=torch.randn(4, 2, 16))
    half = lw.MEM.half_space
    assert out["start_logits_high"].shape == (4, half) and out["range_logits"].shape == (4, 16)
    assert out["hidden"].shape == (4, 16) and out["confidence"].shape == (4,)
    torch.testing.assert_close(out["start_addr"], out["start_high"] * half + out["start_low"])
    assert torch.all(out["end_addr"] <= lw.MEM.num_words) and torch.all(out["range_len"] >= 1)
    (out["start_logits_high"].sum() + out["confidence"].sum()).backward()
    assert all(p.grad is not None for p in slm.trunk.parameters())
    with pytest.raises(ValueError, match="characteristics"):
        slm(past, cur, torch.randn(4, 7))


def test_router_straight_through_and_annealing():
    router = Router(temperature_init=1.0)
    logits = torch.tensor([[-1.0, 0.5, 2.0]], requires_grad=True)
    mask, probs = router(logits)
    assert mask.tolist() == [[0.0, 1.0, 1.0]]
    mask.sum().backward()
    torch.testing.assert_close(logits.grad, probs * (1 - probs))  # gradient of the sigmoid
    assert router.anneal_temperature(0, 0.1, 0.05) == pytest.approx(1.0)
    assert router.anneal_temperature(10, 0.1, 0.05) == pytest.approx(math.exp(-1.0))
    assert float(router.temperature) == pytest.approx(math.exp(-1.0))
    assert router.anneal_temperature(1000, 0.1, 0.05) == pytest.approx(0.05)
    # a lower temperature sharpens the gates
    sharp = router(torch.tensor([[0.5]]))[1]
    router.anneal_temperature(0, 0.1, 0.05)
    assert float(sharp) > float(router(torch.tensor([[0.5]]))[1])
    with pytest.raises(ValueError, match="rate"):
        router.anneal_temperature(1, -1.0, 0.1)


def test_blm_shapes_and_gradients(lw):
    blm = BigLeWorldModel(lw.BLM, slm_hidden_dim=16, read_dim=8, seed=0)
    slm_out = [
        {"hidden": torch.randn(5, 16, requires_grad=True), "confidence": torch.rand(5)} for _ in range(3)
    ]
    reads = [torch.randn(5, 8, requires_grad=True) for _ in range(3)]
    out = blm(torch.randn(5, 8), torch.randn(5, 8), slm_out, reads)
    assert out["next_state"].shape == (5, 8) and out["mask"].shape == (5, 3)
    assert out["info_query"].shape == (5, 4) and torch.all(out["info_query"].abs() <= 1)
    (out["next_state"].sum() + out["info_query"].sum()).backward()
    assert reads[0].grad is not None and slm_out[0]["hidden"].grad is not None
    with pytest.raises(ValueError, match="expects 3 SLM outputs"):
        blm(torch.randn(5, 8), torch.randn(5, 8), slm_out[:2], reads[:2])
    with pytest.raises(ValueError, match="reads 8"):
        blm(torch.randn(5, 8), torch.randn(5, 8), slm_out, [torch.randn(5, 9)] * 3)


def test_system_multi_step_forward_and_gradients_everywhere(lw):
    system = lw.system()
    ds = lw.dataset(system, 8)
    b = ds.batch(torch.arange(8))
    out = system.multi_step_forward(
        b["states"], b["characteristics"], regions=(b["relevant_starts"], b["relevant_ends"])
    )
    assert out["predictions"].shape == (8, 4, 8) and out["masks"].shape == (8, 4, 3)
    assert out["addresses"].shape == (8, 4, 3, 2) and out["info_queries"].shape == (8, 4, 4)
    assert out["total_loss"].dim() == 0 and torch.isfinite(out["total_loss"])
    out["total_loss"].backward()
    for name, module in (
        ("memory encoder", system.memory.encoder),
        ("slm trunk", system.slms[0].trunk),
        ("slm address high", system.slms[1].address_head.high),
        ("slm address low", system.slms[2].address_head.low),
        ("slm range", system.slms[0].address_head.range),
        ("blm", system.blm.trunk),
        ("blm gate", system.blm.gate),
        ("info request", system.blm.info_request),
        ("info to slm", system.info_to_slm),
    ):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0, name


def test_open_loop_and_n_steps(lw):
    system = lw.system()
    b = lw.dataset(system, 4).batch(torch.arange(4))
    out = system.multi_step_forward(b["states"], b["characteristics"], 2, open_loop=True)
    assert out["predictions"].shape == (4, 2, 8)
    with pytest.raises(ValueError, match="states must be"):
        system.multi_step_forward(b["states"][:, :1], b["characteristics"])


def test_baseline_read_modes(lw):
    b = lw.dataset(lw.system(), 4).batch(torch.arange(4))
    free = lw.system(read_mode="zero")
    out = free(b["states"][:, 0], b["states"][:, 1], b["characteristics"])
    assert all(float(r.abs().sum()) == 0 for r in out["reads"])
    oracle = lw.system(read_mode="oracle")
    with pytest.raises(ValueError, match="regions"):
        oracle(b["states"][:, 0], b["states"][:, 1], b["characteristics"])
    out = oracle(
        b["states"][:, 0],
        b["states"][:, 1],
        b["characteristics"],
        regions=(b["relevant_starts"], b["relevant_ends"]),
    )
    expected = oracle.memory.read(b["relevant_starts"][:, 0], b["relevant_ends"][:, 0]).encoded
    torch.testing.assert_close(out["reads"][0], expected)


def test_bad_system_configurations_fail_clearly(lw):
    with pytest.raises(ValueError, match="n_slms must be at least 1"):
        BLMConfig(n_slms=0)
    with pytest.raises(ValueError, match="mismatched dimensions: SLM state_dim"):
        LeWorldSystem(lw.MEM, SLMConfig(state_dim=8), BLMConfig(state_dim=16))
    with pytest.raises(ValueError, match="info_dim"):
        LeWorldSystem(lw.MEM, SLMConfig(info_dim=4), BLMConfig(info_dim=8))
    with pytest.raises(ValueError, match="read_mode"):
        LeWorldSystem(lw.MEM, lw.SLM, lw.BLM, read_mode="psychic")


def test_seeded_construction_is_deterministic(lw):
    a, b, c = lw.system(seed=1), lw.system(seed=1), lw.system(seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert count_params(a) == count_params(c) > 0
