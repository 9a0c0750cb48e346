"""``wmverse eval``: one table of every model beside its baselines, numbers from the harnesses, stats as scipy's."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from wmverse.cli import main
from wmverse.eval.cli import seed_spec
from wmverse.eval.harness import EvalSettings
from wmverse.eval.report import HEADER, QUICK_BANNER

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "worlds" / "training" / "data"
SEEDS = [0, 1, 2]
#: group label -> its baselines, in table order
EXPECTED = {
    "debate: Mara": ["untrained judge (same split)", "nearest description", "centroid self-training"],
    "debate: Joaquín (unseen)": [
        "untrained judge (same split)",
        "nearest description",
        "centroid self-training",
    ],
    "leworld": ["memory-free", "oracle (ceiling)"],
    **{
        f"canvas: {d}": ["same model, this dataset alone", "random walk", "AR(1)"]
        for d in ("FRED-macrodata", "Germany-macro", "Yahoo-vega-stocks")
    },
    "dynamics: CartPole-v1": ["random policy (same episodes)"],
}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run of every model on seeds 0-2 through the console entry point."""
    out = tmp_path_factory.mktemp("eval") / "report.json"
    cmd = [sys.executable, "-m", "wmverse.cli", "eval", "--quick", "--seeds", "0-1", "2", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text(encoding="utf-8"))


def _groups(report):
    return {g["label"]: g for g in report["groups"]}


def test_one_table_with_every_model_baseline_and_column(quick):
    proc, report = quick
    lines = proc.stdout.splitlines()
    assert lines[0] == QUICK_BANNER and lines[-1] == QUICK_BANNER  # nobody mistakes it for the figures
    assert report["quick"] is True and report["seeds"] == SEEDS
    assert "wmverse eval --seeds 0-2 --quick" in proc.stdout
    rows = [line for line in lines if line.startswith("| ")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert cells[0] == list(HEADER)
    body = cells[1:]
    assert len(body) == sum(len(b) for b in EXPECTED.values())
    assert [c[0] for c in body if c[0]] == list(EXPECTED)
    assert [c[3] for c in body] == [b for bs in EXPECTED.values() for b in bs]
    assert [c[-1] for c in body if c[-1]] == ["0-2"] * len(EXPECTED)
    assert "one-sided paired tests" in proc.stdout and "Wilcoxon" in proc.stdout
    assert list(_groups(report)) == list(EXPECTED)
    # progress: one line per model and seed, on stderr
    for tag in ("debate Mara", "debate Joaquín (unseen)", "leworld", "canvas", "dynamics"):
        for seed in SEEDS:
            assert f"[eval] {tag} seed {seed}:" in proc.stderr


def test_numbers_are_sane(quick):
    g = _groups(quick[1])
    for label, group in g.items():
        for arm, s in group["arms"].items():
            values = s["per_seed"]
            assert len(values) == len(SEEDS) and all(math.isfinite(v) for v in values), (label, arm)
            assert s["ci_low"] <= s["mean"] <= s["ci_high"]
    for label in ("debate: Mara", "debate: Joaquín (unseen)"):
        assert all(0 <= v <= 1 for s in g[label]["arms"].values() for v in s["per_seed"])
    assert all(0 < v < 1 for s in g["leworld"]["arms"].values() for v in s["per_seed"])
    for label in EXPECTED:
        if label.startswith("canvas"):
            arms = g[label]["arms"]
            assert all(v > 0 for s in arms.values() for v in s["per_seed"])
            assert len(set(arms["random walk"]["per_seed"])) == 1  # fitted, not trained: one value
    dyn = g["dynamics: CartPole-v1"]["arms"]
    assert all(8 <= v <= 500 for s in dyn.values() for v in s["per_seed"])


def test_per_seed_values_are_what_each_harness_gives_for_that_seed(quick):
    import torch

    from wmverse.canvas.quality import canvas_quality
    from wmverse.debate import load_labels, load_observations
    from wmverse.debate.baselines import debate_quality
    from wmverse.dynamics.quality import train_and_evaluate
    from wmverse.eval.harness import canvas_config, debate_setup, dynamics_config, leworld_kwargs
    from wmverse.leworld.quality import leworld_quality

    torch.set_num_threads(1)
    g, seed, k = _groups(quick[1]), 2, SEEDS.index(2)
    settings = EvalSettings(quick=True, debate_data=DATA)

    def at(label, arm):
        return g[label]["arms"][arm]["per_seed"][k]

    judge, cfg = debate_setup(settings)
    d = debate_quality(
        load_observations(DATA / "person2_observations.json"),
        load_labels(DATA / "person2_labels.json"),
        [seed],
        judge,
        cfg,
    )["methods"]
    assert at("debate: Joaquín (unseen)", "trained model") == d["trained"]["per_seed"][0]
    assert (
        at("debate: Joaquín (unseen)", "centroid self-training") == d["centroid_self_training"]["per_seed"][0]
    )
    lw = leworld_quality([seed], "medium", **leworld_kwargs(settings))["per_seed"]
    assert at("leworld", "LeWorld") == pytest.approx(lw["leworld"][0], rel=1e-9)
    assert at("leworld", "oracle (ceiling)") == pytest.approx(lw["oracle"][0], rel=1e-9)
    cv = canvas_quality([seed], canvas_config(settings))["datasets"]["Germany-macro"]
    assert at("canvas: Germany-macro", "mixture (all 3 datasets)") == pytest.approx(
        cv["mixture"]["per_seed"][0], rel=1e-9
    )
    assert at("canvas: Germany-macro", "AR(1)") == pytest.approx(cv["baselines"]["AR(1)"], rel=1e-9)
    dy = train_and_evaluate(seed, dynamics_config(settings))
    assert at("dynamics: CartPole-v1", "planning agent") == dy["mean_return"]
    assert at("dynamics: CartPole-v1", "random policy (same episodes)") == dy["random_mean"]


def test_statistics_equal_scipys(quick):
    for group in quick[1]["groups"]:
        x = np.array(group["arms"][group["trained"]]["per_seed"])
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        s = group["arms"][group["trained"]]
        assert s["mean"] == pytest.approx(x.mean()) and s["ci_low"] == pytest.approx(lo)
        assert s["ci_high"] == pytest.approx(hi)
        alternative = "greater" if group["higher_is_better"] else "less"
        for baseline, p in group["paired"].items():
            y = np.array(group["arms"][baseline]["per_seed"])
            d = x - y
            assert p["diff"] == pytest.approx(d.mean(), abs=1e-12)
            better = d > 0 if group["higher_is_better"] else d < 0
            assert (p["wins"], p["ties"]) == (int(better.sum()), int((d == 0).sum()))
            if np.any(d != 0):
                assert p["p_wilcoxon"] == pytest.approx(stats.wilcoxon(x, y, alternative=alternative).pvalue)
            else:
                assert p["p_wilcoxon"] == 1.0
            if d.std(ddof=1) > 0:
                assert p["p_t"] == pytest.approx(stats.ttest_rel(x, y, alternative=alternative).pvalue)
                dlo, dhi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
                assert (p["diff_ci_low"], p["diff_ci_high"]) == (pytest.approx(dlo), pytest.approx(dhi))


def test_benchmark_driver_runs_the_same(quick, tmp_path):
    out = tmp_path / "b.json"
    cmd = [
        sys.executable,
        "benchmarks/quality.py",
        "--quick",
        "--models",
        "leworld",
        "--seeds",
        "2",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "python benchmarks/quality.py --seeds 2 --models leworld --quick" in proc.stdout
    mine = json.loads(out.read_text(encoding="utf-8"))["groups"][0]["arms"]["LeWorld"]["per_seed"]
    assert mine == [_groups(quick[1])["leworld"]["arms"]["LeWorld"]["per_seed"][SEEDS.index(2)]]


def test_seed_spec_reads_ranges_and_lists():
    assert seed_spec("0-9") == list(range(10))
    assert seed_spec("0-2,7") == [0, 1, 2, 7] and seed_spec("5") == [5]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "x"], "not an integer"),
        (["--seeds", "5-3"], "empty seed range"),
        (["--seeds", "-1"], "seed must be"),
        (["--seeds", str(2**32)], "seed must be"),
        (["--seeds", "0-2", "1"], "repeats [1]"),
        (["--models", "debate", "worldx"], "invalid choice"),
        (["--threads", "0"], ">= 1"),
        (["--json", "{tmp}"], "is a directory"),
        (["--models", "debate", "--debate-data", "{tmp}"], "debate data not found"),
    ],
)
def test_bad_input_exits_2_before_any_work(argv, message, monkeypatch, capsys, tmp_path):
    def no_work(*args, **kwargs):
        raise AssertionError("a model ran despite bad input")

    monkeypatch.setattr("wmverse.eval.harness.run_model", no_work)
    argv = ["eval", *(a.replace("{tmp}", str(tmp_path)) for a in argv)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
