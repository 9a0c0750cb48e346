"""One training epoch (run_epoch_step): what the Trainer and the training world both run."""

import numpy as np
import pytest

from wmverse.debate import (
    DEFAULT_ALLOCATIONS,
    AgentPool,
    Arena,
    Claim,
    EpochStep,
    LexicalJudge,
    Stake,
    StakeSide,
    Tendency,
    TrainConfig,
    Trainer,
    convergence_tracker,
    reallocate,
    run_epoch_step,
)
from wmverse.debate.tendency import TENDENCY_ORDER


def _collect(store, judge, agents, rng):
    claims = [c for agent in agents for c in agent.propose(store, judge, rng)]
    stakes = [s for agent in agents for s in agent.stake(store, claims, judge)]
    return claims, stakes


def _prepared(sample, cfg):
    judge = LexicalJudge()
    train, _ = sample.split(cfg.validation_split, seed=cfg.seed)
    judge.prepare(train.texts)
    agents = AgentPool()
    agents.configure(cfg.claims_per_agent, cfg.evidence_per_claim, cfg.exploration)
    return judge, train, agents


def test_step_equals_resolve_reallocate_delta_decay_by_hand(sample):
    """Every field against the step-by-step computation the world did on its own."""
    cfg = TrainConfig(judge="lexical", lr_decay=0.8, min_allocation=0.05, max_allocation=0.3)
    judge, train, agents = _prepared(sample, cfg)
    claims, stakes = _collect(train, judge, agents, np.random.default_rng(0))
    old = dict(DEFAULT_ALLOCATIONS)
    tracker = convergence_tracker(cfg)
    step = run_epoch_step(claims, stakes, old, 0.15, cfg, tracker)
    assert old == DEFAULT_ALLOCATIONS  # not modified

    result = Arena.resolve(claims, stakes)
    new = reallocate(old, result.scores, 0.15, 0.05, 0.3)
    assert step.allocations == new
    assert step.allocation_changes == {t: new[t] - old[t] for t in TENDENCY_ORDER}
    assert step.delta == float(sum(abs(new[t] - old[t]) for t in TENDENCY_ORDER))
    assert step.learning_rate == 0.15 and step.next_learning_rate == 0.15 * 0.8
    assert step.epoch == 1 and tracker.epoch == 1 and step.converged is tracker.converged is False
    assert step.winner is result.winner and step.scores == result.scores
    assert step.claim_scores == {t: float(result.scores[t]) for t in TENDENCY_ORDER}
    own = [tr for tr in result.trees.values() if tr.claim.tendency is result.winner]
    assert step.winning_claim == max(own, key=lambda tr: tr.net_score()).claim
    assert step.winning_claim_text == step.winning_claim.text
    assert step.trees.keys() == result.trees.keys() and step.total_stakes == len(stakes)
    for t in TENDENCY_ORDER:
        assert step.n_claims[t] == sum(c.tendency is t for c in claims)
        assert step.stakes_pro[t] == sum(s.agent is t and s.side is StakeSide.PRO for s in stakes)
        assert step.stakes_con[t] == sum(s.agent is t and s.side is StakeSide.CON for s in stakes)
    assert sum(step.stakes_pro.values()) + sum(step.stakes_con.values()) == len(stakes)


def test_no_claims_falls_back_to_the_first_tendency():
    cfg = TrainConfig(judge="lexical")
    step = run_epoch_step([], [], DEFAULT_ALLOCATIONS, 0.1, cfg, convergence_tracker(cfg))
    assert isinstance(step, EpochStep)
    assert step.debate.winner is None and step.winner is Tendency.SURVIVAL
    assert step.winning_claim is None and step.winning_claim_text == ""
    assert step.n_claims == {t: 0 for t in TENDENCY_ORDER} and step.total_stakes == 0
    # all scores 0 -> equal shares: allocations move toward 1/7
    assert step.allocations[Tendency.CONNECTION] < DEFAULT_ALLOCATIONS[Tendency.CONNECTION]


def test_winning_claim_and_stake_counts_per_agent():
    c = Claim("c1", Tendency.STATUS, "status claim", ("o1",), ("text",), 0.5)
    cfg = TrainConfig(judge="lexical")
    step = run_epoch_step([c], [], DEFAULT_ALLOCATIONS, 0.1, cfg, convergence_tracker(cfg))
    assert step.winner is Tendency.STATUS and step.winning_claim == c
    pro = Stake("o2", "c1", StakeSide.PRO, 1.0, Tendency.STATUS)
    con = Stake("o3", "c1", StakeSide.CON, 1.0, Tendency.COMFORT)
    step = run_epoch_step([c], [pro, con], DEFAULT_ALLOCATIONS, 0.1, cfg, convergence_tracker(cfg))
    assert step.stakes_pro[Tendency.STATUS] == 1 and step.stakes_con[Tendency.COMFORT] == 1


def test_convergence_is_tracked_across_steps():
    cfg = TrainConfig(judge="lexical", convergence_threshold=1.0, patience=2, min_epochs=3, max_epochs=5)
    tracker = convergence_tracker(cfg)
    allocations, lr, seen = dict(DEFAULT_ALLOCATIONS), cfg.initial_lr, []
    for _ in range(4):
        step = run_epoch_step([], [], allocations, lr, cfg, tracker)
        allocations, lr = step.allocations, step.next_learning_rate
        seen.append((step.epoch, step.converged))
    assert seen == [(1, False), (2, False), (3, True), (4, True)]
    assert lr == cfg.initial_lr * cfg.lr_decay * cfg.lr_decay * cfg.lr_decay * cfg.lr_decay


def test_trainer_equals_an_epoch_by_epoch_replay(sample, labels):
    """A caller driving the step itself (as the training world does) gets the Trainer's numbers
    (with the original settings: the world's agents do not calibrate)."""
    cfg = TrainConfig.original(judge="lexical", max_epochs=4, convergence_threshold=0.0)
    history, result = Trainer(cfg, judge=LexicalJudge()).train(sample, AgentPool(), labels=labels)

    judge, train, agents = _prepared(sample, cfg)
    rng = np.random.default_rng(cfg.seed)
    tracker = convergence_tracker(cfg)
    allocations, lr = dict(DEFAULT_ALLOCATIONS), cfg.initial_lr
    for metrics in history.metrics:
        claims, stakes = _collect(train, judge, agents, rng)
        step = run_epoch_step(claims, stakes, allocations, lr, cfg, tracker)
        agents.set_allocations(step.allocations)
        allocations, lr = step.allocations, step.next_learning_rate
        assert step.epoch == metrics.epoch and step.learning_rate == metrics.learning_rate
        assert step.allocations == metrics.allocations and step.delta == metrics.delta
        assert step.debate.winner is metrics.winner and step.scores == metrics.scores
        assert step.total_stakes == metrics.total_stakes
    assert [c.id for c in step.debate.claims] == [c.id for c in result.claims]


def test_bad_learning_rate_is_rejected():
    cfg = TrainConfig(judge="lexical")
    with pytest.raises(ValueError, match="learning rate"):
        run_epoch_step([], [], DEFAULT_ALLOCATIONS, 1.5, cfg, convergence_tracker(cfg))
