"""A small synthetic run store: the training world in miniature (2 roles, 3 agents, 5 epochs).

The world node and three agents: two of the ``tendency`` role (Survival, Comfort; their series written
under their peer ids, as the world writes them) and one ``leworld`` learner (written under its name).
Every epoch: the world's validation accuracy, learning rate and winner (a category); the tendencies'
allocations; the learner's loss (dated by a quarter in its detail) and its step report (a JSON object).
The learner's last point holds a forecast (quarters, truth, canvas). Transitions and badges for all.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from wmverse.store import Point, RunStore, Transition

T0 = 1_700_000_000.0  # the synthetic clock's start (2023-11-14)
EPOCHS = 5
PEERS = {"Survival": "peer-s", "Comfort": "peer-c"}
TENDENCY_STATES = [
    ("idle", "proposing", "propose"),
    ("proposing", "staking", "stake"),
    ("staking", "idle", "rest"),
]
LEARNER_STATES = [
    ("ready", "training", "train"),
    ("training", "evaluating", "evaluate"),
    ("evaluating", "ready", "report"),
]


def epoch_points(epoch: int, run_shift: float = 0.0) -> list[Point]:
    """The points of one epoch (1-based)."""
    sim, wall = T0 + 60.0 * epoch, T0 + 5.0 * epoch
    acc = 0.2 + 0.1 * epoch + run_shift
    pts = [
        Point("world", "val_accuracy", acc, step=epoch, sim_time=sim, wall_time=wall),
        Point("world", "learning_rate", 10.0 ** (-epoch), step=epoch, sim_time=sim, wall_time=wall),
        Point(
            "world",
            "winner",
            "survival" if epoch % 2 else "comfort",
            step=epoch,
            sim_time=sim,
            wall_time=wall,
        ),
        Point("peer-s", "allocation", 0.18 + 0.02 * epoch, step=epoch, sim_time=sim, wall_time=wall),
        Point("peer-c", "allocation", 0.18 - 0.01 * epoch, step=epoch, sim_time=sim, wall_time=wall),
        Point(
            "LearnerLeworld",
            "loss",
            1.0 / epoch,
            step=epoch,
            sim_time=sim,
            wall_time=wall,
            detail={"quarter": f"2001Q{(epoch - 1) % 4 + 1}" if epoch <= 4 else "2002Q1"},
        ),
        Point(
            "LearnerLeworld",
            "learner_step",
            {"step": epoch, "action": "train", "metrics": {"heldout": 0.5 / epoch}},
            step=epoch,
            sim_time=sim,
            wall_time=wall,
        ),
    ]
    return pts


def fill_run(store: RunStore, *, run_shift: float = 0.0, finished: bool = True, epochs: int = EPOCHS) -> int:
    """One run of the miniature world; returns its id."""
    # a run still running starts now: the store marks 'killed' a run whose process started after it
    started = datetime.fromtimestamp(T0, UTC) if finished else None
    run_id = store.begin_run("training", seed=0, config={"epochs": epochs}, started_at=started)
    store.add_node(run_id, "world", "world", "peer-w")
    for name, peer in PEERS.items():
        store.add_node(run_id, name, "tendency", peer)
    store.add_node(run_id, "LearnerLeworld", "leworld", "peer-l")
    store.add_points(
        run_id,
        [Point(peer, "tendency", name.lower(), sim_time=T0, wall_time=T0) for name, peer in PEERS.items()],
    )
    for epoch in range(1, epochs + 1):
        store.add_points(run_id, epoch_points(epoch, run_shift))
        sim = T0 + 60.0 * epoch
        rows = []
        for k, (src, dst, action) in enumerate(TENDENCY_STATES):
            for peer in PEERS.values():
                rows.append(Transition(peer, src, dst, action, sim + 10 * k, T0 + 5 * epoch))
        for k, (src, dst, action) in enumerate(LEARNER_STATES):
            rows.append(Transition("LearnerLeworld", src, dst, action, sim + 15 * k, T0 + 5 * epoch))
        store.add_transitions(run_id, rows)
    store.add_points(
        run_id,
        [
            Point(
                "LearnerLeworld",
                "forecast",
                {
                    "quarters": ["2000Q1", "2000Q2", "2000Q3", "2000Q4"],
                    "truth": [1.0, 2.0, 1.5, 2.5],
                    "canvas": [1.1, 1.8, 1.7, 2.2],
                },
                sim_time=T0 + 400,
                wall_time=T0 + 40,
            )
        ],
    )
    store.add_badge(run_id, "peer-s", "pro", 0.8, "validation significant at epoch 5", sim_time=T0 + 330)
    store.add_badge(run_id, "peer-s", "completed", 0.9, "training converged", sim_time=T0 + 331)
    store.add_badge(run_id, "peer-c", "completed", 0.9, "training converged", sim_time=T0 + 331)
    store.add_badge(run_id, "LearnerLeworld", "completed", 0.7, "held-out evaluation done", sim_time=T0 + 332)
    if finished:
        store.finish_run(run_id)
    return run_id


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A SQLite run store holding one finished run (id 1)."""
    path = tmp_path / "runs.db"
    with RunStore.open(path) as store:
        fill_run(store)
    return path


@pytest.fixture
def store(store_path: Path):
    with RunStore.open(store_path) as s:
        yield s


@pytest.fixture
def mini() -> SimpleNamespace:
    """This module's helpers and constants (test modules cannot import a conftest in importlib mode)."""
    return SimpleNamespace(T0=T0, EPOCHS=EPOCHS, epoch_points=epoch_points, fill_run=fill_run)


@pytest.fixture
def chromium() -> str:
    """Chromium's path; skips the test without one, except under CI=true where it must be there."""
    on_ci = os.environ.get("CI", "").lower() == "true"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if on_ci:
            pytest.fail("playwright is missing on CI: the browser tests must run there")
        pytest.skip("playwright is not installed (pip install playwright)")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if on_ci:
            pytest.fail("chromium is missing on CI: the browser tests must run there")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return exe
