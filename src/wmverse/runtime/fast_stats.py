"""The world's stats without unaiverse's per-value JSON walk: typed encoding and batched serialisation.

unaiverse's world-side ``Stats`` turns every stored value into JSON at once, through the recursive
``_make_json_serializable`` walk and ``json.dumps``, even numbers and strings. Every agent's stats
update makes the world store its whole ``graph`` (one node and one edge set per agent) again, so a
world with N agents walks N graphs of N nodes per stats period: that walk was the runtime's biggest
cost. :func:`install` gives a world's ``Stats`` object two faster, equivalent methods:

- ``_store_dynamic`` / ``_store_static`` encode scalars (``str``, ``int``, ``float``, ``bool``,
  ``None``) directly, as ``json.dumps`` does; containers go through ``json.dumps`` with a ``default``
  hook for sets when the class keeps the run's ``_make_json_serializable`` (unaiverse's, with sets in
  :mod:`~wmverse.runtime.stable_order`'s order: the same text, the walk done in C), else through the
  class's own ``_make_json_serializable`` as before.
- Inside :meth:`FastStats.batch` (a run of consecutive STATS_UPDATE messages the world's node
  handles, see :mod:`wmverse.runtime.node`), static containers are serialised once, when the batch
  ends, instead of at every store. Only unaiverse's own ``World.add_peer_stats`` code runs inside a
  batch; it changes the stored ``graph`` only in ``_update_graph``, which stores it again right after,
  and in ``_prune_graph``, before which the pending values are serialised. The SQLite rows are
  therefore the same: a static row keeps the last value stored before a save, and every stored value
  is serialised as it was when stored (a superseded entry of the same save gets the same text as the
  entry that supersedes it, which the upsert overwrites anyway). Values in a batch come from the wire
  (JSON types) or are the graph, so serialising them later cannot fail where storing them did not.
  Should unaiverse's code raise inside a batch (the run then ends with that error), the graph row
  saved at the end can show the update it was making.

Nothing is installed when the world's ``Stats`` class overrides ``_store_static``/``_store_dynamic``;
batching is off when its ``World`` class overrides a method that runs inside a batch (then user code
could change a pending value). ``WMVERSE_FAST_STATS=0`` in the environment (or :data:`ENABLED` =
False) keeps unaiverse's own path, to compare the two.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import types
from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedDict
from unaiverse.stats import Stats
from unaiverse.world import World

from wmverse.runtime.stable_order import make_json_serializable, sorted_set

__all__ = ["ENABLED", "FastStats", "encode_json", "install"]

#: Whether new world nodes get the fast stats path (``WMVERSE_FAST_STATS=0`` turns it off).
ENABLED: bool = os.environ.get("WMVERSE_FAST_STATS", "1").strip().lower() not in ("0", "false", "no", "off")

#: World methods that run inside a batch: overriding any of them turns batching off for that world.
_BATCH_WORLD_METHODS = (
    "add_peer_stats",
    "collect_and_store_own_stats",
    "_process_custom_stat",
    "_update_graph",
    "_prune_graph",
    "_extract_graph_node_info",
)

#: Static values serialised at the end of a batch (the containers the walk goes through); others at once.
_DEFERRABLE = frozenset({dict, list, tuple, set})

_encode_str = json.encoder.encode_basestring_ascii  # what json.dumps uses for str (ensure_ascii=True)


def _encode_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return float.__repr__(value)


#: ``json.dumps(v)`` for values of exactly these types (subclasses take the general path).
_SCALAR_ENCODERS: dict[type, Any] = {
    str: _encode_str,
    int: int.__repr__,
    float: _encode_float,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _sets_as_lists(value: Any) -> Any:
    """``json.dumps``'s ``default`` hook doing what ``Stats._make_json_serializable`` does during a run: set ->
    list, in :func:`~wmverse.runtime.stable_order.sorted_set` order."""
    if isinstance(value, set):
        return sorted_set(value)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _encode_base(value: Any) -> str:
    """``json.dumps(make_json_serializable(value))`` (the run's conversion, ``stable_order``): scalars by type,
    containers walked in C."""
    encoder = _SCALAR_ENCODERS.get(type(value))
    return encoder(value) if encoder is not None else json.dumps(value, default=_sets_as_lists)


def encode_json(stats: Stats, value: Any) -> str:
    """``json.dumps(stats._make_json_serializable(value))``, without the Python walk where possible."""
    if type(stats)._make_json_serializable is make_json_serializable:
        return _encode_base(value)
    value = stats._make_json_serializable(value)  # the class's own conversion
    encoder = _SCALAR_ENCODERS.get(type(value))
    return encoder(value) if encoder is not None else json.dumps(value)


class FastStats:
    """The fast path installed on one world's ``Stats`` object (see the module's docstring)."""

    def __init__(self, world: World, stats: Stats) -> None:
        self.world = world
        self.stats = stats
        self.base_walk = type(stats)._make_json_serializable is make_json_serializable
        self.can_batch = all(
            getattr(type(world), name) is getattr(World, name) for name in _BATCH_WORLD_METHODS
        )
        self.batching = False
        #: Static entries whose JSON waits for the end of the batch: (index in the buffer, key, value).
        self.pending: list[tuple[int, tuple[Any, str], Any]] = []
        stats._store_static = types.MethodType(_store_static, stats)
        stats._store_dynamic = types.MethodType(_store_dynamic, stats)
        stats._wmv_fast = self
        if self.can_batch:
            world._prune_graph = types.MethodType(_prune_graph, world)

    def encode(self, value: Any) -> str:
        """The JSON text unaiverse stores for ``value``."""
        return _encode_base(value) if self.base_walk else encode_json(self.stats, value)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Static containers stored inside are serialised once, when it ends (no-op when batching is off)."""
        if not self.can_batch or self.batching or self.world.stats is not self.stats:
            yield
            return
        self.batching = True
        try:
            yield
        finally:
            self.batching = False
            self.flush()

    def flush(self) -> None:
        """Serialises the pending static entries into the DB buffer (the latest of each key once)."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        buffer = self.stats._static_db_buffer
        texts: dict[tuple[Any, str], str] = {}
        for index, key, value in reversed(pending):
            text = texts.get(key)
            if text is None:
                text = texts[key] = self.encode(value)
            group_key, stat_name, _, timestamp = buffer[index]
            buffer[index] = (group_key, stat_name, text, timestamp)


def install(world: Any) -> FastStats | None:
    """Gives ``world``'s stats the fast path; None when it is off, not a world's, or not applicable."""
    if not ENABLED or not isinstance(world, World):
        return None
    stats = getattr(world, "stats", None)
    if not isinstance(stats, Stats) or not stats.is_world:
        return None
    existing = stats.__dict__.get("_wmv_fast")
    if existing is not None:
        return existing
    cls = type(stats)
    if cls._store_static is not Stats._store_static or cls._store_dynamic is not Stats._store_dynamic:
        return None
    return FastStats(world, stats)


# --- the methods installed on the Stats object (same behaviour as unaiverse 0.1.31's) ---------------
def _store_static(self: Stats, stat_name: str, value: Any, group_key: str, timestamp: int) -> None:
    """``Stats._store_static`` on the world: same hot cache and rows; JSON typed, or at the batch's end."""
    value = self._validate_type(stat_name, value)
    if timestamp > self.max_seen_timestamp:
        self.max_seen_timestamp = timestamp
    if stat_name in self.world_ungrouped_keys:
        self._stats[stat_name] = value
    else:
        self._stats[self.GROUP_KEY].setdefault(group_key, {})[stat_name] = value
    fast: FastStats = self._wmv_fast
    if fast.batching and type(value) in _DEFERRABLE:
        fast.pending.append((len(self._static_db_buffer), (group_key, stat_name), value))
        self._static_db_buffer.append((group_key, stat_name, None, timestamp))
        return
    self._static_db_buffer.append((group_key, stat_name, fast.encode(value), timestamp))


def _store_dynamic(self: Stats, stat_name: str, value: Any, group_key: str, timestamp: int) -> None:
    """``Stats._store_dynamic`` on the world, with the JSON column encoded by type."""
    value = self._validate_type(stat_name, value)
    last_value = self.get_last_value(stat_name)
    if self.STORE_DYNAMIC_IF_CHANGED and last_value == value:
        return
    if timestamp > self.max_seen_timestamp:
        self.max_seen_timestamp = timestamp
    ungrouped = stat_name in self.world_ungrouped_keys
    cache = self._stats.get(stat_name) if ungrouped else self._get_group_stat_cache(group_key, stat_name)
    if isinstance(cache, SortedDict):
        cache[timestamp] = value
        cutoff = timestamp - int(self.min_window_duration.total_seconds() * 1000)
        if ungrouped:
            self._prune_ungrouped_timeseries(cache, cutoff)
        else:
            while cache and cache.peekitem(0)[0] < cutoff:
                cache.popitem(0)
    kind = type(value)
    val_num = value if isinstance(value, int | float) and kind is not bool else None
    val_str = value if isinstance(value, str) else None
    self._dynamic_db_buffer.append(
        (timestamp, group_key, stat_name, val_num, val_str, self._wmv_fast.encode(value))
    )


def _prune_graph(self: World) -> None:
    """``World._prune_graph``, serialising the pending stats first when it is going to change the graph."""
    graph = self.stats.get_stats().get("graph")
    if not graph:
        return
    dead = graph.get("nodes", {}).keys() - self.all_agents.keys()  # as World._prune_graph's dead_peers
    dead.discard(self.get_peer_ids()[1])
    if not dead:
        return  # World._prune_graph would change nothing
    fast = getattr(self.stats, "_wmv_fast", None)
    if fast is not None:
        fast.flush()
    World._prune_graph(self)
