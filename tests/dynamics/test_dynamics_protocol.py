"""The ``WorldModel`` Protocol on every backend: outputs, dreams, updates, surprise, snapshots, locking."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from wmverse.dynamics import (
    DreamRollout,
    ModelInput,
    ModelOutput,
    TorchWorldModel,
    TransitionBackend,
    WorldModel,
    build_world_model,
)
from wmverse.dynamics.testing import linear_transitions, small_config, wall_walk_transitions

ALL_BACKENDS = list(TransitionBackend)


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_predict_returns_model_output(backend):
    wm = build_world_model(small_config(backend))
    out = run(wm.predict(ModelInput((0.1, -0.2, 0.3), 1)))
    assert isinstance(out, ModelOutput)
    assert isinstance(out.next_observation, tuple)
    assert all(isinstance(x, float) for x in out.next_observation)
    assert isinstance(out.predicted_reward, float)
    assert isinstance(out.predicted_done, bool)
    assert isinstance(out.prediction_error, float) and out.prediction_error == 0.0  # no ground truth yet
    assert 0.0 <= out.done_probability <= 1.0
    assert out.predicted_done == (out.done_probability > wm.config.done_threshold)


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_predict_obs_dim_preserved(backend):
    cfg = small_config(backend, obs_dim=7)
    wm = build_world_model(cfg)
    out = run(wm.predict(ModelInput(tuple(range(7)), 0)))
    assert len(out.next_observation) == 7


def test_dream_rollout_length():
    wm = build_world_model(small_config())
    for inp, nxt, r, d in linear_transitions(150):
        wm.learn(inp, nxt, r, d)  # never done: the done head learns "alive"
    horizon = 9
    actions = [0, 1] * 4 + [1]
    roll = run(wm.dream_rollout((0.1, 0.2, 0.3), actions))
    batch = wm.rollout_batch((0.1, 0.2, 0.3), np.array([actions]))
    done_step = int(batch.done_steps[0])
    assert len(roll.steps) == min(horizon, done_step + 1)
    assert len(roll.steps) == horizon  # the model learned that this dynamics never ends


def _terminating_model() -> TorchWorldModel:
    """1-D walk: action 1 moves +0.25, action 0 moves -0.25; done when next x > 0.9."""
    wm = build_world_model(small_config(obs_dim=1, learning_rate=1e-2, seed=3, done_pos_weight=3.0))
    for inp, nxt, r, d in wall_walk_transitions(400):
        wm.observe(inp.observation, inp.action, nxt, r, d)
    wm.train_steps(500, batch_size=64)
    return wm


def test_dream_rollout_terminates_on_done():
    wm = _terminating_model()
    roll = run(wm.dream_rollout((0.0,), [1] * 10))
    # x: 0.25, 0.5, 0.75, 1.0 -> the 4th step crosses 0.9 and must end the dream
    assert len(roll.steps) == 4
    assert roll.steps[-1].predicted_done
    assert not any(s.predicted_done for s in roll.steps[:-1])
    away = run(wm.dream_rollout((0.0,), [0] * 10))
    assert len(away.steps) == 10 and not any(s.predicted_done for s in away.steps)


def test_update_returns_scalar_loss(transitions):
    wm = build_world_model(small_config())
    inp, nxt, r, d = transitions[0]
    loss = run(wm.update(inp, nxt, r, d))
    assert isinstance(loss, float) and math.isfinite(loss) and loss > 0
    assert wm.grad_steps == 1 and wm.step_count == 1


def test_update_increments_buffer(transitions):
    wm = build_world_model(small_config(max_buffer_size=5))

    async def go():
        sizes = []
        for inp, nxt, r, d in transitions[:8]:
            await wm.update(inp, nxt, r, d)
            sizes.append((await wm.snapshot(include_buffer=False))["buffer_size"])
        return sizes

    assert run(go()) == [1, 2, 3, 4, 5, 5, 5, 5]  # bounded by max_buffer_size
    assert wm.step_count == 8


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_surprise_zero_on_perfect_prediction(backend):
    wm = build_world_model(small_config(backend))
    inp = ModelInput((0.5, -0.5, 0.25), 1)
    predicted = run(wm.predict(inp)).next_observation
    assert run(wm.surprise(inp, predicted)) == pytest.approx(0.0, abs=1e-10)


def test_surprise_high_on_bad_prediction():
    wm = build_world_model(small_config())
    inp = ModelInput((0.5, -0.5, 0.25), 0)
    predicted = np.array(run(wm.predict(inp)).next_observation)
    s = run(wm.surprise(inp, tuple((predicted + 10.0).tolist())))
    assert s == pytest.approx(100.0, rel=1e-4)
    assert s > wm.config.surprise_threshold
    assert run(wm.predict(inp)).prediction_error == pytest.approx(s)  # "MSE vs last ground truth"


def test_snapshot_keys(transitions):
    wm = build_world_model(small_config())
    for t in transitions[:3]:
        wm.learn(*t)
    snap = run(wm.snapshot())
    assert {"config", "step_count", "buffer_size"} <= set(snap)
    assert snap["step_count"] == 3 and snap["buffer_size"] == 3
    assert snap["config"]["backend"] == "MLP" and snap["config"]["obs_dim"] == 3


@pytest.mark.parametrize("backend", ALL_BACKENDS, ids=lambda b: b.name)
def test_build_world_model_returns_protocol(backend):
    wm = build_world_model(small_config(backend))
    assert isinstance(wm, WorldModel)
    assert wm.config.backend is backend
    assert isinstance(build_world_model(), WorldModel)  # the default config works too


def test_concurrent_predict_safe(transitions):
    wm = build_world_model(small_config())
    inputs = [t[0] for t in transitions[:50]]

    async def go():
        serial = [await wm.predict(i) for i in inputs]
        concurrent = await asyncio.gather(*(wm.predict(i) for i in inputs))
        return serial, concurrent

    serial, concurrent = run(go())
    assert list(concurrent) == serial

    async def mixed():  # predictions interleaved with updates: no lost update, all valid
        jobs = [wm.update(*t) for t in transitions[:20]] + [wm.predict(i) for i in inputs]
        return await asyncio.gather(*jobs)

    results = run(mixed())
    assert wm.step_count == 20 and wm.buffer_size == 20
    assert all(isinstance(r, ModelOutput) for r in results[20:])


def test_dream_rollout_accumulates_reward(transitions):
    wm = build_world_model(small_config())
    for t in transitions[:100]:
        wm.learn(*t)
    actions = [1, 1, 0, 1, 0, 0]
    roll = run(wm.dream_rollout((0.2, 0.1, -0.3), actions))
    assert isinstance(roll, DreamRollout)
    assert roll.total_imagined_reward == pytest.approx(sum(s.predicted_reward for s in roll.steps))
    batch = wm.rollout_batch((0.2, 0.1, -0.3), np.array([actions]))
    n = len(roll.steps)
    assert roll.total_imagined_reward == pytest.approx(float(batch.rewards[0, :n].sum()), rel=1e-5, abs=1e-6)
    assert roll.surprise_score == pytest.approx(wm.last_prediction_error)


def test_batched_dream_rollouts_match_single_rollouts():
    wm = _terminating_model()
    seqs = np.array([[1] * 8, [0] * 8, [1, 1, 0, 1, 1, 1, 1, 1]])
    batched = run(wm.dream_rollouts((0.0,), seqs))
    singles = [run(wm.dream_rollout((0.0,), s.tolist())) for s in seqs]
    assert [len(b.steps) for b in batched] == [len(s.steps) for s in singles] == [4, 8, 6]
    for b, s in zip(batched, singles, strict=True):
        assert b.total_imagined_reward == pytest.approx(s.total_imagined_reward, rel=1e-5)
        assert [x.predicted_done for x in b.steps] == [x.predicted_done for x in s.steps]
        for x, y in zip(b.steps, s.steps, strict=True):
            assert x.next_observation == pytest.approx(y.next_observation, abs=1e-5)
