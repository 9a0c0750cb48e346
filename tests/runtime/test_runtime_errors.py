"""Failures: a broken script or action stops the run with exit 1 and names the file and line."""

from pathlib import Path

from wmverse.runtime import RuntimeConfig, run_world
from wmverse.runtime.cli import main


def _replace(path: Path, old: str, new: str) -> int:
    """Replaces ``old`` by ``new`` in ``path``; returns the 1-based line where ``new`` starts."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def test_import_error_in_a_run_script_names_script_and_line(tiny):
    (tiny / "run_4.py").write_text(
        "from unaiverse.agent import Agent\nimport module_that_does_not_exist_42\n"
    )
    result = run_world(tiny, RuntimeConfig(max_steps=50, quiet=True))
    assert result.exit_code == 1
    assert "run_4.py" in result.error and "run_4.py:2" in result.error
    assert "ModuleNotFoundError" in result.error
    assert result.steps == 0


def test_exception_inside_an_action_names_role_file_and_line(tiny):
    line = _replace(
        tiny / "src" / "answerer.py",
        'log.user(f"answered {requester}")',
        'raise ValueError("boom in answer")',
    )
    result = run_world(tiny, RuntimeConfig(max_steps=100, quiet=True))
    assert result.exit_code == 1
    assert f"answerer.py:{line}" in result.error
    assert "boom in answer" in result.error and "'Bob'" in result.error and "run_3.py" in result.error


def test_keep_going_logs_the_action_error_and_continues(tiny):
    _replace(tiny / "src" / "answerer.py", 'log.user(f"answered {requester}")', 'raise ValueError("boom")')
    lines = []
    result = run_world(tiny, RuntimeConfig(max_steps=40, strict=False), write=lines.append)
    assert result.exit_code == 0 and result.ended_by == "max_steps"
    assert any("Action 'answer' failed" in line for line in lines)


def test_joining_an_unknown_world_fails_clearly(tiny):
    _replace(tiny / "run_2.py", 'join_world="TinyWorld"', 'join_world="NoSuchWorld"')
    result = run_world(tiny, RuntimeConfig(max_steps=10, quiet=True))
    assert result.exit_code == 1
    assert "NoSuchWorld" in result.error and "run_2.py" in result.error


def test_not_a_world_folder(tmp_path):
    result = run_world(tmp_path, RuntimeConfig(quiet=True))
    assert result.exit_code == 2 and "run_w.py" in result.error
    assert main([str(tmp_path / "missing"), "--quiet"]) == 2


def test_bad_config_is_rejected(tiny, capsys):
    assert main([str(tiny), "--max-steps", "0"]) == 2
    assert "max_steps" in capsys.readouterr().err


def test_cli_runs_the_tiny_world(tiny, capsys):
    assert main([str(tiny), "--seed", "3", "--quiet", "--out", str(tiny / "elsewhere")]) == 0
    out = capsys.readouterr().out
    assert "run ended by world" in out and "dashboard:" in out
    assert (tiny / "elsewhere" / "world_stats.db").is_file()


def test_seed_and_out_default_to_the_environment(tiny, monkeypatch, capsys):
    monkeypatch.setenv("WMVERSE_SEED", "5")
    monkeypatch.setenv("WMVERSE_OUT", str(tiny / "from_env"))
    assert main([str(tiny), "--quiet"]) == 0
    assert (tiny / "from_env" / "world_stats.db").is_file()
    from wmverse.runtime.cli import build_parser

    args = build_parser().parse_args([str(tiny)])
    assert args.seed == 5 and args.out == tiny / "from_env"
    args = build_parser().parse_args([str(tiny), "--seed", "2", "--out", str(tiny / "flag")])
    assert args.seed == 2 and args.out == tiny / "flag"  # flags win over the environment


def test_ctrl_c_stops_the_run_at_the_next_tick(tiny):
    """asyncio delivers Ctrl-C by cancelling the main task at its next suspension; a run that never
    suspended only stopped when the world ended. A real SIGINT arrives as the first tick starts."""
    import asyncio
    import os
    import signal

    import wmverse.runtime.scheduler as scheduler

    original = scheduler.Runtime.run

    async def run_with_ctrl_c(self):
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGINT)
        return await original(self)

    # A process started in the background by a non-interactive shell (as CI may be) inherits SIGINT
    # ignored, and then asyncio leaves it so: give this test the handler an interactive run has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    scheduler.Runtime.run = run_with_ctrl_c
    try:
        result = run_world(tiny, RuntimeConfig(quiet=True, max_steps=10_000))
    finally:
        scheduler.Runtime.run = original
        signal.signal(signal.SIGINT, previous)
    assert result.ended_by == "interrupted" and 1 <= result.steps <= 3
    assert result.dashboard is not None and result.dashboard.is_file()


def test_wmverse_subcommand_runs_the_tiny_world(tiny):
    import argparse

    from wmverse.runtime.cli import add_subparser

    parser = argparse.ArgumentParser(prog="wmverse")
    add_subparser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["runtime", "run", str(tiny), "--quiet", "--max-steps", "3"])
    assert args.func(args) == 0


def test_live_rule_rejects_world_requests_by_default(tiny):
    """As live unaiverse 0.1.31 (node.py:2375): an agent refuses an interaction from its world's node."""
    lines = []
    result = run_world(tiny, RuntimeConfig(max_steps=40), write=lines.append)
    assert result.exit_code == 0
    assert not any("greeted by" in line for line in lines)
    assert any("Alice: ERROR: Unexpected interaction from unknown node" in line for line in lines)


def test_a_failed_run_closes_the_world_stats_so_nothing_prints_later(tiny, capsys):
    """A run that fails after the world was built leaves no open stats database behind: before, unaiverse's
    ``Stats.__del__`` saved and printed at some later garbage collection, inside another test's output."""
    import gc
    import sqlite3

    _replace(tiny / "run_2.py", 'join_world="TinyWorld"', 'join_world="NoSuchWorld"')
    result = run_world(tiny, RuntimeConfig(max_steps=10, quiet=True))
    assert result.exit_code == 1
    capsys.readouterr()
    gc.collect()
    assert capsys.readouterr().out == ""
    with sqlite3.connect(tiny / "out" / "world_stats.db") as db:  # what it had was saved
        assert db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
