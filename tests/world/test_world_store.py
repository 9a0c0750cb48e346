"""worlds/training in the run store: a run's nodes, roles, per-epoch points, transitions and badges; a
STATS_REQUEST without names answered with data, not the 4.6 MB dashboard page; a run killed with SIGKILL
keeps what it recorded up to the kill and is marked 'killed'; SIGTERM ends a run 'killed' by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wmverse.store import RunStore, StoreError
from worlds.training.src.config import DEFAULT_WORLD_FOLDER as WORLD

REPO = WORLD.parents[1]
QUICK = {"WMVERSE_LEARNERS": "none", "WMVERSE_JUDGE": "lexical", "WMVERSE_SEED": "0"}
EPOCHS = 3
#: every epoch is calm: training converges at min_epochs=2 (each tendency then gets a badge)
CONVERGE = {"WMVERSE_TRAIN_CONVERGENCE_THRESHOLD": "1.0", "WMVERSE_TRAIN_PATIENCE": "1"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One in-process run of the training world (at most EPOCHS epochs) into a fresh store, a tendency agent asking
    the world for its stats (no names) at tick 12: (result, store path, the answer, the page's size)."""
    from unaiverse.networking.p2p.messages import Msg

    from wmverse.runtime import RuntimeConfig, run_world
    from wmverse.runtime.conn import Router
    from wmverse.runtime.scheduler import Runtime

    base = tmp_path_factory.mktemp("world_store")
    db = base / "runs.db"
    answers, pages = [], []
    advance, deliver = Runtime.advance, Router.deliver

    def ask_at_tick_12(self):
        if self.steps == 12:
            world = self.world_node
            asker = next(n for n in self.running if n.node_type == n.AGENT)
            pages.append(len(world.hosted.stats.plot() or ""))
            self.router.deliver(
                asker.conn.make_msg(world.private_peer_id, Msg.STATS_REQUEST, {}), world.private_peer_id
            )
        advance(self)

    def spy(self, msg, to_peer):
        if msg.content_type == Msg.STATS_RESPONSE:
            answers.append(msg)
        return deliver(self, msg, to_peer)

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**QUICK, **CONVERGE, "WMVERSE_EPOCHS": str(EPOCHS)}.items():
            mp.setenv(key, value)
        mp.setattr(Runtime, "advance", ask_at_tick_12)
        mp.setattr(Router, "deliver", spy)
        result = run_world(WORLD, RuntimeConfig(seed=0, quiet=True, out_dir=base / "out", db=str(db)))
    assert result.exit_code == 0, result.error
    return result, db, answers, pages


def test_the_training_run_is_in_the_store(recorded):
    result, db, _, _ = recorded
    with RunStore.open(db, create=False) as store:
        run = store.run(result.run_id)
        nodes = store.nodes(run.id)
        epochs = store.points(run.id, ["epoch"])
        allocation = store.points(run.id, ["allocation"])
        moves = store.transitions(run.id)
        badges = store.badges(run.id)
    assert (run.world, run.status, run.config["WMVERSE_EPOCHS"]) == ("training", "finished", str(EPOCHS))
    roles = dict(zip(nodes["name"], nodes["role"], strict=True))
    world = next(name for name, role in roles.items() if role == "world")
    tendencies = sorted(name for name, role in roles.items() if role == "tendency")
    assert len(tendencies) == 7 and len(roles) == 9
    assert roles["TrainingMaster"] == "master"  # relays the world's requests (as live unaiverse requires)
    assert epochs["value"].tolist() == [float(e) for e in range(1, len(epochs) + 1)] and len(epochs) >= 2
    assert set(epochs["agent"]) == {world} and epochs["step"].is_monotonic_increasing
    assert sorted(allocation["agent"].unique()) == tendencies
    assert len(allocation) == 7 * len(epochs)
    assert {world, "TrainingMaster", *tendencies} <= set(moves["agent"])
    assert "resolve_epoch" in set(moves[moves["agent"] == world]["action"])
    assert len(badges) == 7 and sorted(badges["agent"]) == tendencies


def test_stats_request_without_names_answers_data(recorded):
    _, _, answers, pages = recorded
    (answer,) = answers
    assert isinstance(answer.content, dict) and set(answer.content) == {"world", "peers"}
    assert "epoch" in answer.content["world"] or any("epoch" in p for p in answer.content["peers"].values())
    size = len(answer.to_bytes())
    assert pages[0] > 4_000_000  # what a live world sends: the dashboard page, plotly.js inlined
    assert size < 100_000, size


def _start(tmp_path: Path, db: Path) -> subprocess.Popen:
    env = {**os.environ, **QUICK, "WMVERSE_EPOCHS": "30"}
    env.pop("WMVERSE_DB", None)
    cmd = [
        sys.executable,
        "run_synch.py",
        str(WORLD),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        "--db",
        str(db),
    ]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_epochs(
    proc: subprocess.Popen, db: Path, epochs: int, timeout: float = 240.0
) -> tuple[int, int]:
    """Polls the store until the run has points of ``epochs`` epochs: (run id, its points then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        if db.is_file():
            try:
                with RunStore.open(db, create=False) as store:
                    runs = store.list_runs()
                    if len(runs):
                        run_id = int(runs["id"].iloc[0])
                        if len(store.points(run_id, ["epoch"])) >= epochs:
                            return run_id, store.counts(run_id)["points"]
            except StoreError:  # the world is creating the store
                pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the run recorded fewer than {epochs} epochs in {timeout:g} s")


def test_a_sigkilled_run_keeps_its_points_and_is_marked_killed(tmp_path):
    db = tmp_path / "runs.db"
    proc = _start(tmp_path, db)
    try:
        run_id, seen = _wait_for_epochs(proc, db, 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with RunStore.open(db, create=False) as store:  # opening marks the dead run
        run = store.run(run_id)
        epochs = store.points(run_id, ["epoch"])["value"].tolist()
        counts = store.counts(run_id)
    assert run.status == "killed" and run.ended_at is not None
    assert counts["points"] >= seen and counts["nodes"] == 9 and counts["transitions"] > 0
    assert len(epochs) < 30 and epochs == [float(e) for e in range(1, len(epochs) + 1)]


def test_a_sigterm_ends_the_run_killed(tmp_path):
    db = tmp_path / "runs.db"
    proc = _start(tmp_path, db)
    try:
        run_id, _ = _wait_for_epochs(proc, db, 2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out[-3000:]
    assert f"run store: run {run_id} in sqlite:///{db}" in out
    with RunStore.open(db, create=False) as store:
        run = store.run(run_id)
        assert run.status == "killed" and run.ended_at is not None
        assert len(store.points(run_id, ["epoch"])) < 30
