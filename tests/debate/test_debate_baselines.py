"""Baselines, paired statistics and calibrated ownership on data whose answers are known."""

import math
import zlib

import numpy as np
import pytest

from wmverse.debate import (
    DEFAULT_ALLOCATIONS,
    Claim,
    LexicalJudge,
    Observation,
    ObservationStore,
    Tendency,
    TrainConfig,
    VectorJudge,
    pool_claims,
    predict_owners,
)
from wmverse.debate.baselines import (
    BASELINES,
    centroid_self_training,
    debate_quality,
    format_quality_table,
    mean_interval,
    nearest_description,
    paired_greater,
    untrained_owners,
)
from wmverse.debate.tendency import TENDENCY_ORDER, description_texts


class TableJudge(VectorJudge):
    """Texts of tendency k (anchors, descriptions, exemplars, observations 'k:...') embed near
    axis k of an 8-d space; a text's extra noise comes from a seeded hash."""

    name = "table"

    def _encode(self, texts):
        out = []
        for text in texts:
            k = next((t.index for t in TENDENCY_ORDER if text in _tendency_texts(t)), None)
            if k is None:
                k = TENDENCY_ORDER.index(Tendency(text.split(":")[0]))
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            v = np.zeros(8)
            v[k] = 1.0
            v += 0.1 * rng.normal(size=8)
            out.append(v / np.linalg.norm(v))
        return np.array(out)


def _tendency_texts(t):
    return {t.description, *description_texts(t, "exemplars")}


@pytest.fixture(scope="module")
def synthetic():
    items, labels = [], {}
    for t in TENDENCY_ORDER:
        for i in range(10):
            oid = f"{t.value}-{i}"
            items.append(Observation(oid, f"{t.value}: observation {i} of a synthetic person"))
            labels[oid] = t
    order = np.random.default_rng(0).permutation(len(items))
    return ObservationStore([items[i] for i in order], source="synthetic"), labels


def test_baselines_recover_a_separable_person(synthetic):
    store, labels = synthetic
    judge = TableJudge()
    texts, truth = store.texts, [labels[o.id] for o in store]
    assert nearest_description(judge, texts) == truth
    assert centroid_self_training(judge, texts[:50], texts, iterations=2) == truth
    assert untrained_owners(judge, texts, TrainConfig()) == truth
    # the untrained model keeps the default allocations as its prior: a huge weight picks the largest
    flooded = untrained_owners(judge, texts, TrainConfig(prior_weight=100.0))
    assert set(flooded) == {max(DEFAULT_ALLOCATIONS, key=DEFAULT_ALLOCATIONS.get)}
    with pytest.raises(ValueError):
        centroid_self_training(judge, texts, texts, iterations=0)


def test_debate_quality_reports_every_method_per_seed(synthetic):
    store, labels = synthetic
    cfg = TrainConfig(max_epochs=2, min_epochs=1)
    result = debate_quality(store, labels, seeds=[0, 1, 2], judge=TableJudge(), config=cfg)
    assert result["seeds"] == [0, 1, 2] and result["n_held_out"] == [14, 14, 14]
    assert set(result["methods"]) == {"trained", *BASELINES} and set(result["paired"]) == set(BASELINES)
    for m in result["methods"].values():
        assert len(m["per_seed"]) == 3 and m["ci_low"] <= m["mean"] <= m["ci_high"]
    assert (
        result["methods"]["trained"]["mean"] == 1.0
        and result["methods"]["nearest_description"]["mean"] == 1.0
    )
    assert result["paired"]["untrained"]["ties"] == 3 and result["paired"]["untrained"]["p_wilcoxon"] == 1.0
    table = format_quality_table(result, "synthetic")
    assert "centroid_self_training" in table and table.startswith("synthetic")
    with pytest.raises(ValueError, match="no held-out observation"):
        debate_quality(store, {}, seeds=[0], judge=TableJudge(), config=cfg)


def test_paired_statistics_match_known_values():
    a = [0.6, 0.7, 0.8, 0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 0.75]
    b = [x - d for x, d in zip(a, [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1], strict=True)]
    p = paired_greater(a, b)
    assert (p["wins"], p["losses"], p["ties"]) == (10, 0, 0)
    assert p["p_wilcoxon"] == pytest.approx(1 / 1024) and p["p_sign"] == pytest.approx(1 / 1024)
    assert p["mean_diff"] == pytest.approx(0.055) and p["diff_ci_low"] > 0 and p["p_t"] < 1e-3
    worse = paired_greater(b, a)
    assert worse["p_sign"] == 1.0 and worse["p_wilcoxon"] > 0.99
    assert paired_greater([0.5, 0.5], [0.5, 0.5])["p_t"] == 1.0
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    with pytest.raises(ValueError):
        paired_greater([1.0], [1.0, 2.0])


def test_ownership_without_calibration_is_the_judges_own(sample):
    judge = LexicalJudge()
    judge.prepare(sample.texts)
    claims = [
        Claim("a", Tendency.COMFORT, "c", ("x",), (sample.texts[0],)),
        Claim("b", Tendency.COMFORT, "c", ("y",), (sample.texts[1],)),
        Claim("c", Tendency.STATUS, "s", ("z",), (sample.texts[2],)),
    ]
    texts = sample.texts[:40]
    assert predict_owners(judge, texts, claims, DEFAULT_ALLOCATIONS, 0.3) == judge.owners(
        texts, claims, DEFAULT_ALLOCATIONS, 0.3
    )
    pooled = pool_claims(claims)
    assert [c.tendency for c in pooled] == [Tendency.STATUS, Tendency.COMFORT]
    assert pooled[1].evidence == (sample.texts[0], sample.texts[1]) and pooled[1].support_ids == ("x", "y")
    # a large offset against comfort takes every observation away from it
    offsets = np.zeros(7)
    offsets[Tendency.COMFORT.index] = 10.0
    assert Tendency.COMFORT not in predict_owners(judge, texts, claims, offsets=offsets)
