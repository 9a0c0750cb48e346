"""Stats rows that do not depend on the process's string hashing: sets are written in one order in every run.

CPython salts the hash of ``str`` per process (``PYTHONHASHSEED``), so a set of peer ids iterates in a
different order in each process. unaiverse 0.1.31 writes that order into the world's stats rows in two places:
``Stats._make_json_serializable`` turns a set into ``list(set)``, and ``World._update_graph`` adds a peer's
connections to the graph's ``nodes`` in set order. So two ``run_synch.py`` processes with the same seed wrote
``graph`` rows that differed in their order (found by comparing two runs' databases; runs compared inside one
process share the salt and agreed).

:func:`stable_order`, entered by every run (``wmverse.runtime.runner.run_context``), replaces both for the
run's duration: a set is written as a list sorted by :func:`order_key`, and a peer's connections are added to
the graph in that order too. The stored values are the same sets, dicts and lists as before; only their order
is fixed. A ``Stats`` or ``World`` subclass that defines its own method keeps it. The originals are put back
on exit; a class attribute that is not unaiverse's own when the block starts (another patch) is left alone.
``wmverse.runtime.fast_stats`` writes sets in the same order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from unaiverse.stats import Stats
from unaiverse.world import World

__all__ = ["make_json_serializable", "order_key", "sorted_set", "stable_order"]

# The originals, as unaiverse 0.1.31 defines them (taken at import, before any patch).
_MAKE_JSON_SERIALIZABLE = Stats.__dict__["_make_json_serializable"]
_UPDATE_GRAPH = World.__dict__["_update_graph"]


def order_key(value: Any) -> tuple[str, str]:
    """A total order over any hashable values, the same in every process: type name, then ``repr``."""
    return type(value).__qualname__, repr(value)


def sorted_set(values: Iterable[Any]) -> list[Any]:
    """A set's elements as a list in :func:`order_key` order."""
    return sorted(values, key=order_key)


def make_json_serializable(self: Stats, value: Any) -> Any:
    """``Stats._make_json_serializable`` with sets written in :func:`order_key` order."""
    if isinstance(value, set):
        return sorted_set(value)
    if isinstance(value, dict):
        return {k: self._make_json_serializable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [self._make_json_serializable(item) for item in value]
    return value


def _update_graph(self: World, peer_id: str, connected_peers_list: list[str], timestamp: int) -> None:
    """``World._update_graph``, visiting ``peer_id``'s connections in :func:`order_key` order."""
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


#: (class, attribute, original, replacement)
_PATCHES = (
    (Stats, "_make_json_serializable", _MAKE_JSON_SERIALIZABLE, make_json_serializable),
    (World, "_update_graph", _UPDATE_GRAPH, _update_graph),
)


@contextlib.contextmanager
def stable_order() -> Iterator[None]:
    """Within the block, sets reach the world's stats rows in :func:`order_key` order (module docstring)."""
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
