"""The collector's pace during a run: raised, put back, set by WMVERSE_GC_THRESHOLD, and without effect on
what a run computes."""

import gc

import pytest

from wmverse.runtime import RuntimeConfig, run_world
from wmverse.runtime.collector import (
    DEFAULT_THRESHOLD,
    GC_VAR,
    freeze_loaded,
    tuned_collector,
    young_threshold,
)


def test_the_threshold_is_raised_in_the_block_and_put_back_after():
    before = gc.get_threshold()
    with tuned_collector(12_345) as inside:
        assert inside == 12_345
        assert gc.get_threshold() == (12_345, *before[1:])
    assert gc.get_threshold() == before
    with tuned_collector(0) as inside:  # 0: the interpreter's own
        assert gc.get_threshold() == before and inside == before[0]
    with pytest.raises(RuntimeError), tuned_collector(5_000):
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before


def _is_frozen(obj) -> bool:
    """Whether a tracked object sits in the permanent generation: ``gc.get_objects`` lists every tracked
    object but the frozen ones. Asked of one object rather than of the frozen count, which drops whenever
    a frozen object is freed (as other tests' leftovers may be, at any moment)."""
    assert gc.is_tracked(obj)
    return not any(o is obj for o in gc.get_objects())


def test_what_is_loaded_is_frozen_only_inside_a_tuned_block_and_thawed_after():
    assert gc.get_freeze_count() == 0
    alive = []  # alive before every block
    assert freeze_loaded() is False and not _is_frozen(alive)  # outside: nothing frozen
    with tuned_collector(0):
        assert (
            freeze_loaded() is False and gc.get_freeze_count() == 0
        )  # the interpreter's collector: left alone
    with tuned_collector(5_000):
        assert _is_frozen(alive)  # what was alive on entry
        kept = []  # alive when the loaded world is frozen
        assert not _is_frozen(kept)
        assert freeze_loaded() is True and _is_frozen(kept)
    assert gc.get_freeze_count() == 0 and not _is_frozen(alive) and not _is_frozen(kept)


def test_objects_frozen_by_someone_else_stay_frozen_and_nothing_more_is():
    theirs = []
    gc.freeze()  # the caller's own freeze
    try:
        with tuned_collector(5_000) as inside:
            assert inside == 5_000  # the threshold is still raised
            ours = []
            assert freeze_loaded() is False
            assert _is_frozen(theirs) and not _is_frozen(ours)
        assert _is_frozen(theirs) and gc.get_freeze_count() > 0  # not unfrozen by the block
    finally:
        gc.unfreeze()


def test_the_environment_sets_it_and_a_bad_value_is_refused():
    assert young_threshold({}) == DEFAULT_THRESHOLD
    assert young_threshold({GC_VAR: " 2500 "}) == 2500
    assert young_threshold({GC_VAR: "0"}) == 0
    for bad in ("-1", "lots", "1e4", "99999999999999999999"):
        with pytest.raises(ValueError, match=f"{GC_VAR} must be an integer in"):
            young_threshold({GC_VAR: bad})


def test_run_synch_refuses_a_bad_setting_before_running(monkeypatch, capsys, tmp_path):
    from wmverse.runtime.cli import main

    monkeypatch.setenv(GC_VAR, "often")
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert f"{GC_VAR} must be an integer in" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _run(folder, seen):
    hook = folder / "run_4.py"
    hook.write_text(
        "import gc\n"
        "from unaiverse.agent import Agent\n"
        "from unaiverse.networking.node.node import Node\n"
        f"seen = {str(seen)!r}\n"
        "node = Node(Agent(proc=None), node_name='Carol', hidden=True,\n"
        "            run_hook=lambda node: open(seen, 'a').write(f'{gc.get_threshold()[0]} {gc.get_freeze_count() > 0}\\n'))\n"
        "node.run(join_world='TinyWorld')\n"
    )
    return run_world(folder, RuntimeConfig(seed=0, max_steps=300, quiet=True))


def test_a_run_collects_at_the_tuned_pace_and_computes_the_same(monkeypatch, fresh_tiny, tmp_path, db_rows):
    before = gc.get_threshold()
    tuned = _run(fresh_tiny(tmp_path / "tuned"), tmp_path / "tuned.txt")
    monkeypatch.setenv(GC_VAR, "0")
    plain = _run(fresh_tiny(tmp_path / "plain"), tmp_path / "plain.txt")
    assert tuned.exit_code == plain.exit_code == 0, (tuned.error, plain.error)
    assert set((tmp_path / "tuned.txt").read_text().splitlines()) == {f"{DEFAULT_THRESHOLD} True"}
    assert set((tmp_path / "plain.txt").read_text().splitlines()) == {f"{before[0]} False"}
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert tuned.transitions == plain.transitions and tuned.summary == plain.summary
    assert db_rows(tuned.stats_db) == db_rows(plain.stats_db)
