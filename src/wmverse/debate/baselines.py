"""Honest baselines for the debate world model, on the same held-out split as training.

For each seed the observations are split exactly as :class:`~.trainer.Trainer` splits them
(``observations.split(config.validation_split, seed)``) and four predictors are scored
against the gold labels of the held-out observations:

* ``trained``: the model after training (the Trainer's last validation);
* ``untrained``: the same model before any epoch: the judge with the config's
  descriptions, no claims, no calibration, the default allocations under the same prior;
* ``nearest_description``: the tendency whose description phrase (the seed's few words,
  e.g. "ease, pleasure, avoiding pain") has the nearest embedding;
* ``centroid_self_training``: pseudo-label the training observations by the nearest
  description vector (the model's own anchors), build per-tendency centroids, relabel the
  training observations by the nearest centroid, repeat (``iterations`` times), then
  classify the held-out observations by the nearest centroid.

:func:`debate_quality` runs them over seeds and compares ``trained`` with each baseline
across seeds: per-seed accuracies, the mean with a 95% t interval, and one-sided paired
tests that trained > baseline (Wilcoxon signed-rank, paired t, exact sign test).
Labels are read for scoring only; no predictor sees a held-out text before predicting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .agents import AgentPool
from .judge_factory import make_judge
from .judges import Judge, VectorJudge
from .observations import ObservationStore
from .ownership import predict_owners
from .tendency import DEFAULT_ALLOCATIONS, TENDENCY_ORDER, Tendency
from .train_config import TrainConfig
from .trainer import Trainer
from .validation import gold_labels

__all__ = [
    "BASELINES",
    "centroid_self_training",
    "debate_quality",
    "format_quality_table",
    "mean_interval",
    "nearest_description",
    "paired_greater",
    "untrained_owners",
]

#: Baselines compared with the trained model, in report order.
BASELINES: tuple[str, ...] = ("untrained", "nearest_description", "centroid_self_training")


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


def untrained_owners(judge: Judge, texts: Sequence[str], config: TrainConfig) -> list[Tendency]:
    """The model's owners before any epoch: no claims, no offsets, default allocations as
    the prior with ``config.prior_weight`` (``judge`` must already carry the config's
    descriptions, as :attr:`Trainer.judge <.trainer.Trainer.judge>` does)."""
    return predict_owners(judge, texts, [], DEFAULT_ALLOCATIONS, config.prior_weight)


def nearest_description(judge: VectorJudge, texts: Sequence[str]) -> list[Tendency]:
    """Each text's tendency whose description phrase has the nearest embedding."""
    if not texts:
        return []
    desc = judge.embed([t.description for t in TENDENCY_ORDER])
    sims = np.asarray(judge.embed(list(texts))) @ np.asarray(desc).T
    return [TENDENCY_ORDER[k] for k in np.argmax(sims, axis=1)]


def centroid_self_training(
    judge: VectorJudge, train_texts: Sequence[str], test_texts: Sequence[str], iterations: int = 3
) -> list[Tendency]:
    """Nearest-centroid owners of ``test_texts`` after ``iterations`` rounds of
    self-training on ``train_texts`` (see the module doc). A tendency left without
    training members keeps its description vector as its centroid."""
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    if not test_texts:
        return []
    anchors = _unit(judge.anchor_matrix())
    x_train = _unit(judge.embed(list(train_texts))) if train_texts else np.zeros((0, anchors.shape[1]))
    labels = np.argmax(x_train @ anchors.T, axis=1)
    centroids = anchors
    for _ in range(iterations):
        rows = [x_train[labels == k].mean(axis=0) if (labels == k).any() else anchors[k] for k in range(7)]
        centroids = _unit(np.stack(rows))
        labels = np.argmax(x_train @ centroids.T, axis=1)
    sims = _unit(judge.embed(list(test_texts))) @ centroids.T
    return [TENDENCY_ORDER[k] for k in np.argmax(sims, axis=1)]


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval of the mean (degenerate for one value)."""
    from scipy.stats import t

    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean()) if len(v) else math.nan
    if len(v) < 2:
        return mean, mean, mean
    half = float(t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def paired_greater(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """One-sided paired comparison that ``a`` > ``b`` (one pair per seed).

    Returns the mean difference with its 95% t interval, wins/losses/ties, and p-values of
    the Wilcoxon signed-rank test (ties dropped), the paired t-test and the exact sign test
    (1.0 where a test is undefined, e.g. all differences zero).
    """
    from scipy.stats import binomtest, ttest_rel, wilcoxon

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {len(x)} vs {len(y)}")
    d = x - y
    mean, lo, hi = mean_interval(d)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    p_w = p_t = 1.0
    if wins + losses:
        p_w = float(wilcoxon(x, y, alternative="greater").pvalue)
        if len(d) > 1 and d.std(ddof=1) > 0:
            p_t = float(ttest_rel(x, y, alternative="greater").pvalue)
        elif mean > 0:
            p_t = 0.0
    p_sign = (
        float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue) if wins + losses else 1.0
    )
    return {
        "mean_diff": mean,
        "diff_ci_low": lo,
        "diff_ci_high": hi,
        "wins": wins,
        "losses": losses,
        "ties": len(d) - wins - losses,
        "p_wilcoxon": p_w,
        "p_t": p_t,
        "p_sign": p_sign,
    }


def _judge_for_seed(judge: Judge | str, shared: dict[str, Judge]) -> Judge:
    if not isinstance(judge, str):
        return judge
    key = judge.strip().lower()
    if key == "lexical":  # fits its vocabulary on the first corpus it sees: one per split
        return make_judge(key)
    if key not in shared:
        shared[key] = make_judge(key)
    return shared[key]


def debate_quality(
    observations: ObservationStore,
    labels: dict[str, Tendency] | None,
    seeds: Iterable[int] = range(10),
    judge: Judge | str = "embedding",
    config: TrainConfig | None = None,
    iterations: int = 3,
) -> dict[str, Any]:
    """Trained model vs :data:`BASELINES` on held-out gold labels, one split per seed.

    ``config`` (default :class:`TrainConfig`) is used with each seed; ``judge`` is a name
    (a lexical judge is rebuilt per seed, other judges are shared) or a judge instance,
    which must be a :class:`~.judges.VectorJudge` for the description and centroid
    baselines. Returns ``{"seeds", "n_held_out", "config", "judge", "methods": {name:
    {"per_seed", "mean", "ci_low", "ci_high"}}, "paired": {baseline: paired_greater(...)}}``.
    """
    base_cfg = config or TrainConfig()
    seeds = list(seeds)
    if not seeds:
        raise ValueError("debate_quality needs at least one seed")
    per: dict[str, list[float]] = {name: [] for name in ("trained", *BASELINES)}
    n_held: list[int] = []
    shared: dict[str, Judge] = {}
    judge_name = judge if isinstance(judge, str) else judge.name
    for seed in seeds:
        cfg = replace(base_cfg, seed=seed)
        trainer = Trainer(cfg, judge=_judge_for_seed(judge, shared))
        if not isinstance(trainer.judge, VectorJudge):
            raise ValueError("the baselines need a vector judge (lexical or embedding)")
        train_store, val_store = observations.split(cfg.validation_split, seed=seed)
        gold = gold_labels(val_store, labels)
        held = [o for o in val_store if o.id in gold]
        if not held:
            raise ValueError(f"seed {seed}: no held-out observation has a gold label")
        history, _ = trainer.train(observations, AgentPool(), labels=labels)
        per["trained"].append(history.validation_results[-1].value)
        texts, truth = [o.content for o in held], [gold[o.id] for o in held]
        predictions = {
            "untrained": untrained_owners(trainer.judge, texts, cfg),
            "nearest_description": nearest_description(trainer.judge, texts),
            "centroid_self_training": centroid_self_training(
                trainer.judge, train_store.texts, texts, iterations
            ),
        }
        for name, predicted in predictions.items():
            per[name].append(float(np.mean([p == g for p, g in zip(predicted, truth, strict=True)])))
        n_held.append(len(held))
    methods = {}
    for name, values in per.items():
        mean, lo, hi = mean_interval(values)
        methods[name] = {"per_seed": values, "mean": mean, "ci_low": lo, "ci_high": hi}
    return {
        "seeds": seeds,
        "n_held_out": n_held,
        "judge": judge_name,
        "config": base_cfg.to_json(),
        "methods": methods,
        "paired": {name: paired_greater(per["trained"], per[name]) for name in BASELINES},
    }


def format_quality_table(result: dict[str, Any], title: str = "") -> str:
    """A plain-text table of :func:`debate_quality`'s result: one row per method with its
    per-seed accuracies, mean and 95% interval, and for baselines the paired p-values."""
    seeds = result["seeds"]
    lines = [title] if title else []
    lines.append(
        f"seeds {seeds[0]}-{seeds[-1]}, held-out n per seed {sorted(set(result['n_held_out']))}, "
        f"judge {result['judge']}"
    )
    head = f"{'method':<24}" + "".join(f"{s:>6}" for s in seeds)
    lines.append(
        head + f"{'mean':>8}  {'95% CI':<13}{'diff':>7}  {'W/L/T':<8}{'p_wilc':>8}{'p_t':>8}{'p_sign':>8}"
    )
    for name, m in result["methods"].items():
        row = f"{name:<24}" + "".join(f"{100 * v:6.1f}" for v in m["per_seed"])
        row += f"{100 * m['mean']:8.1f}  {100 * m['ci_low']:5.1f}-{100 * m['ci_high']:<6.1f}"
        paired = result["paired"].get(name)
        if paired is not None:
            wlt = f"{paired['wins']}/{paired['losses']}/{paired['ties']}"
            row += f"{100 * paired['mean_diff']:+7.1f}  {wlt:<8}"
            row += f"{paired['p_wilcoxon']:8.4f}{paired['p_t']:8.4f}{paired['p_sign']:8.4f}"
        lines.append(row)
    lines.append(
        "diff = trained - baseline (points); p: one-sided paired tests over seeds that trained > baseline"
    )
    return "\n".join(lines)
