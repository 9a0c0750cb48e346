"""Stats rows independent of the process's string hashing (``wmverse.runtime.stable_order``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from unaiverse.stats import Stats, UIPlot
from unaiverse.world import World

from wmverse.runtime import fast_stats
from wmverse.runtime.stable_order import make_json_serializable, order_key, sorted_set, stable_order

REPO = Path(__file__).resolve().parents[2]


def _run(folder: Path, out: Path, hash_seed: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMVERSE_")}
    env["PYTHONHASHSEED"] = hash_seed
    cmd = [sys.executable, str(REPO / "run_synch.py"), str(folder), "--seed", "0", "--max-steps", "120"]
    cmd += ["--out", str(out), "--quiet", "--db", str(out / "runs.db")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_two_processes_with_different_string_hashing_write_the_same_rows(tmp_path, fresh_tiny, db_rows):
    folder = fresh_tiny(tmp_path / "world")
    runs = {seed: _run(folder, tmp_path / f"h{seed}", seed) for seed in ("1", "2")}
    assert all(r.returncode == 0 for r in runs.values()), [r.stderr[-2000:] for r in runs.values()]
    rows = db_rows(tmp_path / "h1" / "world_stats.db")
    assert rows == db_rows(tmp_path / "h2" / "world_stats.db")
    graph = json.loads(next(r for r in rows["static_stats"] if r[1] == "graph")[2])
    edges = [peers for peers in graph["edges"].values() if len(peers) > 1]
    assert edges and all(peers == sorted(peers) for peers in edges)  # orders that hashing used to pick
    assert list(graph["nodes"]) != []
    dashboard = (tmp_path / "h1" / "dashboard.html").read_bytes()
    assert b"scatter" in dashboard and dashboard == (tmp_path / "h2" / "dashboard.html").read_bytes()


def test_sets_are_sorted_inside_the_block_and_unaiverse_is_put_back():
    original, update = Stats._make_json_serializable, World._update_graph
    stats = Stats(is_world=False)
    value = {"peers": {"c", "a", "b"}, "mixed": [{2, 1}, ("x", {"z", "y"})]}
    with stable_order():
        assert Stats._make_json_serializable is make_json_serializable
        assert World._update_graph is not update
        assert stats._make_json_serializable(value) == {
            "peers": ["a", "b", "c"],
            "mixed": [[1, 2], ["x", ["y", "z"]]],
        }
        # the fast path writes the same text as the run's conversion, sets included
        for v in (value, {"s": {("u", 2), ("t", 1)}}, set(), {3, "3", 2.5}):
            assert fast_stats.encode_json(stats, v) == json.dumps(stats._make_json_serializable(v))
    assert Stats._make_json_serializable is original and World._update_graph is update


def test_a_subclass_keeps_its_own_conversion():
    class Own(Stats):
        def _make_json_serializable(self, value):
            return "own"

    with stable_order():
        assert Own(is_world=False)._make_json_serializable({"a"}) == "own"


def test_order_key_orders_mixed_types_the_same_way_every_time():
    values = [3, "3", 2.5, ("a", 1), None, "a"]
    assert sorted(values, key=order_key) == sorted(reversed(values), key=order_key)


def test_the_dashboard_graph_has_unaiverses_traces_in_sorted_order():
    view = {
        "world": {
            "graph": {
                "nodes": {"w": {"Name": "World"}, "b": {"Name": "Bob"}, "a": {"Name": "Ann"}},
                "edges": {"w": {"a", "b", "z"}, "a": {"w"}, "b": {"w"}},
            }
        }
    }
    stats = Stats(is_world=True)
    theirs = UIPlot(title="graph")
    stats._populate_graph(theirs, view, "graph")  # unaiverse's: peers in set order
    with stable_order():
        ours = UIPlot(title="graph")
        stats._populate_graph(ours, view, "graph")
    edges, nodes = ours.data
    assert nodes["text"] == ["a", "b", "w", "z"]  # every peer, in order_key order, edges' ends included
    assert nodes["hovertext"][0] == "Name: Ann<br>" and nodes["hovertext"][3] == ""

    def by_label(trace):
        return sorted(zip(trace["text"], trace["hovertext"], trace["marker"]["color"], strict=True))

    assert by_label(nodes) == by_label(theirs.data[1])  # the same nodes, labels, hover texts and colours
    assert {k: v for k, v in nodes.items() if k not in ("x", "y", "text", "hovertext", "marker")} == {
        k: v for k, v in theirs.data[1].items() if k not in ("x", "y", "text", "hovertext", "marker")
    }

    def points(trace):
        return sorted(zip(trace["x"], trace["y"], strict=True))

    assert points(nodes) == points(theirs.data[1])  # the same places on the circle
    assert len(edges["x"]) == len(theirs.data[0]["x"]) == 3 * 5  # five drawn edges (a-w, b-w, w-a, w-b, w-z)
    assert edges["line"] == theirs.data[0]["line"]


def test_sorted_set_sorts_strings_by_value_and_anything_else_by_order_key():
    assert sorted_set({"b'", 'a"', "c"}) == ['a"', "b'", "c"]  # by value (repr would quote them differently)
    mixed = {3, "3", 2.5, ("a", 1)}
    assert sorted_set(mixed) == sorted(mixed, key=order_key) == [2.5, 3, "3", ("a", 1)]
