"""The Trainer/Validator steps the world runs as actions, driven directly (no unaiverse)."""

import pytest

from agents.debater import TendencyDebater
from wmverse.debate import Claim, Stake, StakeSide, Tendency
from worlds.training.src.codec import observations_from_payload
from worlds.training.src.config import TrainingWorldConfig
from worlds.training.src.session import TrainingSession


def _config(**train):
    return TrainingWorldConfig.from_env({"WMVERSE_JUDGE": "lexical", "WMVERSE_EPOCHS": "3"}).with_train(
        **train
    )


def _run(session: TrainingSession) -> TrainingSession:
    debaters = {t: TendencyDebater(t.value) for t in session.tendencies}
    while not session.finished:
        epoch = session.begin_epoch()
        train = observations_from_payload(session.training_payload())
        for t in reversed(session.tendencies):  # arrival order must not matter
            session.record_claims(t, debaters[t].propose(train, epoch, **session.request_settings()))
        claims = session.all_claims()
        for t in session.tendencies:
            session.record_stakes(t, debaters[t].stake(train, claims))
        rec = session.resolve()
        for t in session.tendencies:
            debaters[t].apply_resolution(rec.allocations[t])
        session.validate()
    return session


@pytest.fixture(scope="module")
def trained():
    return _run(TrainingSession(_config()))


def test_a_run_lasts_max_epochs_and_keeps_allocations_valid(trained):
    cfg = trained.config.train
    assert trained.epoch == len(trained.history) == len(trained.validations) == cfg.max_epochs
    for rec in trained.history:
        assert abs(sum(rec.allocations.values()) - 1.0) < 1e-9
        assert all(
            cfg.min_allocation - 1e-9 <= a <= cfg.max_allocation + 1e-9 for a in rec.allocations.values()
        )
        assert rec.winner == max(rec.claim_scores, key=rec.claim_scores.get)
        assert sum(rec.stakes_pro.values()) == sum(rec.stakes_con.values()) > 0
    lrs = [r.learning_rate for r in trained.history]
    assert lrs == pytest.approx([cfg.initial_lr * cfg.lr_decay**k for k in range(cfg.max_epochs)])
    with pytest.raises(RuntimeError, match="already finished"):
        trained.begin_epoch()


def test_validation_uses_only_held_out_observations_with_gold_labels(trained):
    v = trained.validations[-1]
    assert v.metric == "accuracy" and v.n == len(trained.val) == 28
    assert not set(trained.val.ids) & set(trained.train.ids)
    assert 0 <= v.ci_low <= v.value <= v.ci_high <= 1 and 0 < v.p_value <= 1
    sent = {d["id"] for d in trained.training_payload()}
    assert sent == set(trained.train.ids)


def test_same_seed_same_history_and_another_seed_another_split(trained):
    again = _run(TrainingSession(_config()))
    assert again.history == trained.history and again.validations == trained.validations
    other = TrainingSession(_config(seed=1))
    assert other.val.ids != trained.val.ids


def test_protocol_errors_are_refused():
    s = TrainingSession(_config())
    s.begin_epoch()
    with pytest.raises(RuntimeError, match="missing claims/stakes"):
        s.resolve()
    bad = Claim("x", Tendency.STATUS, "status", ("o",), ("e",), 0.1)
    with pytest.raises(ValueError, match="agent comfort proposed a claim of status"):
        s.record_claims(Tendency.COMFORT, [bad])
    with pytest.raises(ValueError, match="agent comfort sent a stake of status"):
        s.record_stakes(Tendency.COMFORT, [Stake("o", "x", StakeSide.PRO, 1.0, Tendency.STATUS)])


def test_badges_follow_the_trainers_rule_and_the_significance_level():
    loose = _run(TrainingSession(_config(convergence_threshold=10.0, patience=1, min_epochs=1)))
    assert loose.converged and loose.epoch == 1
    badges = loose.badge_decisions("t0")
    done = [b for b in badges if b.reason == "converged"]
    assert {b.tendency for b in done} == set(Tendency) and all(b.badge_type == "completed" for b in done)
    assert all(
        0.0 <= b.score <= 1.0 and "converged at epoch 1" in b.description and "t0" in b.description
        for b in done
    )
    significant = [b for b in badges if b.reason == "validation_significant"]
    assert len(significant) == int(loose.validations[-1].p_value < 0.01)
    strict = TrainingWorldConfig(train=loose.config.train, significance=0.999999)
    loose.config = strict
    sig = [b for b in loose.badge_decisions("t1") if b.reason == "validation_significant"]
    assert len(sig) == 1 and sig[0].tendency == loose.history[-1].winner and sig[0].badge_type == "pro"
    assert sig[0].score == pytest.approx(loose.validations[-1].value)
    assert "p=" in sig[0].description
