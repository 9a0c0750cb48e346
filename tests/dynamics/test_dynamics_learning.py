"""Real learning: every backend fits known dynamics; seeds, snapshots and the ensemble."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
import torch

from wmverse.dynamics import ModelInput, TorchWorldModel, TransitionBackend, build_world_model
from wmverse.dynamics.testing import linear_step, linear_transitions, small_config

ALL_BACKENDS = list(TransitionBackend)


def _fit(wm: TorchWorldModel, n_data: int = 256, steps: int = 150) -> list[float]:
    for inp, nxt, r, d in linear_transitions(n_data, seed=1):
        wm.observe(inp.observation, inp.action, nxt, r, d)
    return wm.train_steps(steps)


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_each_backend_learns_known_dynamics(backend):
    wm = build_world_model(small_config(backend, seed=0))
    held_out = linear_transitions(64, seed=99)
    obs = np.array([t[0].observation for t in held_out])
    acts = np.array([t[0].action for t in held_out])
    truth = np.array([t[1] for t in held_out])
    before = float(((wm.predict_batch(obs, acts)["next_obs"].numpy() - truth) ** 2).mean())
    losses = _fit(wm)
    after = float(((wm.predict_batch(obs, acts)["next_obs"].numpy() - truth) ** 2).mean())
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:3])  # training loss falls far below its start
    assert after < 0.1 * before  # and the fit generalises to held-out states
    reward = wm.predict_batch(obs, acts)["reward"].numpy()
    assert np.abs(reward - truth[:, 0]).mean() < 0.1  # reward head learned x'[0]


def test_update_trains_online_from_buffer_minibatches():
    wm = build_world_model(small_config(batch_size=16))
    data = linear_transitions(300, seed=2)
    losses = [wm.learn(*t) for t in data]
    assert wm.grad_steps == 300 and wm.buffer_size == 300
    assert np.mean(losses[-20:]) < 0.2 * np.mean(losses[:5])


@pytest.mark.parametrize(
    "backend", [TransitionBackend.ENSEMBLE, TransitionBackend.TRANSFORMER], ids=lambda b: b.name
)
def test_same_seed_same_results(backend):
    def trained(seed: int) -> tuple[list[float], torch.Tensor]:
        wm = build_world_model(small_config(backend, seed=seed))
        losses = _fit(wm, n_data=64, steps=10)
        return losses, wm.predict_batch([[0.1, 0.2, 0.3]], [1])["next_obs"]

    l1, p1 = trained(5)
    l2, p2 = trained(5)
    l3, p3 = trained(6)
    assert l1 == l2 and torch.equal(p1, p2)
    assert l1 != l3 and not torch.equal(p1, p3)


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_snapshot_restore_gives_identical_predictions(backend):
    wm = build_world_model(small_config(backend, seed=4))
    _fit(wm, n_data=64, steps=5)
    snap = asyncio.run(wm.snapshot())
    blob = io.BytesIO()
    torch.save(snap, blob)  # serialisable: plain Python values and tensors only
    blob.seek(0)
    restored = TorchWorldModel.from_snapshot(torch.load(blob, weights_only=True))
    assert restored.step_count == wm.step_count and restored.buffer_size == wm.buffer_size
    probe = np.random.default_rng(0).uniform(-1, 1, size=(16, 3))
    acts = np.arange(16) % 2
    a, b = wm.predict_batch(probe, acts), restored.predict_batch(probe, acts)
    for key in ("next_obs", "reward", "done_prob", "uncertainty"):
        assert torch.equal(a[key], b[key])
    seqs = np.tile(acts[:6], (4, 1))
    assert torch.equal(
        wm.rollout_batch(probe[0], seqs).observations, restored.rollout_batch(probe[0], seqs).observations
    )
    # optimiser moments, normalisers, buffer and RNG came back too: training continues identically
    assert wm.train_steps(3) == restored.train_steps(3)
    assert torch.equal(
        wm.predict_batch(probe, acts)["next_obs"], restored.predict_batch(probe, acts)["next_obs"]
    )


def test_snapshot_is_a_copy():
    wm = build_world_model(small_config())
    _fit(wm, n_data=32, steps=2)
    snap = wm.state_snapshot()
    before = {k: v.clone() for k, v in snap["network"].items()}
    wm.train_steps(5)
    assert all(torch.equal(before[k], snap["network"][k]) for k in before)


def test_ensemble_disagreement_grows_off_distribution():
    wm = build_world_model(small_config(TransitionBackend.ENSEMBLE, ensemble_size=5, seed=0))
    _fit(wm, n_data=256, steps=200)  # training states lie in [-1, 1]^3
    rng = np.random.default_rng(7)
    inside = rng.uniform(-1, 1, size=(64, 3))
    outside = rng.uniform(4, 6, size=(64, 3)) * rng.choice([-1, 1], size=(64, 3))
    acts = rng.integers(0, 2, size=64)
    u_in = wm.predict_batch(inside, acts)["uncertainty"].mean()
    u_out = wm.predict_batch(outside, acts)["uncertainty"].mean()
    assert u_out > 5 * u_in
    out = asyncio.run(wm.predict(ModelInput(tuple(outside[0].tolist()), 1)))
    assert out.uncertainty > 0.0


def test_single_network_reports_zero_uncertainty():
    wm = build_world_model(small_config(TransitionBackend.MLP))
    assert float(wm.predict_batch([[5.0, 5.0, 5.0]], [0])["uncertainty"][0]) == 0.0


def test_vectorised_ensemble_matches_loop_over_members():
    wm = build_world_model(small_config(TransitionBackend.ENSEMBLE, ensemble_size=5))
    _fit(wm, n_data=32, steps=3)
    net = wm.net
    x = torch.randn(10, 3 + 2, generator=torch.Generator().manual_seed(0))
    batched = net(x)  # (E, B, out) in one batched matmul per layer
    for m in range(5):
        h = x
        layers = net.member_weights(m)
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = torch.nn.functional.silu(h)
        assert torch.allclose(batched[m], h, atol=1e-5)


def test_members_train_on_their_own_minibatches():
    wm = build_world_model(small_config(TransitionBackend.ENSEMBLE, ensemble_size=3))
    _fit(wm, n_data=64, steps=20)
    member = wm.predict_batch([[0.3, 0.3, 0.3]], [0])["member_next_obs"][:, 0]
    assert not torch.allclose(member[0], member[1])  # bootstrapped members differ
    truth, _, _ = linear_step(np.array([0.3, 0.3, 0.3]), 0)
    assert np.abs(member.mean(0).numpy() - truth).max() < 0.5


def test_termination_classifier_restores_and_learns_the_wall():
    from wmverse.dynamics.testing import wall_walk_transitions

    cfg = small_config(
        TransitionBackend.ENSEMBLE,
        obs_dim=1,
        done_from_next_obs=True,
        done_pos_weight=3.0,
        learning_rate=1e-2,
    )
    wm = build_world_model(cfg)
    for inp, nxt, r, d in wall_walk_transitions(300):
        wm.observe(inp.observation, inp.action, nxt, r, d)
    wm.train_steps(300, batch_size=64)
    p = wm.predict_batch([[0.2], [0.8]], [1, 1])["done_prob"]
    assert p[0] < 0.2 and p[1] > 0.8  # 0.45 is safe, 1.05 is past the wall at 0.9
    restored = TorchWorldModel.from_snapshot(wm.state_snapshot())
    assert torch.equal(restored.predict_batch([[0.2], [0.8]], [1, 1])["done_prob"], p)
