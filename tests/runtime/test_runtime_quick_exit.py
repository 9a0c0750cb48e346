"""A command's quick exit (``collector.freeze_for_exit``): the shutdown collections skip the heap, and nothing a
run writes is lost by it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wmverse.runtime.collector import GC_VAR

REPO = Path(__file__).resolve().parents[2]

_PROBE = (
    "import gc, sys\n"
    "from wmverse.runtime.collector import freeze_for_exit\n"
    "code = freeze_for_exit(3)\n"
    "print(code, gc.get_freeze_count() > 0)\n"
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMVERSE_")}
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("setting", "frozen"),
    [(None, "True"), ("2500", "True"), ("0", "False"), ("not a number", "False")],
)
def test_freeze_for_exit_freezes_unless_the_interpreters_collector_is_kept(setting, frozen):
    env = _env() if setting is None else _env(**{GC_VAR: setting})
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", frozen]  # the exit code passes through unchanged


def _run_synch(folder: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "run_synch.py"), str(folder), "--seed", "0", "--max-steps", "120"]
    cmd += ["--out", str(out), "--quiet", "--db", str(out / "runs.db")]
    return subprocess.run(cmd, env=_env(**env), capture_output=True, text=True, timeout=300)


def test_run_synch_loses_nothing_with_the_quick_exit(tmp_path, fresh_tiny, db_rows):
    folder = fresh_tiny(tmp_path / "world")
    quick = _run_synch(folder, tmp_path / "quick")
    slow = _run_synch(folder, tmp_path / "slow", **{GC_VAR: "0"})  # the interpreter's own shutdown
    assert quick.returncode == slow.returncode == 0, quick.stderr + slow.stderr
    summary = [line for line in quick.stdout.splitlines() if "/quick" not in line]
    assert summary and summary == [line for line in slow.stdout.splitlines() if "/slow" not in line]
    quick_rows = db_rows(tmp_path / "quick" / "world_stats.db")
    assert quick_rows and any(quick_rows.values())
    assert quick_rows == db_rows(tmp_path / "slow" / "world_stats.db")
    for out in ("quick", "slow"):  # the run store recorded the run as finished either way
        runs = db_rows(tmp_path / out / "runs.db")["runs"]
        assert len(runs) == 1 and "finished" in runs[0]
