"""worlds/training end to end under the in-process runtime: stats DB, badges, dashboard, determinism,
and the dashboard opened in a real headless Chromium. The three learners join with tiny sizes."""

import html as html_lib
import os
import re
import subprocess
import sys

import pytest

from wmverse.debate import Tendency
from wmverse.runtime.stats_db import rows as db_dump
from wmverse.runtime.stats_db import series, static
from worlds.training.src.config import DEFAULT_WORLD_FOLDER as WORLD
from worlds.training.src.learner_plans import LEARNER_SPECS, learner_spec
from worlds.training.src.panels import PANEL_TITLES

REPO = WORLD.parents[1]

EPOCHS = 3
ENV = {
    "WMVERSE_SEED": "0",
    "WMVERSE_JUDGE": "embedding",
    "WMVERSE_EPOCHS": str(EPOCHS),
    # every epoch is "calm" (sum |change| < 1): the rule stops at min_epochs=2, exercising the convergence badge
    "WMVERSE_TRAIN_CONVERGENCE_THRESHOLD": "1.0",
    "WMVERSE_TRAIN_PATIENCE": "1",
    # learners: tiny sizes (seconds each)
    "WMVERSE_LEWORLD_EPOCHS": "1,1,1",
    "WMVERSE_LEWORLD_SEQUENCES": "16,8",
    "WMVERSE_CANVAS_STEPS": "3,2,3",
    "WMVERSE_DYNAMICS_STEPS": "1,40",
    "WMVERSE_DYNAMICS_WARMUP": "30,10",
    "WMVERSE_DYNAMICS_EVAL_EPISODES": "1",
}


def _run(out, cache, extra_env=None, seed=0):
    env = {**os.environ, **ENV, "WMVERSE_CACHE_DIR": str(cache), **(extra_env or {})}
    cmd = [sys.executable, "run_synch.py", str(WORLD), "--seed", str(seed), "--out", str(out), "--quiet"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("world_e2e")
    first = _run(base / "a", base / "cache")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    # the second run computes the learners' steps on one thread of the world's process: no step is deferred
    # across ticks (background.defer), every one is waited for in its tick; the run must be the same
    second = _run(base / "b", base / "cache", {"WMVERSE_LEARNER_PROCESSES": "0"})
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return base / "a", first.stdout, base / "b", second.stdout


def test_run_reports_epochs_summary_and_paths(runs):
    out, stdout, _, _ = runs
    for e in (1, 2):
        assert f"[world] epoch {e}/{EPOCHS}" in stdout
    assert "TRAINING WORLD SUMMARY" in stdout and "(converged)" in stdout
    assert all(f"\n{t.value:<12} " in stdout for t in Tendency)
    assert "Validation (accuracy, held-out only)" in stdout
    assert str(out / "world_stats.db") in stdout and str(out / "dashboard.html") in stdout


def test_stats_database_holds_the_training_run(runs):
    out = runs[0]
    db = out / "world_stats.db"
    epochs = [v for _, v in next(iter(series(db, "epoch").values()))]
    assert epochs == [1, 2]  # converged at epoch 2 with the loose threshold
    tendency_of = {pid: t for pid, t in static(db, "tendency").items()}
    assert sorted(tendency_of.values()) == sorted(t.value for t in Tendency)
    alloc = series(db, "allocation")
    assert set(alloc) == set(tendency_of)
    for k in range(len(epochs)):
        values = [alloc[pid][k][1] for pid in alloc]
        assert sum(values) == pytest.approx(1.0) and all(0.03 - 1e-9 <= v <= 0.5 + 1e-9 for v in values)
    final = next(iter(static(db, "final_allocations").values()))
    assert final == pytest.approx({tendency_of[pid]: alloc[pid][-1][1] for pid in alloc})
    for stat in ("claim_score", "stakes_pro", "stakes_con", "claims_proposed"):
        assert set(series(db, stat)) == set(tendency_of)
    assert [v for _, v in next(iter(series(db, "converged").values()))] == [0, 1]
    p = [v for _, v in next(iter(series(db, "p_value").values()))]
    acc = [v for _, v in next(iter(series(db, "val_accuracy").values()))]
    assert len(p) == len(acc) == 2 and p[-1] < 0.01 and acc[-1] > 1 / 7
    states = static(db, "state")
    assert {states[pid] for pid in tendency_of} == {"idle"}


def test_learners_served_every_request_of_their_plan_and_finished(runs):
    out, stdout, _, _ = runs
    db = out / "world_stats.db"
    kind_of = static(db, "learner_kind")
    assert sorted(kind_of.values()) == sorted(LEARNER_SPECS)
    steps = series(db, "learner_step")
    evals = static(db, "learner_eval")
    states = static(db, "state")
    for pid, kind in kind_of.items():
        plan = learner_spec(kind, ENV).plan()
        got = [v for _, v in steps[pid]]
        assert [(r["step"], r["action"]) for r in got] == [(s.index, s.action) for s in plan]
        assert all("error" not in r["metrics"] for r in got)
        assert evals[pid] == got[-1]["metrics"] and states[pid] == "finished"
    assert next(iter(static(db, "learners_finished").values())) == 1
    assert "Learners:" in stdout and all(f"{k} learner:" in stdout for k in LEARNER_SPECS)


def test_learner_badges_follow_the_worlds_rules(runs):
    out, stdout, _, _ = runs
    db = out / "world_stats.db"
    kind_of = static(db, "learner_kind")
    evals = {kind_of[pid]: ev for pid, ev in static(db, "learner_eval").items()}
    badges = {b["learner"]: b for b in next(iter(static(db, "badges").values())) if "learner" in b}
    lw, cv, dy = evals["leworld"], evals["canvas"], evals["dynamics"]
    assert ("leworld" in badges) == (lw["leworld"]["mse"] < lw["memory_free"]["mse"])
    beats = all(
        cv["rmse"]["canvas"][k] < min(cv["rmse"]["random walk"][k], cv["rmse"]["AR(1)"][k])
        for k in ("infl", "unemp")
    )
    assert ("canvas" in badges) == beats
    assert ("dynamics" in badges) == (dy["mean_return"] >= 475.0)
    for kind, b in badges.items():
        assert b == {**b, "badge_type": learner_spec(kind, ENV).badge(evals[kind]).badge_type}
        assert 0.0 <= b["score"] <= 1.0 and f"] {kind} score=" in stdout
    assert "never suggested" not in stdout


def test_badges_were_suggested_by_agents_and_decided_by_the_world(runs):
    out, stdout, _, _ = runs
    badges = next(iter(static(out / "world_stats.db", "badges").values()))
    completed = [b for b in badges if b["reason"] == "converged"]
    significant = [b for b in badges if b["reason"] == "validation_significant"]
    assert sorted(b["tendency"] for b in completed) == sorted(t.value for t in Tendency)
    assert all(b["badge_type"] == "completed" and 0 <= b["score"] <= 1 for b in completed)
    assert len(significant) == 1 and significant[0]["badge_type"] == "pro"
    assert "Validation significant at epoch 2" in significant[0]["description"]
    assert "Training converged at epoch 2" in completed[0]["description"]
    assert f"Badges ({len(badges)}):" in stdout and "rejected badge" not in stdout


def test_same_seed_same_database_and_allocations_with_learners_in_processes_or_on_a_thread(runs):
    """Same seed, same run: with the learners in processes of their own (steps deferred across ticks) and
    with them on one thread of the world's process (every step waited for in its tick)."""
    a, out_a, b, out_b = runs
    assert db_dump(a / "world_stats.db") == db_dump(b / "world_stats.db")
    table = [line for line in out_a.splitlines() if line.split(" ")[0] in {t.value for t in Tendency}]
    assert len(table) == 7
    assert table == [line for line in out_b.splitlines() if line.split(" ")[0] in {t.value for t in Tendency}]


# -- the dashboard in a real browser -----------------------------------------------------------------------
PANELS = [
    "World graph",
    "Summary",
    "Badges",
    "Allocation per tendency",
    "Held-out validation vs chance (1/7)",
    "p-value (log scale; line: 0.01)",
    "Epoch winners",
    "Agents' states",
    "Allocation delta and learning rate",
    *(t for kind in ("leworld", "canvas", "dynamics") for t in PANEL_TITLES[kind]),
]


@pytest.mark.browser
def test_dashboard_renders_offline_in_chromium(runs, chromium, tmp_path):
    import numpy as np
    from PIL import Image

    from wmverse.dashboard.browser import dump_dom, screenshot

    page = runs[0] / "dashboard.html"
    html = page.read_text("utf-8")
    assert "<script src" not in html
    n_traces = html.split("var DASH = ", 1)[1].count('"type": ')
    dom = dump_dom(page)
    assert 'data-rendered="1"' in dom, "plotly never finished drawing (offline?)"
    assert 'class="main-svg"' in dom
    drawn_titles = {html_lib.unescape(t) for t in re.findall(r'font-weight:bold">([^<]+)</tspan>', dom)}
    assert set(PANELS) <= drawn_titles  # every panel's title was drawn into the SVG by plotly
    assert f'data-panels="{len(PANELS)}"' in dom and "rendered " in dom
    assert dom.count('class="trace ') + dom.count('class="table"') >= len(PANELS)
    assert n_traces >= len(PANELS)

    png = screenshot(page, tmp_path / "dash.png", height=2300)
    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.int32)
    flat = img.reshape(-1, 3)
    colors, counts = np.unique(flat, axis=0, return_counts=True)
    background = colors[counts.argmax()]
    drawn = (np.abs(flat - background).sum(axis=1) > 60).mean()
    assert drawn > 0.03, "the screenshot is (almost) blank"
    assert len(colors) > 200
