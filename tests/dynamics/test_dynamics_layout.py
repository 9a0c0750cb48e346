"""The package's pieces (model, buffer, trainer, rollout, facade) work apart and stay apart."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch

import wmverse.dynamics as dynamics
from wmverse.dynamics import (
    ModelTrainer,
    ReplayBuffer,
    TransitionBackend,
    TransitionModel,
    WorldModelMetrics,
    build_world_model,
)
from wmverse.dynamics.rollout import rollout_batch
from wmverse.dynamics.testing import linear_transitions, small_config

PACKAGE = Path(dynamics.__file__).parent


def _internal_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def test_modules_are_small_and_import_without_circles():
    graph = {p.stem: _internal_imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    for p in PACKAGE.glob("*.py"):
        assert len(p.read_text().splitlines()) <= 400, p.name
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import circle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for dep in graph.get(name, ()):
            visit(dep, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_pieces_compose_to_the_facade():
    cfg = small_config(TransitionBackend.ENSEMBLE, seed=2)
    data = linear_transitions(40, seed=1)
    wm = build_world_model(cfg)
    model = TransitionModel(cfg)
    buffer = ReplayBuffer(cfg.max_buffer_size, cfg.obs_dim)
    trainer = ModelTrainer(model, buffer, WorldModelMetrics("layout-test"))
    for inp, nxt, r, d in data:
        wm.observe(inp.observation, inp.action, nxt, r, d)
        o = torch.tensor(inp.observation, dtype=torch.float32)
        trainer.observe(o, inp.action, torch.tensor(nxt, dtype=torch.float32), r, d)
    assert wm.train_steps(4) == trainer.train_steps(4)  # same seed, same data: same numbers
    obs0 = torch.zeros(3, 3)
    acts = torch.tensor([[0, 1, 1], [1, 1, 0], [0, 0, 0]])
    assert torch.equal(
        wm.rollout_batch(obs0, acts).observations, rollout_batch(model, obs0, acts).observations
    )


def test_loss_is_pure_and_snapshot_round_trips():
    cfg = small_config(TransitionBackend.LSTM, done_from_next_obs=True)
    wm = build_world_model(cfg)
    for t in linear_transitions(30):
        wm.learn(*t)
    before = wm.model.state_snapshot()
    slots = torch.arange(8).unsqueeze(0)
    hist, valid = wm.buffer.windows(slots[0], cfg.window)
    loss, metrics = wm.model.loss(wm.buffer.get(slots), wm.buffer.get(hist), valid)
    assert loss.requires_grad and metrics["loss"] > 0
    after = wm.model.state_snapshot()
    assert all(torch.equal(before["network"][k], after["network"][k]) for k in before["network"])
    assert torch.equal(before["rng_state"], after["rng_state"])
    copy = TransitionModel.from_snapshot(after)
    probe, acts = torch.rand(5, 3), torch.tensor([0, 1, 0, 1, 1])
    a, b = wm.model.predict(probe, acts), copy.predict(probe, acts)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_prediction_error_records_nothing():
    wm = build_world_model(small_config())
    inp, nxt, r, d = linear_transitions(1)[0]
    err = wm.prediction_error(inp.observation, inp.action, nxt)
    assert err > 0 and wm.last_prediction_error == 0.0 and wm.step_count == 0
    wm.learn(inp, nxt, r, d)
    assert wm.last_prediction_error == err  # learn() records the same surprise before its step
    assert np.isfinite(wm.last_loss)
