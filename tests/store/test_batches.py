"""The batch writers the runtime's recorder uses (nodes, badges, message counts, JSON text points), on
SQLite and PostgreSQL, and ``wmverse runs export --html``."""

from __future__ import annotations

import re

import pytest

from wmverse.cli import main
from wmverse.store import JSONText, Point, RunStore, StoreError


def test_add_nodes_inserts_then_updates(store):
    run_id = store.begin_run("w", 0, {})
    assert (
        store.add_nodes(run_id, [("world", "world", "pw"), ("alice", None, "pa"), ("bob", None, None)]) == 3
    )
    store.add_nodes(run_id, [("alice", "asker", "pa"), ("carol", "answerer", "pc"), ("bob", None, "pb")])
    nodes = store.nodes(run_id).fillna("-")
    rows = sorted(zip(nodes["name"], nodes["role"], nodes["peer_id"], strict=True))
    assert rows == [
        ("alice", "asker", "pa"),
        ("bob", "-", "pb"),
        ("carol", "answerer", "pc"),
        ("world", "world", "pw"),
    ]
    assert store.add_nodes(run_id, []) == 0
    other = store.begin_run("w", 1, {})
    store.add_nodes(other, [("alice", "answerer", "px")])  # names are per run
    assert store.nodes(run_id).set_index("name").loc["alice", "role"] == "asker"


def test_add_badges_and_message_counts(store):
    run_id = store.begin_run("w", 0, {})
    assert store.add_badges(run_id, [("alice", "completed", 1.0, "asked Bob", 1.7e9, 5.0)]) == 1
    store.add_badges(run_id, [("bob", "streak", None, None, None, None)])
    badges = store.badges(run_id)
    assert badges["agent"].tolist() == ["alice", "bob"]
    assert badges.loc[0, "score"] == 1.0 and badges.loc[0, "reason"] == "asked Bob"
    assert badges.loc[0, "wall_time"] == 5.0 and badges.loc[1, "wall_time"] > 1e9
    assert store.add_message_counts(run_id, [(1, 1.7e9, 4, 10.0), (3, 1.7e9 + 0.2, 2, None)]) == 2
    counts = store.message_counts(run_id)
    assert counts["tick"].tolist() == [1, 3] and counts["count"].tolist() == [4, 2]
    assert store.counts(run_id)["message_counts"] == 2


def test_json_text_points_are_stored_as_they_are(store):
    run_id = store.begin_run("w", 0, {})
    store.add_points(
        run_id,
        [
            Point("world", "graph", JSONText('{"nodes": {"a": {}}, "edges": {"a": ["b"]}}'), step=1),
            Point("alice", "state", JSONText('"idle"'), step=1),
            Point("alice", "plain", "idle", step=1),  # a plain string is encoded
        ],
    )
    points = store.points(run_id)
    assert points["value_json"].tolist() == [
        '{"nodes": {"a": {}}, "edges": {"a": ["b"]}}',
        '"idle"',
        '"idle"',
    ]
    assert points["value"].isna().all()
    with pytest.raises(StoreError, match="JSON text"):
        store.add_points(run_id, [Point("a", "s", JSONText("1"), detail={"x": 1})])


def test_export_html_draws_one_panel_per_numeric_stat(db_url, tmp_path, capsys):
    with RunStore.open(db_url) as store:
        run_id = store.begin_run("training", 3, {})
        store.add_points(
            run_id,
            [Point(agent, "allocation", 0.1 * s, step=s) for agent in ("a", "b") for s in (1, 2, 3)]
            + [Point("world", "epoch", s, step=s) for s in (1, 2)]
            + [Point("a", "state", "idle", step=1)],
        )
        store.add_message_counts(run_id, [(1, None, 3, None)])
        store.finish_run(run_id)
    out = tmp_path / "page.html"
    assert main(["runs", "export", str(run_id), "--html", "--db", db_url, "-o", str(out)]) == 0
    assert f"to {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "<script src=" not in page and "plotly.js v2.35" in page  # self-contained
    assert 'data-panels="3"' in page  # allocation, epoch, messages
    assert "(not drawn: state)" in page
    figure = re.search(r"var DASH = (\{.*?\});\n", page, re.S).group(1)
    assert figure.count('"name": "a"') == 1 and figure.count('"name": "b"') == 1  # one trace per agent
    code = main(["runs", "export", "999", "--html", "--db", db_url, "-o", str(out)])
    assert code == 2 and "no run 999" in capsys.readouterr().err
