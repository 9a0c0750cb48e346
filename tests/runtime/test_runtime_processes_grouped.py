"""run_asynch.py --processes K: the agent scripts in fewer processes, the same run as one process each."""

from pathlib import Path

import pytest

from wmverse.runtime import RuntimeConfig
from wmverse.runtime.hub_checks import MAX_NODES_PER_PROCESS, Refused, check_registration_shape
from wmverse.runtime.processes import group_scripts, run_processes


def _run(folder: Path, processes: int):
    lines: list[str] = []
    config = RuntimeConfig(seed=0, max_steps=300)
    return run_processes(folder, config, write=lines.append, processes=processes), lines


@pytest.fixture(scope="module")
def one_each(tiny_module):
    """The tiny world with its three agent scripts in a process each (run_asynch's default)."""
    return _run(tiny_module, 0)[0]


@pytest.mark.parametrize(
    ("processes", "joined"),
    [(1, "run_1.py+run_2.py+run_3.py (Asker, Alice, Bob)"), (2, "run_1.py+run_2.py (Asker, Alice)")],
)
def test_grouped_agents_run_the_same_run_as_one_process_each(
    one_each, processes, joined, fresh_tiny, tmp_path, db_rows
):
    result, lines = _run(fresh_tiny(tmp_path), processes)
    assert result.exit_code == 0, result.error
    assert any(joined in line and "joined" in line for line in lines), lines[:20]
    assert result.nodes == one_each.nodes == ["Asker", "Alice", "Bob", "TinyWorld"]
    assert result.transitions == one_each.transitions
    assert (result.steps, result.messages, result.summary) == (
        one_each.steps,
        one_each.messages,
        one_each.summary,
    )
    assert db_rows(result.stats_db) == db_rows(one_each.stats_db)


def test_a_failing_script_in_a_group_names_the_group_and_the_script(fresh_tiny, tmp_path):
    tiny = fresh_tiny(tmp_path)
    path = tiny / "src" / "answerer.py"
    path.write_text(path.read_text().replace('log.user(f"answered {requester}")', 'raise ValueError("boom")'))
    result, _ = _run(tiny, 1)
    assert result.exit_code == 1 and result.ended_by == "error"
    assert "run_3.py" in result.error and "boom" in result.error


def test_scripts_are_grouped_in_contiguous_even_runs_of_script_order():
    scripts = [Path(f"run_{i}.py") for i in range(1, 8)]
    groups = group_scripts(scripts, 3)
    assert [len(g) for g in groups] == [3, 2, 2]
    assert [s for g in groups for s in g] == scripts  # nothing lost, nothing reordered
    assert group_scripts(scripts, 0) == [(s,) for s in scripts]  # the default: one process each
    assert group_scripts(scripts, 7) == group_scripts(scripts, 50) == [(s,) for s in scripts]
    assert group_scripts(scripts, 1) == [tuple(scripts)]


def test_a_bad_process_count_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(ValueError, match="processes must be an integer >= 0"):
        run_processes(tmp_path, RuntimeConfig(quiet=True), processes=-1)


def test_the_command_line_refuses_a_negative_process_count(capsys):
    from wmverse.runtime.cli import asynch_main

    with pytest.raises(SystemExit) as exited:
        asynch_main(["somewhere", "--processes", "-2"])
    assert exited.value.code == 2
    assert "--processes" in capsys.readouterr().err


def _entry(i: int) -> dict:
    return {"name": f"N{i}", "node_id": f"id{i}", "pub": f"pub{i}", "prv": f"prv{i}", "type": "agent"}


def test_a_registration_may_bring_many_nodes_but_not_without_bound():
    nodes, joins = check_registration_shape({"type": "register", "nodes": [_entry(i) for i in range(300)]})
    assert len(nodes) == 300 and joins == []
    too_many = [_entry(i) for i in range(MAX_NODES_PER_PROCESS + 1)]
    with pytest.raises(Refused, match=f"at most {MAX_NODES_PER_PROCESS}"):
        check_registration_shape({"type": "register", "nodes": too_many})


def test_run_asynch_takes_the_process_count_from_its_command_line(fresh_tiny, tmp_path, capsys):
    from wmverse.runtime.cli import asynch_main

    tiny = fresh_tiny(tmp_path)
    assert asynch_main([str(tiny), "--processes", "1", "--out", str(tmp_path / "out"), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "run_1.py+run_2.py+run_3.py (Asker, Alice, Bob)" in out and "joined the run (rank 1)" in out
    assert "Asker: completed 1.00 asked Bob" in out
