"""The tiny world as local processes: run_asynch's outcome, determinism, failures, departures, names."""

from pathlib import Path

import pytest

from wmverse.runtime import RuntimeConfig
from wmverse.runtime.processes import run_processes


def _asynch(folder: Path, seed: int = 0, max_steps: int = 300):
    lines: list[str] = []
    result = run_processes(
        folder, RuntimeConfig(seed=seed, max_steps=max_steps, quiet=True), write=lines.append
    )
    return result, lines


def _add_agent(folder: Path, script: str, name: str, hook: str = "None") -> None:
    (folder / script).write_text(
        "import os\n"
        "from unaiverse.agent import Agent\n"
        "from unaiverse.clock import clock\n"
        "from unaiverse.networking.node.node import Node\n"
        "agent = Agent(proc=None)\n"
        f"node = Node(agent, node_name={name!r}, hidden=True, send_stats_every=1.0, run_hook={hook})\n"
        'node.run(join_world="TinyWorld")\n'
    )


@pytest.fixture(scope="module")
def asynch_pair(tmp_path_factory):
    """Two lockstep runs of the tiny world with seed 0, in fresh copies."""
    import shutil

    tiny = Path(__file__).parent / "worlds" / "tiny"
    runs = []
    for i in range(2):
        folder = tmp_path_factory.mktemp(f"asynch{i}") / "tiny"
        shutil.copytree(
            tiny, folder, ignore=shutil.ignore_patterns("out", "pdf", "*.json", "__pycache__", "stats")
        )
        runs.append((folder, *_asynch(folder)))
    return runs


def test_asynch_has_the_outcome_of_synch(asynch_pair, tiny_run):
    _, synch = tiny_run
    _, result, _ = asynch_pair[0]
    assert result.exit_code == 0, result.error
    assert result.ended_by == "world"
    assert result.nodes == synch.nodes == ["Asker", "Alice", "Bob", "TinyWorld"]
    assert result.summary == synch.summary
    assert "Asker: completed 1.00 asked Bob" in result.summary
    for name in ("Asker", "Alice", "Bob"):
        assert any(
            line.endswith(f"{name}: Handshake completed, world joined!") for line in result.transitions
        )
    # the live rule holds in every process: Alice refuses the world's request (as in synch)
    assert not any("greeted by" in line for line in result.transitions + synch.transitions)
    assert result.messages >= synch.messages - 1  # counted in the sending processes
    assert (
        abs(result.steps - synch.steps) <= 1
    )  # the asker sees the answerers that joined at tick 0 a tick apart


def test_two_lockstep_runs_with_one_seed_are_identical(asynch_pair, db_rows):
    (_, first, _), (_, second, _) = asynch_pair
    assert second.exit_code == 0
    assert second.transitions == first.transitions
    assert second.steps == first.steps and second.messages == first.messages
    assert db_rows(second.stats_db) == db_rows(first.stats_db)


def test_a_failing_child_ends_the_run_naming_its_script_file_and_line(tiny):
    path = tiny / "src" / "answerer.py"
    text = path.read_text()
    line = text[: text.index('log.user(f"answered {requester}")')].count("\n") + 1
    path.write_text(text.replace('log.user(f"answered {requester}")', 'raise ValueError("boom in answer")'))
    result, _ = _asynch(tiny)
    assert result.exit_code == 1 and result.ended_by == "error"
    assert "run_3.py" in result.error and f"answerer.py:{line}" in result.error
    assert "boom in answer" in result.error


def test_a_child_that_dies_with_a_nonzero_code_fails_the_run(tiny):
    _add_agent(
        tiny, "run_4.py", "Carol", "lambda node: os._exit(3) if clock.get_time(passed=True) >= 0.5 else None"
    )
    result, _ = _asynch(tiny)
    assert result.exit_code == 1
    assert "run_4.py" in result.error and "code 3" in result.error


def test_a_remote_that_disconnects_is_purged_and_the_world_goes_on(tiny):
    _add_agent(
        tiny, "run_4.py", "Carol", "lambda node: os._exit(0) if clock.get_time(passed=True) >= 0.5 else None"
    )
    lines: list[str] = []
    result = run_processes(tiny, RuntimeConfig(max_steps=300), write=lines.append)
    assert result.exit_code == 0, result.error
    assert result.ended_by == "world"
    assert "Asker: completed 1.00 asked Bob" in result.summary
    assert any("hub: remote run_4.py (Carol)" in line and "purged" in line for line in lines)
    gone = [line for line in lines if "purged" in line][0]
    assert float(gone.split("t=")[1].split("s]")[0]) >= 0.5


def test_joining_an_unknown_world_fails_clearly(tiny):
    path = tiny / "run_2.py"
    path.write_text(path.read_text().replace('join_world="TinyWorld"', 'join_world="NoSuchWorld"'))
    result, _ = _asynch(tiny, max_steps=20)
    assert result.exit_code == 1
    assert "NoSuchWorld" in result.error and "TinyWorld" in result.error and "run_2.py" in result.error
    assert result.steps == 0


def test_a_taken_node_name_is_refused(tiny):
    _add_agent(tiny, "run_4.py", "Bob")
    result, _ = _asynch(tiny, max_steps=20)
    assert result.exit_code == 1
    assert "'Bob'" in result.error and "taken" in result.error and "run_" in result.error


def test_not_a_world_folder(tmp_path):
    result = run_processes(tmp_path, RuntimeConfig(quiet=True))
    assert result.exit_code == 2 and "run_w.py" in result.error
    with pytest.raises(ValueError, match="start method"):
        run_processes(tmp_path, RuntimeConfig(quiet=True), start_method="thread")


def test_an_agent_joins_a_served_world_from_another_process(tiny):
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    hub = subprocess.Popen(
        [sys.executable, str(root / "run_w.py"), str(tiny), "--host", "127.0.0.1", "--port", "0"]
        + ["--tick-ms", "50", "--max-steps", "4000", "--no-announce"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        found = token = None
        head = []
        for _ in range(200):  # the first lines may be the framework's; the address lines come before ticking
            line = hub.stdout.readline()
            head.append(line)
            token = token or re.search(r"--token (\S+) ", line)
            found = re.search(r"--world (\S+@127\.0\.0\.1:\d+/\w+)", line)
            if found or not line:
                break
        assert found is not None and token is not None, "run_w.py printed no address or token"
        scripts = [str(tiny / f"run_{i}.py") for i in (1, 2, 3)]
        joiner = subprocess.run(
            [sys.executable, "-m", "wmverse.cli", "runtime", "join", "--world", found.group(1)]
            + ["--token", token.group(1), "--identity", str(tiny / "joiner-key"), *scripts],
            capture_output=True,
            text=True,
            timeout=240,
        )
        out, _ = hub.communicate(timeout=240)
        out = "".join(head) + out
    finally:
        hub.kill()
        hub.wait()
    assert joiner.returncode == 0, joiner.stdout[-2000:] + joiner.stderr[-2000:]
    assert "Bob: answered Asker" in joiner.stdout  # the joiner prints its own lines
    assert hub.returncode == 0, out[-3000:]
    assert "(realtime, tick 50 ms)" in out
    assert "run_1.py+run_2.py+run_3.py (Asker, Alice, Bob)" in out and "joined the run" in out
    assert "run ended by world" in out and "Asker: completed 1.00 asked Bob" in out


def test_a_remote_that_misses_the_tick_deadline_is_dropped_and_the_world_goes_on(tiny):
    hook = "lambda node: __import__('time').sleep(6) if 0.5 <= clock.get_time(passed=True) < 0.55 else None"
    _add_agent(tiny, "run_4.py", "Carol", hook)
    lines: list[str] = []
    result = run_processes(tiny, RuntimeConfig(max_steps=300), tick_timeout_s=2.0, write=lines.append)
    assert result.ended_by == "world" and "Asker: completed 1.00 asked Bob" in result.summary
    assert any("(Carol)" in line and "did not answer tick" in line and "2 s" in line for line in lines)
    assert result.exit_code == 1 and "run_4.py" in result.error  # the dropped child ends with an error


def test_a_script_that_starts_no_node_joins_as_an_empty_process(tiny):
    """As the training world's learner scripts do with WMVERSE_LEARNERS=none: the run is unaffected."""
    (tiny / "run_4.py").write_text("# this agent is switched off: it starts no node\n")
    result = run_processes(tiny, RuntimeConfig(max_steps=300, quiet=True))
    assert result.exit_code == 0, result.error
    assert result.ended_by == "world" and "Asker: completed 1.00 asked Bob" in result.summary
