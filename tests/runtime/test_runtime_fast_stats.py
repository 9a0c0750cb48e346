"""The runtime's fast stats path writes the same stats database as unaiverse's own path.

``wmverse.runtime.fast_stats`` replaces the world's per-value JSON walk by typed encoding and serialises
static containers once per batch of stats updates: every table of the SQLite file must keep the same rows.
Checked on the tiny world, on the benchmark world (a hub and workers that send stats every simulated
second, one of them purged mid-run so the graph is pruned) with unaiverse's ``Stats`` and with a
``_make_json_serializable`` override, and value by value for the JSON encoding.
"""

import enum
import importlib.util
import json
import math
from collections import OrderedDict
from pathlib import Path

import pytest
from unaiverse.stats import Stats

from wmverse.runtime import RuntimeConfig, fast_stats, run_world

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "runtime.py"


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("_wmv_runtime_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The benchmark world's run_w.py, with a hook that drops one worker at t = 3.05 s (the graph then shrinks).
RUN_W_WITH_DEPARTURE = """from src.world import WWorld
from unaiverse.clock import clock
from unaiverse.networking.node.node import Node

dropped = []


def drop_one_worker(node):
    if not dropped and clock.get_time(passed=True) >= 3.05:
        for peer, profile in node.hosted.all_agents.items():
            if profile.get_static_profile()["node_name"] == "Worker0002":
                node.lost_peers.append(peer)
                dropped.append(peer)


node = Node(WWorld(), node_name="BenchWorld", hidden=True, run_hook=drop_one_worker)
node.run()
"""

#: A Stats whose JSON conversion differs from unaiverse's (sorted sets, as the training world's).
SORTED_STATS_PY = """
from unaiverse.stats import Stats


class WStats(Stats):
    CUSTOM_WORLD_STATS_STATIC_SCHEMA = {"extra": (dict, {})}

    def _make_json_serializable(self, value):
        if isinstance(value, (set, frozenset)):
            return sorted((self._make_json_serializable(v) for v in value), key=repr)
        return super()._make_json_serializable(value)
"""


def dropped_peer(graph: dict) -> str:
    return next(peer for peer in graph["nodes"] if "Worker0002" in peer)


def _run(folder: Path, fast: bool, monkeypatch, steps: int = 300):
    monkeypatch.setattr(fast_stats, "ENABLED", fast)
    result = run_world(folder, RuntimeConfig(seed=0, max_steps=steps, quiet=True, out_dir=folder / "out"))
    assert result.exit_code == 0, result.error
    return result


def test_tiny_world_same_rows_as_unaiverse_path(tmp_path, fresh_tiny, db_rows, monkeypatch):
    slow = _run(fresh_tiny(tmp_path / "slow"), False, monkeypatch)
    fast = _run(fresh_tiny(tmp_path / "fast"), True, monkeypatch)
    assert fast.transitions == slow.transitions
    rows = db_rows(fast.stats_db)
    assert rows == db_rows(slow.stats_db)
    assert rows["static_stats"] and rows["dynamic_stats"]


@pytest.mark.parametrize("stats_py", [None, SORTED_STATS_PY], ids=["unaiverse_stats", "sorted_sets"])
def test_benchmark_world_same_rows_as_unaiverse_path(tmp_path, db_rows, monkeypatch, stats_py):
    bench = _benchmark_module()
    runs = {}
    for fast in (False, True):
        folder = bench.make_world(tmp_path / f"w{int(fast)}", 6)
        (folder / "run_w.py").write_text(RUN_W_WITH_DEPARTURE)
        # The hub steps last: its update re-adds the dropped worker to the graph (it is still connected to
        # it) and the prune that follows removes it again, at the end of each stats batch
        (folder / "run_0000.py").rename(folder / "run_9999.py")
        if stats_py is not None:
            (folder / "src" / "stats.py").write_text(stats_py)
        runs[fast] = _run(folder, fast, monkeypatch, steps=80)
    assert runs[True].transitions == runs[False].transitions
    rows = db_rows(runs[True].stats_db)
    assert rows == db_rows(runs[False].stats_db)
    graph = json.loads(next(r for r in rows["static_stats"] if r[1] == "graph")[2])
    assert graph["nodes"][dropped_peer(graph)] == {}  # re-added by the hub, pruned after the store
    assert sum(1 for r in rows["dynamic_stats"] if r[2] == "world_agents") > 5


def test_the_fast_path_is_installed_and_batches(tmp_path, monkeypatch):
    """The benchmark world gets the fast path with batching; Stats overriding _store_static does not."""
    bench = _benchmark_module()
    seen = {}
    real_install = fast_stats.install

    def spy(world):
        seen["fast"] = real_install(world)
        return seen["fast"]

    monkeypatch.setattr(fast_stats, "install", spy)
    _run(bench.make_world(tmp_path / "a", 2), True, monkeypatch, steps=20)
    assert isinstance(seen["fast"], fast_stats.FastStats) and seen["fast"].can_batch

    folder = bench.make_world(tmp_path / "b", 2)
    (folder / "src" / "stats.py").write_text(
        "from unaiverse.stats import Stats\n\n\nclass WStats(Stats):\n"
        "    def _store_static(self, *args):\n        super()._store_static(*args)\n"
    )
    _run(folder, True, monkeypatch, steps=20)
    assert seen["fast"] is None


class _Color(enum.IntEnum):
    RED = 1


class _Opaque:
    pass


VALUES = [
    0,
    -17,
    2**70,
    1.5,
    -0.0,
    1e-300,
    float("nan"),
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "",
    "plain",
    'quote " backslash \\ newline \n tab \t',
    "unicode é ✓ \U0001f600 \x00",
    _Color.RED,
    [1, "a", None, [2.5, {"k": {"x", "y"}}]],
    (1, (2, 3)),
    {"nodes": {"p1": {"Name": "A", "last_seen": 12}}, "edges": {"p1": {"p2", "p3"}, "p2": set()}},
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    OrderedDict([("b", 1), ("a", 2)]),
    {"s": {("t", 1), ("u", 2)}},
    set(),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_encode_json_matches_unaiverse(value):
    stats = Stats(is_world=False)
    assert fast_stats.encode_json(stats, value) == json.dumps(stats._make_json_serializable(value))


@pytest.mark.parametrize("value", [{"a": frozenset({1})}, [_Opaque()], {("t",): 1}])
def test_encode_json_fails_where_unaiverse_fails(value):
    stats = Stats(is_world=False)
    with pytest.raises(TypeError) as expected:
        json.dumps(stats._make_json_serializable(value))
    with pytest.raises(TypeError) as got:
        fast_stats.encode_json(stats, value)
    assert str(got.value) == str(expected.value)


def test_encode_json_uses_the_class_conversion():
    class Sorted(Stats):
        def _make_json_serializable(self, value):
            if isinstance(value, set | frozenset):
                return sorted((self._make_json_serializable(v) for v in value), key=repr)
            return super()._make_json_serializable(value)

    stats = Sorted(is_world=False)
    value = {"e": {"c", "a", "b"}, "f": frozenset({3, 1}), "n": 1.25}
    assert fast_stats.encode_json(stats, value) == json.dumps(stats._make_json_serializable(value))
    assert fast_stats.encode_json(stats, value) == '{"e": ["a", "b", "c"], "f": [1, 3], "n": 1.25}'
