"""Quality of the debate world model against honest baselines, on two hand-written people.

For each person (Mara, the shipped sample; Joaquín, written independently as the person the
model was not developed on) and each configuration (the current defaults, and
``TrainConfig.original()``, the model before descriptions/calibration/claim pooling), it
trains with seeds 0..K-1 and prints held-out gold accuracy per seed for the trained model
and the baselines of :mod:`wmverse.debate.baselines` (untrained model, nearest description,
centroid self-training), with the mean, a 95% t interval and one-sided paired tests
(Wilcoxon, t, sign) that trained > baseline.

Run: python benchmarks/quality_debate.py [--seeds 10] [--judge embedding|lexical] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "worlds" / "training" / "data"
PEOPLE = {
    "Mara": (DATA / "observations.json", DATA / "labels.json"),
    "Joaquín (unseen)": (DATA / "person2_observations.json", DATA / "person2_labels.json"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..K-1 (default 10)")
    parser.add_argument("--judge", choices=["embedding", "lexical"], default="embedding")
    parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from wmverse.debate import TrainConfig, load_labels, load_observations, make_judge
    from wmverse.debate.baselines import debate_quality, format_quality_table

    configs = {"defaults": TrainConfig(), "original": TrainConfig.original()}
    shared = make_judge(args.judge) if args.judge == "embedding" else args.judge
    out = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for person, (obs_path, labels_path) in PEOPLE.items():
            observations, labels = load_observations(obs_path), load_labels(labels_path)
            for cfg_name, cfg in configs.items():
                start = time.perf_counter()
                result = debate_quality(observations, labels, range(args.seeds), shared, cfg)
                title = f"\n== {person}, {len(observations)} observations, config {cfg_name} "
                title += f"({time.perf_counter() - start:.1f} s)"
                print(format_quality_table(result, title))
                out[f"{person} / {cfg_name}"] = result
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
