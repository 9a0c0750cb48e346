"""Checkpoints of a whole in-process run on the tiny world: "Starting fresh", --keep, a damaged newest checkpoint
(the previous one is used, and named), resume equal to an uninterrupted run, a node's ``run(cycles=...,
max_time=...)`` and ``save_checkpoint_every``/``resume_from_checkpoint``, and Ctrl-C (first graceful, second at
once) in a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from wmverse.runtime import RuntimeConfig, run_world

ROOT = Path(__file__).resolve().parents[2]


def _config(out: Path, **kw) -> RuntimeConfig:
    return RuntimeConfig(seed=0, max_steps=300, quiet=True, db="none", out_dir=out, **kw)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_resume_without_a_checkpoint_says_starting_fresh(tiny, tmp_path):
    lines: list[str] = []
    result = run_world(tiny, _config(tmp_path / "out", resume=True), write=lines.append)
    assert result.exit_code == 0 and result.ended_by == "world"
    assert any("Starting fresh" in line for line in lines), lines[:5]


def test_keep_leaves_the_newest_checkpoints(tiny, tmp_path):
    out = tmp_path / "out"
    result = run_world(tiny, _config(out, checkpoint_every_s=0.3, keep=2))
    assert result.exit_code == 0
    files = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.wmc"))
    assert len(files) == 2
    last_due = (result.steps // 3) * 3  # every 3 ticks of 100 ms
    assert files == [f"ckpt-{last_due - 3:09d}.wmc", f"ckpt-{last_due:09d}.wmc"]
    assert result.checkpoint == out / "checkpoints" / files[-1]


def test_a_damaged_checkpoint_is_named_and_the_previous_one_resumes_the_same_run(tiny, tmp_path, db_rows):
    whole = run_world(tiny, _config(tmp_path / "whole"))
    out = tmp_path / "out"
    run_world(tiny, _config(out, checkpoint_every_s=0.5, keep=3))
    files = sorted((out / "checkpoints").glob("ckpt-*.wmc"))
    assert len(files) == 3
    newest = files[-1]
    newest.write_bytes(newest.read_bytes()[:-100])  # truncated (a crash while copying, a full disk)
    lines: list[str] = []
    resumed = run_world(tiny, _config(out, resume=True, checkpoint_every_s=0.5, keep=3), write=lines.append)
    text = "\n".join(lines)
    assert resumed.exit_code == 0, resumed.error
    assert f"checkpoint {newest.name} is damaged" in text
    assert f"resuming from {files[-2].name}" in text
    assert "resumed at tick" in text
    assert resumed.summary == whole.summary and resumed.steps == whole.steps
    assert resumed.transitions == whole.transitions  # the replayed ticks' lines are collected too
    assert db_rows(resumed.stats_db) == db_rows(whole.stats_db)


def test_a_checkpoint_of_other_code_is_refused(tiny, tmp_path):
    out = tmp_path / "out"
    run_world(tiny, _config(out, checkpoint_every_s=1.0))
    _edit(tiny / "src" / "world.py", "GREET_DELAY_S = 1.0", "GREET_DELAY_S = 1.5")
    result = run_world(tiny, _config(out, resume=True))
    assert (
        result.exit_code == 2 and "another run configuration" in result.error and "world_code" in result.error
    )


def test_a_checkpoint_of_other_settings_is_refused_naming_them(tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("WMVERSE_EPOCHS", "3")
    run_world(tiny, _config(out, checkpoint_every_s=1.0))
    monkeypatch.setenv(
        "WMVERSE_EPOCHS", "5"
    )  # every WMVERSE_* setting is part of the run (the world may read it)
    result = run_world(tiny, _config(out, resume=True))
    assert result.exit_code == 2 and "WMVERSE_EPOCHS='3' then, '5' now" in result.error


def test_a_replay_that_does_not_reproduce_the_checkpointed_run_is_refused(tiny, tmp_path):
    from wmverse.checkpoint import CheckpointStore

    out = tmp_path / "out"
    run_world(tiny, _config(out, checkpoint_every_s=1.0))
    store = CheckpointStore(out / "checkpoints")
    newest = store.load_latest()
    newest.state["digest"] = "0" * 64  # what the run showed up to the checkpoint differs from the replay
    store.save(newest.state, step=newest.step, meta=newest.meta)
    result = run_world(tiny, _config(out, resume=True))
    assert result.exit_code == 1 and "did not reproduce the run" in result.error


def test_node_run_cycles_and_max_time_end_the_run(tiny, tmp_path):
    _edit(tiny / "run_w.py", "node.run()", "node.run(cycles=7)")
    result = run_world(tiny, _config(tmp_path / "a"))
    assert result.exit_code == 0 and result.ended_by == "cycles" and result.steps == 7
    _edit(tiny / "run_w.py", "node.run(cycles=7)", "node.run(max_time=0.75)")
    result = run_world(tiny, _config(tmp_path / "b"))
    assert result.exit_code == 0 and result.ended_by == "max_time" and result.steps == 8
    _edit(tiny / "run_w.py", "node.run(max_time=0.75)", "node.run(cycles=0)")
    result = run_world(tiny, _config(tmp_path / "c"))
    assert result.exit_code == 1 and "cycles must be a positive integer" in result.error


def test_the_node_api_checkpoints_and_resumes(tiny, tmp_path, db_rows):
    whole = run_world(tiny, _config(tmp_path / "whole"))
    _edit(tiny / "run_w.py", "clock_delta=1.0 / 10.0)", "clock_delta=1.0 / 10.0, save_checkpoint_every=1.0)")
    _edit(tiny / "run_w.py", "node.run()", "node.run(resume_from_checkpoint=True)")
    out = tmp_path / "out"
    lines: list[str] = []
    first = run_world(tiny, _config(out), write=lines.append)
    assert first.exit_code == 0 and any("Starting fresh" in line for line in lines)
    written = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.wmc"))
    assert written and written[-1] == f"ckpt-{(whole.steps // 10) * 10:09d}.wmc"
    lines.clear()
    again = run_world(tiny, _config(out), write=lines.append)
    assert any(line.startswith(f"resuming from {written[-1]}") for line in lines), lines[:3]
    assert again.summary == whole.summary and db_rows(again.stats_db) == db_rows(whole.stats_db)


class _Run:
    """run_synch.py on an endless, slow copy of the tiny world, output read line by line."""

    def __init__(self, folder: Path, out: Path, *extra: str, script: str = "run_synch.py") -> None:
        cmd = [
            sys.executable,
            str(ROOT / script),
            str(folder),
            "--out",
            str(out),
            "--db",
            "none",
            *extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not any(text in line for line in list(self.lines)):
            assert time.monotonic() < end and self.proc.poll() is None, "".join(self.lines[-20:])
            time.sleep(0.02)

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        time.sleep(0.1)
        return code, "".join(self.lines)


def _slow_endless(tiny: Path) -> Path:
    world = tiny / "src" / "world.py"
    _edit(world, "return sum(len(v) for v in self.get_all_badges().values()) >= 1", "return False")
    _edit(
        world,
        "    async def on_tick(self):\n",
        "    async def on_tick(self):\n        import threading\n"
        "        threading.Event().wait(0.2)  # a slow world: every tick takes 0.2 real s\n",
    )
    return tiny


def test_first_ctrl_c_stops_gracefully_with_a_checkpoint_and_the_run_resumes(tiny, tmp_path):
    folder = _slow_endless(tiny)
    out = tmp_path / "out"
    run = _Run(folder, out, "--max-steps", "60")
    run.wait_for("world greeted Alice")
    run.proc.send_signal(signal.SIGINT)
    code, text = run.finish()
    assert code == 130, text
    assert "stopping after this tick" in text and "run ended by interrupted" in text
    assert "checkpoint ckpt-" in text and "dashboard:" in text
    stopped_at = int(text.split("checkpoint ckpt-")[1][:9])
    resumed = _Run(folder, out, "--max-steps", str(stopped_at + 3), "--resume", "--quiet")
    code, text = resumed.finish()
    assert code == 0, text
    assert f"resumed at tick {stopped_at}" in text and f"{stopped_at + 3} ticks" in text


def test_sigterm_stops_a_lockstep_run_of_local_processes_after_the_tick(tiny, tmp_path):
    """run_asynch.py: SIGTERM (as Ctrl-C) ends the hub's loop after the tick; the stats and the dashboard are
    written and the run exits 130."""
    folder = _slow_endless(tiny)
    run = _Run(folder, tmp_path / "out", "--max-steps", "10000", script="run_asynch.py")
    run.wait_for("world greeted Alice", timeout=120)
    run.proc.send_signal(signal.SIGTERM)
    code, text = run.finish()
    assert code == 130, text
    assert "stopping after this tick" in text and "run ended by interrupted" in text and "dashboard:" in text


def test_second_ctrl_c_quits_at_once(tiny, tmp_path):
    folder = _slow_endless(tiny)
    out = tmp_path / "out"
    run = _Run(folder, out, "--max-steps", "10000")
    run.wait_for("world greeted Alice")
    run.proc.send_signal(signal.SIGINT)
    run.wait_for("stopping after this tick")
    run.proc.send_signal(signal.SIGINT)  # the tick is not over yet (0.2 s each)
    started = time.monotonic()
    code, text = run.finish()
    assert code == 130, text
    assert time.monotonic() - started < 5
    assert "checkpoint ckpt-" not in text and "dashboard:" not in text
    assert not (out / "checkpoints").exists() or not list((out / "checkpoints").glob("ckpt-*.wmc"))
    assert os.path.exists(out)


def test_served_worlds_and_realtime_processes_refuse_checkpoint_flags_instead_of_ignoring_them(tiny, capsys):
    from wmverse.runtime.cli import asynch_main, serve_main

    for flags in (["--resume"], ["--checkpoint-every", "5"], ["--restart-agents", "1"]):
        assert asynch_main([str(tiny), *flags, "--realtime"]) == 2
        assert "need the lockstep clock" in capsys.readouterr().err
    assert serve_main([str(tiny), "--checkpoint-every", "5"]) == 2
    assert "a served world's process keeps no checkpoint" in capsys.readouterr().err
    assert serve_main([str(tiny), "--resume"]) == 2  # realtime (no --lockstep): it cannot run again the same
    assert "need the lockstep clock (serve with --lockstep N)" in capsys.readouterr().err


def test_local_processes_checkpoint_and_resume_a_run_with_nothing_to_resume_starting_fresh(tiny, capfd):
    """run_asynch.py --checkpoint-every keeps every agent process's journal; --resume with none resumes
    nothing: each process says it starts fresh and the run is the usual one."""
    from wmverse.runtime.cli import asynch_main

    out = tiny / "out"
    assert (
        asynch_main([str(tiny), "--quiet", "--out", str(out), "--checkpoint-every", "0.5", "--resume"]) == 0
    )
    text = capfd.readouterr().out  # the agent processes write to the same descriptor
    assert "resuming the run: the world runs again from tick 0" in text
    assert text.count("Starting fresh.") == 3  # Asker, Alice, Bob: no checkpoint yet
    assert "Asker: completed 1.00 asked Bob" in text
    assert sorted(p.name for p in (out / "agents").iterdir()) == ["01-run_1", "02-run_2", "03-run_3"]
    assert all(list((d / "checkpoints").glob("ckpt-*.wmc")) for d in (out / "agents").iterdir())


def test_a_checkpoint_that_verifies_but_is_no_run_checkpoint_is_refused_by_name(tiny, tmp_path):
    from wmverse.checkpoint import CheckpointStore

    out = tmp_path / "out"
    CheckpointStore(out / "checkpoints").save({"format": 1, "fingerprint": "not a dict"}, step=4)
    result = run_world(tiny, _config(out, resume=True))
    assert result.exit_code == 2
    assert "ckpt-000000004.wmc is not a run checkpoint: 'fingerprint'" in result.error


def test_node_run_cycles_ends_a_run_of_local_processes(tiny, tmp_path):
    from wmverse.runtime import run_processes

    _edit(tiny / "run_w.py", "node.run()", "node.run(cycles=6)")
    result = run_processes(tiny, _config(tmp_path / "out"))
    assert result.exit_code == 0, result.error
    assert result.ended_by == "cycles" and result.steps == 6


def test_one_journal_is_written_by_one_process_at_a_time(tmp_path):
    """An agent process locks its journal folder for its life: a second one (a resumed run started while the
    killed run's process is still exiting) waits for it, and gives up naming the folder."""
    import time

    import pytest

    from wmverse.runtime.checkpointing import ResumeError
    from wmverse.runtime.remote_resume import lock_journal

    first = lock_journal(tmp_path / "j")
    started = time.monotonic()
    with pytest.raises(ResumeError, match="in use by another process"):
        lock_journal(tmp_path / "j", wait_s=0.3)
    assert time.monotonic() - started >= 0.3
    first.close()  # the first process ended
    lock_journal(tmp_path / "j", wait_s=0.3).close()


def test_a_resumed_hub_reads_its_ranks_file_or_says_why_not():
    """``OUT/ranks.json`` (peer id -> rank) gives a resumed served run's joiners their ranks back; anything
    else in it is refused whole, with the reason (the hub then gives new ranks)."""
    import pytest

    from wmverse.runtime.hub_admission import read_ranks

    assert read_ranks('{"peerA": 1001, "peerB": 1002}', 1001) == {"peerA": 1001, "peerB": 1002}
    assert read_ranks("{}", 1001) == {}
    for text, why in [
        ("{", "not JSON"),
        ("[1001]", "not an object"),
        ('{"a": "1001"}', "an integer"),
        ('{"a": 1001.0}', "an integer"),
        ('{"a": true}', "an integer"),
        ('{"a": 5}', ">= 1001"),  # a child's rank: never a served peer's
        ('{"": 1001}', "an integer"),
        ('{"a": 1001, "b": 1001}', "two peers with one rank"),
        ("[" * 100_000, "not JSON"),
    ]:
        with pytest.raises(ValueError, match=why):
            read_ranks(text, 1001)
