"""Stats rows that do not depend on the process's string hashing: sets are written in one order in every run.

CPython salts the hash of ``str`` per process (``PYTHONHASHSEED``), so a set of peer ids iterates in a
different order in each process. unaiverse 0.1.31 writes that order into the world's stats rows in two places:
``Stats._make_json_serializable`` turns a set into ``list(set)``, and ``World._update_graph`` adds a peer's
connections to the graph's ``nodes`` in set order; and its dashboard places the graph's peers on a circle in
set order (``Stats._populate_graph``). So two ``run_synch.py`` processes with the same seed wrote ``graph``
rows that differed in their order, and dashboards whose graphs differed (found by comparing two runs' files;
runs compared inside one process share the salt and agreed).

:func:`stable_order`, entered by every run (``wmverse.runtime.runner.run_context``), replaces the three for
the run's duration: a set is written as a sorted list (:func:`sorted_set`), a peer's connections are added to
the graph in that order too, and the dashboard places the peers in that order. The stored values are the same
sets, dicts and lists as before, and the graph the same traces; only their order is fixed. A ``Stats`` or ``World`` subclass that defines its own method keeps it. The originals are put back
on exit; a class attribute that is not unaiverse's own when the block starts (another patch) is left alone.
``wmverse.runtime.fast_stats`` writes sets in the same order.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from typing import Any

from unaiverse import stats as _stats_module
from unaiverse.stats import Stats
from unaiverse.world import World

__all__ = ["make_json_serializable", "order_key", "sorted_set", "stable_order"]

# The originals, as unaiverse 0.1.31 defines them (taken at import, before any patch).
_MAKE_JSON_SERIALIZABLE = Stats.__dict__["_make_json_serializable"]
_UPDATE_GRAPH = World.__dict__["_update_graph"]
_POPULATE_GRAPH = Stats.__dict__["_populate_graph"]


def order_key(value: Any) -> tuple[str, str]:
    """A total order over any hashable values, the same in every process: type name, then ``repr``."""
    return type(value).__qualname__, repr(value)


def sorted_set(values: Iterable[Any]) -> list[Any]:
    """A set's elements as a sorted list: strings (peer ids, the usual case) by value, anything else by
    :func:`order_key` (ten times slower: a ``repr`` per element)."""
    items = list(values)
    if all(type(v) is str for v in items):
        return sorted(items)
    return sorted(items, key=order_key)


def make_json_serializable(self: Stats, value: Any) -> Any:
    """``Stats._make_json_serializable`` with sets written in :func:`sorted_set` order."""
    if isinstance(value, set):
        return sorted_set(value)
    if isinstance(value, dict):
        return {k: self._make_json_serializable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [self._make_json_serializable(item) for item in value]
    return value


def _update_graph(self: World, peer_id: str, connected_peers_list: list[str], timestamp: int) -> None:
    """``World._update_graph``, visiting ``peer_id``'s connections in :func:`sorted_set` order."""
    assert self.stats is not None
    graph_stat = self.stats.get_stats().setdefault("graph", {"nodes": {}, "edges": {}})
    nodes = graph_stat.setdefault("nodes", {})
    edges = graph_stat.setdefault("edges", {})
    node_data = self._extract_graph_node_info(peer_id)
    node_data["last_seen"] = timestamp
    nodes[peer_id] = node_data
    connected = set(connected_peers_list)
    in_order = sorted_set(connected)
    for target_id in in_order:  # peers seen here first, with what is known of them
        if target_id not in nodes:
            nodes[target_id] = self._extract_graph_node_info(target_id)
    before = edges.setdefault(peer_id, set())
    for other in in_order:  # both directions
        edges.setdefault(other, set()).add(peer_id)
    for other in before - connected:  # connections dropped since the last update
        if other in edges:
            edges[other].discard(peer_id)
    edges[peer_id] = connected
    self.stats.store_stat("graph", graph_stat, group_key=self.get_peer_ids()[1], timestamp=timestamp)


def _populate_graph(self: Stats, panel: Any, view: dict[str, Any], stat_name: str) -> None:
    """``Stats._populate_graph`` (the dashboard's circular world graph) with the peers placed in
    :func:`sorted_set` order: the same traces in every process (unaiverse places them in set order)."""
    raw = view.get("world", {}).get(stat_name, {})
    if not raw:
        return
    if "edges" in raw and "nodes" in raw:
        edges, nodes = raw["edges"] or {}, raw["nodes"] or {}
    else:  # a graph of edges only
        edges, nodes = raw or {}, {}
    pids = sorted_set(set(edges.keys()).union(*edges.values()) | set(nodes.keys()))
    step = 2 * math.pi / max(1, len(pids))
    pos = {pid: (10 * math.cos(i * step), 10 * math.sin(i * step)) for i, pid in enumerate(pids)}
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for source, targets in edges.items():
        if source not in pos:
            continue
        ordered = (
            sorted_set(targets) if isinstance(targets, set) else targets if isinstance(targets, list) else []
        )
        for target in ordered:
            if target in pos:
                edge_x += [pos[source][0], pos[target][0], None]
                edge_y += [pos[source][1], pos[target][1], None]
    theme = _stats_module.THEME
    panel.add_trace(
        {
            "type": "scatter",
            "mode": "lines",
            "x": edge_x,
            "y": edge_y,
            "line": {"width": 0.5, "color": theme["edge"]},
            "hoverinfo": "none",
            "showlegend": False,
        }
    )
    hover = [
        "".join(f"{k}: {v}<br>" for k, v in nodes.get(pid, {}).items()) if nodes else f"Peer ID: {pid}"
        for pid in pids
    ]
    panel.add_trace(
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [pos[pid][0] for pid in pids],
            "y": [pos[pid][1] for pid in pids],
            "text": [pid[-6:] for pid in pids],
            "hovertext": hover,
            "hoverinfo": "text",
            "textposition": "top center",
            "showlegend": False,
            "marker": {
                "color": [self._get_consistent_color(pid) for pid in pids],
                "size": 12,
                "line": {"width": 2, "color": theme["edge"]},
            },
        }
    )


#: (class, attribute, original, replacement)
_PATCHES = (
    (Stats, "_make_json_serializable", _MAKE_JSON_SERIALIZABLE, make_json_serializable),
    (World, "_update_graph", _UPDATE_GRAPH, _update_graph),
    (Stats, "_populate_graph", _POPULATE_GRAPH, _populate_graph),
)


@contextlib.contextmanager
def stable_order() -> Iterator[None]:
    """Within the block, sets reach the world's stats rows in :func:`sorted_set` order (module docstring)."""
    installed = []
    for cls, name, original, replacement in _PATCHES:
        if cls.__dict__.get(name) is original:
            setattr(cls, name, replacement)
            installed.append((cls, name, original))
    try:
        yield
    finally:
        for cls, name, original in installed:
            setattr(cls, name, original)
