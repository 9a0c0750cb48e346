"""Benchmark of the debate world model with the embedding judge.

Prints: the time to embed 1,000 observations (cold, model already loaded), the mean
epoch time on 1,000 observations (embeddings cached, validation included), and the
speed-up of the batched relevance product over a per-pair Python loop.

The 1,000 observations are the shipped 140-observation sample recombined
deterministically: each sample sentence is prefixed with one of eight time/place
phrases (1,120 distinct texts; the first 1,000 in a seeded order are used).

With ``--accuracy-seeds K`` it also trains on the labelled sample with seeds 0..K-1
(default config, embedding judge) and prints held-out gold accuracy per seed.

Run: python benchmarks/debate.py [--n 1000] [--epochs 3] [--accuracy-seeds 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "worlds" / "training" / "data" / "observations.json"
PREFIXES = [
    "",
    "Last winter, ",
    "On a Tuesday in March, ",
    "According to her brother, ",
    "During the autumn, ",
    "One evening after work, ",
    "Back in the spring, ",
    "Over the summer holidays, ",
]


def synthetic_store(n: int, seed: int = 0):
    from wmverse.debate import Observation, ObservationStore, load_observations

    sample = load_observations(SAMPLE)
    texts = []
    for prefix in PREFIXES:
        for obs in sample:
            text = obs.content if not prefix else prefix + obs.content[0].lower() + obs.content[1:]
            texts.append((obs.id, text))
    order = np.random.default_rng(seed).permutation(len(texts))[:n]
    items = [Observation(f"syn-{i:05d}", texts[k][1], source_id=texts[k][0]) for i, k in enumerate(order)]
    return ObservationStore(items, source="synthetic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--accuracy-seeds", type=int, default=0, help="also sweep seeds on the labelled sample"
    )
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from wmverse.debate import AgentPool, EmbeddingJudge, TrainConfig, Trainer
    from wmverse.debate.embedding_judge import load_minilm

    store = synthetic_store(args.n)
    print(
        f"debate benchmark: {len(store)} observations, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (shared machine: figures are approximate)"
    )
    t0 = time.perf_counter()
    load_minilm("cpu")
    print(f"model load (all-MiniLM-L6-v2, CPU):           {time.perf_counter() - t0:8.2f} s")

    with tempfile.TemporaryDirectory() as cache, threadpool_limits(limits=1, user_api="blas"):
        judge = EmbeddingJudge(cache_dir=cache)
        t0 = time.perf_counter()
        judge.prepare(store.texts)
        print(f"embed {len(store)} observations (cold cache):    {time.perf_counter() - t0:8.2f} s")

        cfg = TrainConfig(max_epochs=args.epochs, min_epochs=args.epochs, convergence_threshold=0.0)
        history, result = Trainer(cfg, judge=judge).train(store, AgentPool())
        secs = [m.seconds for m in history.metrics]
        print(
            f"epoch time, {len(store)} obs (800 train + 200 val): mean {np.mean(secs):.3f} s, "
            f"min {np.min(secs):.3f} s over {len(secs)} epochs (propose+stake+resolve+reallocate+validate)"
        )

        claims = result.claims
        obs = judge.embed(store.texts)
        cm = judge.claim_matrix(claims)
        reps = 50
        t0 = time.perf_counter()
        for _ in range(reps):
            batched = obs @ cm.T
        t_batched = (time.perf_counter() - t0) / reps
        t0 = time.perf_counter()
        loop = np.empty((len(obs), len(cm)), dtype=np.float32)
        for i in range(len(obs)):
            for j in range(len(cm)):
                loop[i, j] = np.dot(obs[i], cm[j])
        t_loop = time.perf_counter() - t0
        assert np.allclose(batched, loop, atol=1e-5)
        t0 = time.perf_counter()
        obs_l, cm_l = obs[:100].tolist(), cm.tolist()
        for o in obs_l:
            for c in cm_l:
                sum(a * b for a, b in zip(o, c, strict=True))
        t_pure = (time.perf_counter() - t0) * len(obs) / 100
        pairs = len(obs) * len(cm)
        print(f"relevance {len(obs)} obs x {len(cm)} claims x {obs.shape[1]} dims ({pairs} pairs):")
        print(f"  batched matrix product:          {t_batched * 1e3:9.3f} ms")
        print(
            f"  per-pair loop with np.dot:       {t_loop * 1e3:9.1f} ms  -> {t_loop / t_batched:,.0f}x slower"
        )
        print(
            f"  per-pair pure Python (extrap.):  {t_pure * 1e3:9.1f} ms  -> {t_pure / t_batched:,.0f}x slower"
        )

    if args.accuracy_seeds:
        accuracy_sweep(args.accuracy_seeds)


def accuracy_sweep(n_seeds: int) -> None:
    """Held-out gold accuracy of the default configuration over several splits."""
    from threadpoolctl import threadpool_limits

    from wmverse.debate import AgentPool, EmbeddingJudge, TrainConfig, Trainer, load_labels, load_observations

    store = load_observations(SAMPLE)
    labels = load_labels(SAMPLE.with_name("labels.json"))
    judge = EmbeddingJudge(cache_dir=None)
    values = []
    print(f"held-out accuracy on the labelled sample, default TrainConfig, seeds 0..{n_seeds - 1}:")
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in range(n_seeds):
            history, _ = Trainer(TrainConfig(seed=seed), judge=judge).train(store, AgentPool(), labels=labels)
            first, v = history.validation_results[0], history.validation_results[-1]
            values.append(v.value)
            print(
                f"  seed {seed}: epoch 1 {first.value:.1%} -> epoch {history.epochs_run} {v.value:.1%} "
                f"({v.correct}/{v.n}, p={v.p_value:.1e})"
            )
    print(f"  mean {np.mean(values):.1%}, min {np.min(values):.1%}, max {np.max(values):.1%} (chance 14.3%)")


if __name__ == "__main__":
    main()
