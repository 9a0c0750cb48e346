"""The quality harness (LeWorld vs memory-free vs oracle over seeds) and the world learner's defaults."""

import math

import pytest

from agents.learners.leworld import LeWorldLearnerConfig, LeWorldRunner
from wmverse.leworld import (
    TrainingConfig,
    format_ablation,
    format_quality,
    info_request_ablation,
    leworld_quality,
)
from wmverse.leworld.quality import mean_interval, small_configs

TINY = dict(epochs=(1, 1, 1), num_train=16, num_val=8)


def test_leworld_quality_reports_seeds_interval_and_paired_test():
    res = leworld_quality((0, 1), "easy", **TINY)
    assert set(res["per_seed"]) == {"leworld", "memory_free", "oracle"}
    assert all(len(v) == 2 and all(x > 0 for x in v) for v in res["per_seed"].values())
    low, high = res["ci95"]["leworld"]
    assert low <= res["mean"]["leworld"] <= high
    assert 0 <= res["p_value"] <= 1 and isinstance(res["beats_memory_free"], bool)
    assert res["routing"]["slms_per_input"] >= 0
    table = format_quality(res)
    assert "memory_free" in table and "paired" in table and "SLMs per input" in table
    assert leworld_quality((3,), "easy", **TINY) != leworld_quality((4,), "easy", **TINY)  # seeded
    assert (
        leworld_quality((3,), "easy", **TINY)["per_seed"] == leworld_quality((3,), "easy", **TINY)["per_seed"]
    )


def test_info_request_ablation_runs_every_arm_at_the_same_budget():
    res = info_request_ablation((0, 1), "easy", **TINY)
    assert set(res["per_seed"]) == {"request, paired", "request, detached", "no request"}
    assert set(res["versus_no_request"]) == {"request, paired", "request, detached"}
    assert "no request" in format_ablation(res)
    with pytest.raises(ValueError, match="models"):
        leworld_quality((0,), "easy", models=("oracle",), **TINY)


def test_mean_interval():
    assert mean_interval([2.0]) == (2.0, 2.0, 2.0)
    m, low, high = mean_interval([1.0, 2.0, 3.0])
    assert (
        m == 2.0
        and high - m == pytest.approx(m - low)
        and high - m == pytest.approx(4.303 / math.sqrt(3), rel=1e-3)
    )


def test_small_configs_default_to_the_routed_preset():
    tc, mem, slm, blm = small_configs(0, "medium")
    routed = TrainingConfig.preset("routed")
    assert (tc.data_layout, tc.lambda_confidence, tc.router_lr_scale) == (
        routed.data_layout,
        routed.lambda_confidence,
        routed.router_lr_scale,
    )
    assert tc.char_dim == slm.char_dim == 40  # three specialty codes of 11 dimensions, plus 7 Gaussian
    assert small_configs(0, "medium", data_layout="columns")[0].char_dim == 24


def test_learner_config_validation():
    with pytest.raises(ValueError, match="data_layout"):
        LeWorldLearnerConfig(data_layout="rows")
    with pytest.raises(ValueError, match="router_top_k"):
        LeWorldLearnerConfig(router_top_k=4)
    with pytest.raises(ValueError, match="phase3_info_objective"):
        LeWorldLearnerConfig(phase3_info_objective="reward")
    with pytest.raises(ValueError, match="lambda_sparsity"):
        LeWorldLearnerConfig(lambda_sparsity=-1.0)
    with pytest.raises(ValueError, match="char_dim"):
        LeWorldLearnerConfig(char_dim=0)
    ref = LeWorldLearnerConfig(data_layout="columns", presence_aware=False).training_overrides()
    assert ref["lambda_confidence"] == 0.0 and ref["router_lr_scale"] == 1.0


def test_world_learner_default_config_earns_its_badge():
    """The world's learner at its defaults (about 20 s at one thread): held-out MSE below the
    memory-free baseline's, with sparse input-dependent routing."""
    runner = LeWorldRunner(LeWorldLearnerConfig())
    for phase in (1, 2, 3):
        runner.run_phase(phase)
    ev = runner.evaluate()
    assert ev["leworld"]["mse"] < 0.8 * ev["memory_free"]["mse"]
    assert ev["leworld"]["slms_per_input"] < 2.5  # two of the three SLMs are needed per input
    assert ev["leworld"]["routing_entropy"] > 1.0  # ...and which two varies: balanced load
