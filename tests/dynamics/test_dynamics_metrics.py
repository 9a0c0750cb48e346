"""The five Prometheus metrics, one label per model, served over HTTP."""

from __future__ import annotations

import asyncio
import urllib.request

import numpy as np
from prometheus_client import CollectorRegistry

from wmverse.dynamics import REGISTRY, ModelInput, WorldModelMetrics, build_world_model, serve_metrics
from wmverse.dynamics.testing import linear_transitions, small_config

NAMES = ["wm_update_total", "wm_train_loss", "wm_surprise_score", "wm_buffer_size", "wm_rollout_steps_total"]


def test_five_metrics_track_one_model():
    registry = CollectorRegistry()
    wm = build_world_model(small_config(), name="alpha", registry=registry)
    data = linear_transitions(5)
    losses = [wm.learn(*t) for t in data]
    asyncio.run(wm.surprise(data[0][0], data[0][1]))
    asyncio.run(wm.dream_rollout((0.0, 0.0, 0.0), [0, 1, 0]))
    wm.rollout_batch((0.0, 0.0, 0.0), np.zeros((10, 4), dtype=int))
    m = wm.metrics
    assert m.value("update_total") == 5
    assert m.value("train_loss") == losses[-1]
    assert m.value("surprise_score") == wm.last_prediction_error
    assert m.value("buffer_size") == 5
    assert m.value("rollout_steps_total") == 3 + 40
    names = {fam.name for fam in registry.collect()}
    assert {"wm_update", "wm_train_loss", "wm_surprise_score", "wm_buffer_size", "wm_rollout_steps"} <= names


def test_several_models_coexist_without_registration_errors():
    registry = CollectorRegistry()
    a = build_world_model(small_config(), name="a", registry=registry)
    b = build_world_model(small_config(), name="b", registry=registry)
    again = WorldModelMetrics("a", registry)  # re-binding an existing label is fine too
    t = linear_transitions(3)
    a.learn(*t[0])
    a.learn(*t[1])
    b.learn(*t[2])
    assert a.metrics.value("update_total") == 2 and b.metrics.value("update_total") == 1
    assert again.value("update_total") == 2
    build_world_model(small_config())  # default package registry, auto-generated name
    build_world_model(small_config())
    assert REGISTRY.get_sample_value("wm_update_total", {"model": "a"}) is None  # separate registries


def test_metrics_served_over_http():
    registry = CollectorRegistry()
    wm = build_world_model(small_config(), name="served", registry=registry)
    wm.learn(*linear_transitions(1)[0])
    asyncio.run(wm.predict(ModelInput((0.0, 0.0, 0.0), 0)))
    server = serve_metrics(0, "127.0.0.1", registry=registry)
    try:
        assert server.port > 0
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
    finally:
        server.close()
    assert 'wm_update_total{model="served"} 1.0' in body
    assert 'wm_buffer_size{model="served"} 1.0' in body
    for name in NAMES:
        assert name in body
