"""Training: each TrainConfig field's effect, determinism, honesty of validation."""

import dataclasses

import pytest

from wmverse.debate import AgentPool, LexicalJudge, Tendency, TrainConfig, Trainer, learning_rate_at


def _train(sample, labels=None, **kw):
    cfg = TrainConfig(judge="lexical", **kw)
    agents = AgentPool()
    history, result = Trainer(cfg, judge=LexicalJudge()).train(sample, agents, labels=labels)
    return history, result, agents


def _allocs(history):
    return [m.allocations for m in history.metrics]


def test_every_field_is_documented():
    docs = TrainConfig.field_docs()
    assert set(docs) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert all(docs.values())
    c = TrainConfig()
    assert (c.max_epochs, c.min_epochs, c.convergence_threshold, c.patience) == (10, 2, 0.005, 3)
    assert (c.initial_lr, c.lr_decay, c.validation_split, c.min_allocation, c.max_allocation) == (
        0.15,
        0.9,
        0.2,
        0.03,
        0.5,
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"max_epochs": 0},
        {"min_epochs": 20},
        {"patience": 0},
        {"initial_lr": 2},
        {"lr_decay": 0},
        {"validation_split": 1.0},
        {"min_allocation": 0.2},
        {"max_allocation": 0.1},
        {"exploration": -1},
        {"descriptions": "long"},
        {"calibration": "median"},
        {"claim_pooling": "all"},
    ],
)
def test_invalid_config_is_rejected(kw):
    with pytest.raises(ValueError, match="invalid TrainConfig"):
        TrainConfig(**kw)


def test_max_epochs_bounds_the_run(sample):
    history, _, _ = _train(sample, max_epochs=3, convergence_threshold=0.0)
    assert history.epochs_run == 3 and len(history.metrics) == 3 and not history.converged


def test_convergence_threshold_patience_and_min_epochs(sample):
    # threshold 1.0: every epoch is calm (the L1 change is far below 1)
    history, _, _ = _train(sample, max_epochs=10, convergence_threshold=1.0, patience=1, min_epochs=1)
    assert history.converged and history.epochs_run == 1
    history, _, _ = _train(sample, max_epochs=10, convergence_threshold=1.0, patience=1, min_epochs=4)
    assert history.converged and history.epochs_run == 4
    history, _, _ = _train(sample, max_epochs=10, convergence_threshold=1.0, patience=3, min_epochs=0)
    assert history.converged and history.epochs_run == 3
    history, _, _ = _train(sample, max_epochs=4, convergence_threshold=1e-12, patience=1, min_epochs=0)
    assert not history.converged and history.epochs_run == 4


def test_learning_rate_and_decay(sample):
    history, _, _ = _train(sample, max_epochs=3, initial_lr=0.2, lr_decay=0.5, convergence_threshold=0)
    assert [m.learning_rate for m in history.metrics] == [0.2, 0.2 * 0.5, 0.2 * 0.5 * 0.5]
    assert [learning_rate_at(e, 0.2, 0.5) for e in (1, 2, 3)] == [m.learning_rate for m in history.metrics]
    odd, _, _ = _train(sample, max_epochs=4, initial_lr=0.15, lr_decay=0.9, convergence_threshold=0)
    assert [m.learning_rate for m in odd.metrics] == [
        0.15,
        0.15 * 0.9,
        0.15 * 0.9 * 0.9,
        0.15 * 0.9 * 0.9 * 0.9,
    ]
    frozen, _, agents = _train(sample, max_epochs=2, min_epochs=1, initial_lr=0.0)
    assert all(abs(v) < 1e-12 for m in frozen.metrics for v in m.allocation_changes.values())
    fast, _, _ = _train(sample, max_epochs=1, min_epochs=1, initial_lr=0.3)
    slow, _, _ = _train(sample, max_epochs=1, min_epochs=1, initial_lr=0.1)
    assert fast.metrics[0].delta > slow.metrics[0].delta > 0


def test_validation_split_sets_the_held_out_size(sample, labels):
    h20, _, _ = _train(sample, labels, max_epochs=1, min_epochs=1, validation_split=0.2)
    h30, _, _ = _train(sample, labels, max_epochs=1, min_epochs=1, validation_split=0.3)
    assert h20.validation_results[0].n == 28 and h30.validation_results[0].n == 42
    h0, _, _ = _train(sample, labels, max_epochs=1, min_epochs=1, validation_split=0.0)
    assert h0.validation_results == []
    assert h20.metrics[0].total_stakes <= 2 * 112


def test_allocation_bounds_hold_every_epoch(sample):
    history, _, agents = _train(
        sample,
        max_epochs=5,
        initial_lr=1.0,
        lr_decay=1.0,
        min_allocation=0.1,
        max_allocation=0.2,
        convergence_threshold=0,
    )
    for allocs in _allocs(history):
        assert abs(sum(allocs.values()) - 1) < 1e-9
        assert all(0.1 - 1e-9 <= v <= 0.2 + 1e-9 for v in allocs.values())
    assert agents.allocations() == history.metrics[-1].allocations


def test_claims_per_agent_and_evidence_per_claim(sample):
    _, result, agents = _train(sample, max_epochs=1, min_epochs=1, claims_per_agent=2, evidence_per_claim=3)
    assert all(len(a.claims) <= 2 for a in agents)
    assert all(len(c.support_ids) <= 3 for c in result.claims)
    _, result, agents = _train(sample, max_epochs=1, min_epochs=1, claims_per_agent=1, evidence_per_claim=6)
    assert all(len(a.claims) == 1 for a in agents)


def test_seed_and_exploration_drive_randomness(sample, labels):
    a, _, _ = _train(sample, labels, max_epochs=3, seed=5)
    b, _, _ = _train(sample, labels, max_epochs=3, seed=5)
    assert a.metrics == b.metrics  # same seed -> identical history
    assert [v.predictions for v in a.validation_results] == [v.predictions for v in b.validation_results]
    c, _, _ = _train(sample, labels, max_epochs=3, seed=6)
    assert set(c.validation_results[0].predictions) != set(a.validation_results[0].predictions)
    # exploration 0 makes proposals greedy, so the agents' noise no longer matters
    g1, r1, _ = _train(sample, max_epochs=2, exploration=0.0, validation_split=0.0, seed=1)
    g2, r2, _ = _train(sample, max_epochs=2, exploration=0.0, validation_split=0.0, seed=2)
    assert [c.support_ids for c in r1.claims] == [c.support_ids for c in r2.claims]
    n1, rn1, _ = _train(sample, max_epochs=2, exploration=1.0, validation_split=0.0, seed=1)
    n2, rn2, _ = _train(sample, max_epochs=2, exploration=1.0, validation_split=0.0, seed=2)
    assert [c.support_ids for c in rn1.claims] != [c.support_ids for c in rn2.claims]


def test_prior_weight_changes_predictions_only(sample, labels):
    a, ra, _ = _train(sample, labels, max_epochs=2, prior_weight=0.0)
    b, rb, _ = _train(sample, labels, max_epochs=2, prior_weight=50.0)
    assert a.metrics == b.metrics  # the debate itself is unchanged
    top = max(b.metrics[-1].allocations, key=b.metrics[-1].allocations.get)
    assert set(b.validation_results[-1].predictions.values()) == {top}


def test_training_never_reads_gold_labels(sample, labels):
    with_labels, r1, _ = _train(sample, labels, max_epochs=3)
    without, r2, _ = _train(sample, None, max_epochs=3)
    assert with_labels.metrics == without.metrics
    assert [c.id for c in r1.claims] == [c.id for c in r2.claims]
    assert with_labels.validation_results[-1].metric == "accuracy"
    assert without.validation_results[-1].metric == "agreement"
    flipped = {k: Tendency.CURIOSITY for k in labels}
    h, _, _ = _train(sample, flipped, max_epochs=3)
    assert h.metrics == with_labels.metrics


def test_best_epoch_and_judge_name(sample, labels):
    history, _, _ = _train(sample, labels, max_epochs=3, convergence_threshold=0)
    values = [v.value for v in history.validation_results]
    assert history.best_epoch == values.index(max(values)) + 1
    assert Trainer(TrainConfig(judge="lexical")).judge.name == "lexical"
    with pytest.raises(ValueError, match="at least 2"):
        Trainer(TrainConfig(judge="lexical")).train(sample.subset(sample.ids[:1]), AgentPool())


def test_training_beats_the_untrained_model_on_held_out_data(sample, labels, embedding_judge):
    """The headline: over seeds 0-9, training beats the same model before any epoch on the
    held-out gold labels of both hand-written people (Joaquín was not used to develop the model)."""
    from wmverse.debate import debate_quality, load_labels, load_observations

    from .conftest import ROOT

    data = ROOT / "worlds" / "training" / "data"
    joaquin = load_observations(data / "person2_observations.json")
    joaquin_labels = load_labels(data / "person2_labels.json")
    cfg = TrainConfig(max_epochs=3)  # the full ten epochs: benchmarks/quality_debate.py
    mara = debate_quality(sample, labels, range(10), embedding_judge, cfg)
    unseen = debate_quality(joaquin, joaquin_labels, range(10), embedding_judge, cfg)
    for result in (mara, unseen):
        vs = result["paired"]["untrained"]
        assert vs["mean_diff"] > 0.03 and vs["wins"] > vs["losses"] and vs["p_t"] < 0.05
        assert result["methods"]["trained"]["mean"] > 0.65
        assert result["paired"]["centroid_self_training"]["p_wilcoxon"] < 0.01
    assert unseen["paired"]["untrained"]["p_wilcoxon"] < 0.01 and unseen["paired"]["untrained"]["losses"] == 0


def test_original_settings_reproduce_the_seed_model(sample, labels, embedding_judge):
    """TrainConfig.original() is the trainer before descriptions, calibration and pooling:
    held-out accuracy of seed 0 is 14/28 after ten epochs, as measured before they existed."""
    cfg = TrainConfig.original()
    assert (cfg.descriptions, cfg.calibration, cfg.claim_pooling) == ("seed", "none", "best")
    history, result = Trainer(cfg, judge=embedding_judge).train(sample, AgentPool(), labels=labels)
    val = history.validation_results[-1]
    assert val.metric == "accuracy" and (val.correct, val.n) == (14, 28) and val.p_value < 0.001
    assert result.winner in Tendency
