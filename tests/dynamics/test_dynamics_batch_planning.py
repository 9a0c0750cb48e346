"""Batched planning (``plan_batch`` / ``act_batch``) and the agent's batched evaluation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from wmverse.dynamics import (
    DreamRolloutPlanner,
    PlannerConfig,
    PlanningMethod,
    PlanResult,
    PlanStream,
    TorchWorldModel,
    TransitionBackend,
    build_world_model,
    derived_generator,
)
from wmverse.dynamics.agent import AgentConfig, DynamicsAgent
from wmverse.dynamics.testing import small_config
from wmverse.dynamics.value import TerminalValue

#: Whether a batched dream gives each state's rows bitwise the numbers they get alone: shown for
#: MKL's CPU kernels at width 64 (the rollout's docstring); elsewhere equal up to rounding.
EXACT = torch.backends.mkl.is_available()
METHODS = pytest.mark.parametrize("method", list(PlanningMethod), ids=lambda m: m.name)


@pytest.fixture(scope="module")
def cart_model() -> TorchWorldModel:
    """4-D, 2 actions, ensemble of width 64 with a done classifier (as the agents plan)."""
    cfg = small_config(
        TransitionBackend.ENSEMBLE, obs_dim=4, action_dim=2, hidden_dim=64, seed=2, done_from_next_obs=True
    )
    wm = build_world_model(cfg)
    rng = np.random.default_rng(0)
    for _ in range(300):
        x = rng.uniform(-1, 1, 4)
        a = int(rng.integers(2))
        nx = 0.95 * x + 0.1 * (2 * a - 1)
        wm.observe(x, a, nx, 1.0, bool(abs(nx[0]) > 0.9))
    wm.train_steps(100)
    return wm


def _planner(wm: TorchWorldModel, method: PlanningMethod, **kw) -> DreamRolloutPlanner:  # type: ignore[no-untyped-def]
    cfg = PlannerConfig(
        method=method,
        horizon=6,
        population=24,
        cem_iterations=3,
        fine_steps=2,
        action_repeat=2,
        uncertainty_penalty=0.5,
        enforce_budget=False,
        seed=7,
    )
    return DreamRolloutPlanner(wm, replace(cfg, **kw), terminal_value=TerminalValue(4, wm.obs_norm))


def _same(a: PlanResult, b: PlanResult, *, exact: bool = True) -> bool:
    """Same decision; ``exact``: bitwise-equal scores, else equal up to float rounding (a
    batched dream computes each state's rows as alone: bitwise with MKL at width 64, the
    rollout's docstring says why; other kernels may round differently)."""
    same = (a.action, a.actions, a.iterations, a.sequences_evaluated) == (
        b.action,
        b.actions,
        b.iterations,
        b.sequences_evaluated,
    )
    scores, other = (a.predicted_return, a.uncertainty), (b.predicted_return, b.uncertainty)
    return same and (scores == other if exact else scores == pytest.approx(other, rel=1e-5, abs=1e-6))


def _states(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 4))


@METHODS
def test_a_batch_of_one_is_the_one_state_plan(cart_model, method):
    planner = _planner(cart_model, method)
    states = _states(4)
    for obs in states:  # several decisions: the CEM warm start carries over too
        before = planner.stream.generator.get_state()
        probs = planner.stream.probs
        alone = planner.plan(obs)
        planner.stream.generator.set_state(before)  # the same generator state again
        planner.stream.probs = probs
        (batched,) = planner.plan_batch(obs[None])
        assert _same(alone, batched)
    other = _planner(cart_model, method)  # and a fresh planner agrees call for call
    again = [other.plan_batch(obs[None])[0] for obs in states]
    fresh = _planner(cart_model, method)
    assert all(_same(a, fresh.plan(obs)) for a, obs in zip(again, states, strict=True))


@METHODS
def test_a_batched_decision_is_planning_its_state_alone(cart_model, method):
    planner = _planner(cart_model, method)
    states = _states(5, seed=1)
    streams = [PlanStream.derived(3, k) for k in range(5)]
    batched = [planner.plan_batch(states, streams) for _ in range(2)]  # second round warm-starts
    for i in range(5):
        own = PlanStream.derived(3, i)
        alone = [planner.plan_batch(states[i : i + 1], [own])[0] for _ in range(2)]
        assert all(_same(batched[r][i], alone[r], exact=EXACT) for r in range(2))
    # batch composition does not matter: a permuted sub-batch gives the same decisions
    sub = [PlanStream.derived(3, k) for k in (3, 0)]
    first = planner.plan_batch(states[[3, 0]], sub)
    assert _same(first[0], batched[0][3], exact=EXACT) and _same(first[1], batched[0][0], exact=EXACT)


@METHODS
def test_batched_planning_is_deterministic(cart_model, method):
    def run() -> list[list[int]]:
        planner = _planner(cart_model, method, replan_every=2)
        states = _states(6, seed=2)
        out = []
        for step in range(5):
            out.append(planner.act_batch(states + 0.01 * step))
        return out

    first = run()
    assert first == run()
    assert len(first) == 5 and all(len(a) == 6 and set(a) <= {0, 1} for a in first)


def test_act_batch_follows_plans_and_replans_only_the_states_that_need_it(cart_model):
    cfg = dict(replan_every=3, method=PlanningMethod.CEM)
    batch = _planner(cart_model, **cfg)
    singles = [_planner(cart_model, **cfg) for _ in range(3)]
    states = _states(3, seed=4)
    streams = [PlanStream.derived(5, k) for k in range(3)]
    own = [PlanStream.derived(5, k) for k in range(3)]
    threshold = cart_model.config.surprise_threshold
    for step in range(7):
        surprises = [None, threshold * 10 if step == 1 else 0.0, None]  # state 1 is surprised once
        acts = batch.act_batch(states, streams, surprises)
        for i, single in enumerate(singles):
            assert single.act_batch(states[i : i + 1], [own[i]], [surprises[i]]) == [acts[i]]
    assert batch.decisions == 21 and batch.surprise_replans == 1
    assert batch.replans == sum(s.replans for s in singles) == 9  # steps 0, 3, 6 (state 1: 0, 1, 4)


def test_batched_default_streams_and_bad_arguments(cart_model):
    planner = _planner(cart_model, PlanningMethod.CEM)
    streams = planner.streams(3)
    assert streams[0] is planner.stream and planner.streams(2) == streams[:2]
    planner.plan_batch(_states(3))
    assert all(s.probs is not None for s in streams)
    planner.reset()
    assert all(s.probs is None and not s.plan for s in streams)
    with pytest.raises(ValueError, match="3 states need 3 streams"):
        planner.plan_batch(_states(3), [PlanStream.seeded(0)])
    s = PlanStream.seeded(0)
    with pytest.raises(ValueError, match="its own PlanStream"):
        planner.plan_batch(_states(2), [s, s])
    with pytest.raises(ValueError, match="surprises"):
        planner.act_batch(_states(2), surprises=[None])


def test_derived_generators_are_reproducible_and_distinct():
    draw = lambda g: torch.randint(0, 1000, (8,), generator=g).tolist()  # noqa: E731
    assert draw(derived_generator(0, 1, 2)) == draw(derived_generator(0, 1, 2))
    seen = {tuple(draw(derived_generator(s, *k))) for s in (0, 1) for k in ((0, 1), (1, 0), (1, 10_000, 1))}
    assert len(seen) == 6


TINY = AgentConfig(
    hidden_dim=64,  # the agents' width (batched and one-state dreams agree bitwise, see EXACT)
    ensemble_size=2,
    batch_size=16,
    warmup_steps=30,
    pretrain_steps=5,
    planner=PlannerConfig(horizon=4, population=16, cem_iterations=2, enforce_budget=False),  # load-proof
    imagination_steps=10,
)


def test_batched_evaluation_is_the_sequential_one_and_learns_nothing():
    agent = DynamicsAgent(TINY)
    agent.run_steps(60)
    snap = agent.model.state_snapshot(include_buffer=False)
    steps, grad_steps, value_steps = agent.model.step_count, agent.model.grad_steps, agent.value.grad_steps
    gen_state = agent.planner.stream.generator.get_state()
    batched = agent.evaluate(4)
    assert len(batched) == 4 and all(isinstance(r, float) and 1 <= r <= 500 for r in batched)
    assert len(set(batched)) > 1  # four different episodes (different env seeds), ended at different times
    assert agent.evaluate(4, batched=False) == batched
    assert agent.evaluate(4) == batched  # reproducible: fresh per-episode streams each time
    assert agent.evaluate(2) == batched[:2]  # episode k does not depend on the others
    assert (agent.model.step_count, agent.model.grad_steps, agent.value.grad_steps) == (
        steps,
        grad_steps,
        value_steps,
    )
    after = agent.model.state_snapshot(include_buffer=False)
    assert all(
        torch.equal(a, b) for a, b in zip(snap["network"].values(), after["network"].values(), strict=True)
    )
    assert torch.equal(agent.planner.stream.generator.get_state(), gen_state)  # training stream untouched


@pytest.mark.parametrize("backend", list(TransitionBackend), ids=lambda b: b.name)
def test_rollouts_imagine_shared_prefixes_once_and_rows_as_alone(backend):
    """The rollout runs one row per distinct (start, prefix); each start state's numbers are
    those it gets alone, whatever else is in the batch, and each sequence's those it gets alone
    up to rounding."""
    from wmverse.dynamics.rollout import rollout

    cfg = small_config(backend, obs_dim=4, action_dim=3, hidden_dim=64, done_from_next_obs=True, seed=4)
    model = build_world_model(cfg).model
    gen = torch.Generator().manual_seed(0)
    starts, pop, h = torch.randn(3, 4, generator=gen), 9, 6
    obs0 = starts.repeat_interleave(pop, 0)
    acts = torch.randint(0, 3, (3 * pop, h), generator=gen)
    acts[1::2, :3] = acts[0, :3]  # many shared prefixes
    rows = []
    orig = model.step
    model.step = lambda *a: rows.append(a[0].shape[0]) or orig(*a)  # type: ignore[method-assign]
    out = rollout(model, obs0, acts, early_exit=False)
    model.step = orig  # type: ignore[method-assign]
    assert rows[0] == 3 * 8  # step 0: <= 3 distinct actions per start, one aligned block each
    for i in range(3):
        block = slice(i * pop, (i + 1) * pop)
        alone = rollout(model, obs0[block], acts[block], early_exit=False)
        for key, value in alone.items():
            assert torch.allclose(value, out[key][block], rtol=1e-5, atol=1e-6)
            assert not EXACT or torch.equal(value, out[key][block])
        for j in (0, 1, 4):  # a sequence alone (no prefix shared with anyone)
            single = rollout(model, obs0[block][j : j + 1], acts[block][j : j + 1], early_exit=False)
            assert all(
                torch.allclose(v[0], out[k][block][j], rtol=1e-5, atol=1e-6) for k, v in single.items()
            )
