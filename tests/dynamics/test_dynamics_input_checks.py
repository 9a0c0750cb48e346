"""Bad inputs raise clear errors and leave the model and its buffer unchanged."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
import torch

from wmverse.dynamics import (
    InvalidInputError,
    ModelInput,
    TransitionBackend,
    WorldModelConfig,
    build_world_model,
)
from wmverse.dynamics.testing import linear_transitions, small_config

GOOD_OBS = (0.1, 0.2, 0.3)


def _state(wm) -> dict:
    snap = wm.state_snapshot()
    return snap


def _assert_same(a: dict, b: dict) -> None:
    assert a["step_count"] == b["step_count"] and a["buffer_size"] == b["buffer_size"]
    assert a["grad_steps"] == b["grad_steps"]
    for k in a["network"]:
        assert torch.equal(a["network"][k], b["network"][k])
    for name in a["normalisers"]:
        for k in a["normalisers"][name]:
            assert torch.equal(a["normalisers"][name][k], b["normalisers"][name][k])
    for k in a["buffer"]["store"]:
        assert torch.equal(a["buffer"]["store"][k], b["buffer"]["store"][k])
    assert torch.equal(a["rng_state"], b["rng_state"])
    assert a["last_prediction_error"] == b["last_prediction_error"]


BAD_UPDATES = [
    pytest.param(ModelInput((0.1, 0.2), 0), GOOD_OBS, 1.0, "shape", id="short-observation"),
    pytest.param(ModelInput((0.1, 0.2, 0.3, 0.4), 0), GOOD_OBS, 1.0, "shape", id="long-observation"),
    pytest.param(ModelInput(GOOD_OBS, 2), GOOD_OBS, 1.0, "out of range", id="action-too-large"),
    pytest.param(ModelInput(GOOD_OBS, -1), GOOD_OBS, 1.0, "out of range", id="negative-action"),
    pytest.param(ModelInput(GOOD_OBS, 0.5), GOOD_OBS, 1.0, "integer", id="float-action"),
    pytest.param(ModelInput((0.1, math.nan, 0.3), 0), GOOD_OBS, 1.0, "NaN", id="nan-observation"),
    pytest.param(ModelInput(GOOD_OBS, 0), (0.1, math.inf, 0.3), 1.0, "NaN or infinite", id="inf-next-obs"),
    pytest.param(ModelInput(GOOD_OBS, 0), (0.1, 0.2), 1.0, "actual_next_obs", id="short-next-obs"),
    pytest.param(ModelInput(GOOD_OBS, 0), GOOD_OBS, math.nan, "finite", id="nan-reward"),
    pytest.param(ModelInput(("a", 0.2, 0.3), 0), GOOD_OBS, 1.0, "numbers", id="text-observation"),
]


@pytest.mark.parametrize("inp,next_obs,reward,message", BAD_UPDATES)
def test_bad_update_raises_and_changes_nothing(inp, next_obs, reward, message):
    wm = build_world_model(small_config(TransitionBackend.ENSEMBLE))
    for t in linear_transitions(10):
        wm.learn(*t)
    before = _state(wm)
    with pytest.raises(InvalidInputError, match=message):
        asyncio.run(wm.update(inp, next_obs, reward, False))
    _assert_same(before, _state(wm))


@pytest.mark.parametrize("backend", list(TransitionBackend), ids=lambda b: b.name)
def test_bad_queries_raise_clear_errors(backend):
    wm = build_world_model(small_config(backend))
    for t in linear_transitions(5):
        wm.learn(*t)
    before = _state(wm)
    with pytest.raises(InvalidInputError, match="expected \\(3,\\)"):
        asyncio.run(wm.predict(ModelInput((1.0,), 0)))
    with pytest.raises(InvalidInputError, match="out of range"):
        asyncio.run(wm.predict(ModelInput(GOOD_OBS, 7)))
    with pytest.raises(InvalidInputError, match="NaN"):
        asyncio.run(wm.surprise(ModelInput(GOOD_OBS, 0), (math.nan, 0.0, 0.0)))
    with pytest.raises(InvalidInputError, match="out of range"):
        asyncio.run(wm.dream_rollout(GOOD_OBS, [0, 1, 5]))
    with pytest.raises(InvalidInputError, match="initial_obs"):
        asyncio.run(wm.dream_rollout((0.0, 0.0), [0, 1]))
    with pytest.raises(InvalidInputError, match="out of range"):
        wm.rollout_batch(GOOD_OBS, np.array([[0, 3]]))
    with pytest.raises(InvalidInputError, match="ModelInput"):
        asyncio.run(wm.predict((GOOD_OBS, 0)))  # type: ignore[arg-type]
    _assert_same(before, _state(wm))


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="obs_dim"):
        WorldModelConfig(obs_dim=0)
    with pytest.raises(ValueError, match="num_heads"):
        WorldModelConfig(backend=TransitionBackend.TRANSFORMER, hidden_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="backend"):
        WorldModelConfig(backend="MLP")  # type: ignore[arg-type]


def test_train_on_empty_buffer_is_an_error():
    wm = build_world_model(small_config())
    with pytest.raises(RuntimeError, match="empty"):
        wm.train_steps(1)


def test_restore_into_mismatched_config_is_refused():
    wm = build_world_model(small_config())
    other = build_world_model(small_config(hidden_dim=16))
    with pytest.raises(ValueError, match="config"):
        other.load_snapshot(wm.state_snapshot())
