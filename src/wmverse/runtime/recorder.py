"""Recording a run into the run store (:mod:`wmverse.store`) while the world runs, knowing no world.

:func:`open_recorder` opens the store of a run (``RuntimeConfig.db``, else env ``WMVERSE_DB``, else
``<world folder>/runs.db``; ``none`` records nothing) and begins the run there: the world folder's name,
the seed, the configuration (``RuntimeConfig``'s fields and every ``WMVERSE_*`` environment variable) and
the code's version. The :class:`Recorder` is then fed by the runtime:

- nodes as they start (``Runtime.register_run``; a hub's remote nodes when admitted), their roles as the
  world assigns them (``accept_join``) or changes them (the world's connection, ``LocalConn.on_role``);
- the world's stats: each world node's unaiverse ``Stats`` has its ``_store_dynamic``/``_store_static``
  tapped (:func:`tap_stats`), so every value it stores (what reaches its SQLite buffers) becomes a point,
  with the JSON text the stats made anyway; as in unaiverse's SQLite file, a dynamic value stored again at
  the same timestamp is dropped; a static stat gives its last value of each write, when it changed;
- state transitions: every completed HSM transition (:func:`~wmverse.runtime.patches.recorded_transitions`),
  those of remote processes included (the hub gets them with each tick's answer);
- badges: new entries of each world's ``agent_badges`` (what ``World.add_badge`` records);
- messages: how many were delivered during each tick (the router's counters, remotes included).

At the end of every tick (``Runtime.advance``) the tick's rows are gathered; they are written in one
transaction once ``FLUSH_EVERY_S`` real seconds passed since the last write (every tick when ticks are
slower), so a SIGKILL loses at most that much. Rows: ``agent`` is a node's name (a stats group key that is
no node's peer id is kept as it is; an ungrouped world stat gets the world's name), ``step`` the tick,
``sim_time`` the world's clock in seconds (a point's own timestamp), ``wall_time`` the host's clock.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wmverse.store import JSONText, Point, RunStore, StoreError, Transition, describe_code, resolve_url

__all__ = ["FLUSH_EVERY_S", "Recorder", "open_recorder", "run_config", "store_location", "tap_stats"]

#: Real seconds between two writes to the store (a tick slower than this is written at its end).
FLUSH_EVERY_S = 0.25

#: ``--db`` / ``WMVERSE_DB`` values that turn recording off.
OFF = frozenset({"none", "off", "no", "false", "0"})


def store_location(world_folder: Path, db: str | None) -> str | None:
    """Where a run of ``world_folder`` is recorded: ``db``, else env ``WMVERSE_DB``, else the folder's
    ``runs.db``; None when the value is one of ``OFF``."""
    value = db if db is not None else os.environ.get("WMVERSE_DB")
    if value is None or not str(value).strip():
        return str(Path(world_folder) / "runs.db")
    return None if str(value).strip().lower() in OFF else str(value)


def _shown(db: str | None) -> str | None:
    """A database URL without its password (a file path as it is)."""
    if db is None or "://" not in db:
        return db
    try:
        return resolve_url(db).render_as_string(hide_password=True)
    except StoreError:
        return "<bad URL>"


def run_config(config: Any, driver: Any = None) -> dict[str, Any]:
    """What a run records as its configuration: ``RuntimeConfig``'s fields, the driver, and every
    ``WMVERSE_*`` environment variable (a database URL's password hidden)."""
    fields = dataclasses.asdict(config)
    fields["skip_scripts"] = sorted(fields["skip_scripts"])
    fields["out_dir"] = None if fields["out_dir"] is None else str(fields["out_dir"])
    fields["checkpoint_dir"] = None if fields["checkpoint_dir"] is None else str(fields["checkpoint_dir"])
    fields["db"] = _shown(fields["db"])
    hub = getattr(driver, "config", None)
    fields["driver"] = None if driver is None else type(driver).__name__
    fields["realtime"] = bool(getattr(hub, "realtime", False))
    for name in sorted(os.environ):
        if name.startswith("WMVERSE_"):
            fields[name] = _shown(os.environ[name]) if name == "WMVERSE_DB" else os.environ[name]
    return fields


def open_recorder(
    world_folder: Path,
    config: Any,
    runtime: Any,
    messages: Callable[[], int] | None = None,
    write: Callable[[str], None] | None = None,
    driver: Any = None,
) -> Recorder | None:
    """Opens the run's store and begins the run (None when recording is off); ``StoreError`` when the
    store cannot be opened. ``messages``: the run's delivered messages so far (default: the router's)."""
    where = store_location(world_folder, config.db)
    if where is None:
        return None
    store = RunStore.open(where)
    try:
        run_id = store.begin_run(
            Path(world_folder).name,
            seed=config.seed,
            config=run_config(config, driver),
            code_version=describe_code(),
        )
    except BaseException:
        store.close()
        raise
    return Recorder(store, run_id, runtime, messages, write)


def tap_stats(stats: Any, recorder: Recorder, world_name: str) -> None:
    """Taps a world-side unaiverse ``Stats``: every value it stores (``_store_dynamic``/``_store_static``,
    whichever implementation it has, the runtime's fast one included) is handed to ``recorder`` with the
    tick and the row it buffered for SQLite. Values buffered before the tap are handed over at once."""
    if stats.__dict__.get("_wmv_recorder") is recorder:
        return
    stats._wmv_recorder = recorder
    dynamic, static, runtime = recorder.dynamic, recorder.static, recorder.runtime
    store_dynamic, store_static = stats._store_dynamic, stats._store_static

    def tapped_dynamic(*args: Any, **kwargs: Any) -> None:
        before = stats._dynamic_db_buffer
        n = len(before)
        store_dynamic(*args, **kwargs)
        buffer = stats._dynamic_db_buffer
        if len(buffer) > (n if buffer is before else 0):  # stored (an unchanged value may be skipped)
            dynamic.append((runtime.steps, world_name, buffer[-1]))

    def tapped_static(*args: Any, **kwargs: Any) -> None:
        before = stats._static_db_buffer
        n = len(before)
        store_static(*args, **kwargs)
        buffer = stats._static_db_buffer
        if len(buffer) > (n if buffer is before else 0):
            # the row's JSON may be made later (the fast path serialises a batch at its end): keep its place
            group_key, stat_name = buffer[-1][:2]
            static[(world_name, group_key, stat_name)] = (runtime.steps, buffer, len(buffer) - 1, stats)

    stats._store_dynamic = tapped_dynamic
    stats._store_static = tapped_static
    for entry in stats._dynamic_db_buffer:
        dynamic.append((runtime.steps, world_name, entry))
    buffer = stats._static_db_buffer
    for index, entry in enumerate(buffer):
        static[(world_name, entry[0], entry[1])] = (runtime.steps, buffer, index, stats)


def _static_text(stats: Any, entry: tuple) -> str:
    """A static row's JSON text."""
    group_key, stat_name, text = entry[:3]
    if text is None:  # not serialised yet (never at a tick's end): the value in the stats' cache
        from wmverse.runtime.fast_stats import encode_json

        cache = stats.get_stats()
        grouped = cache.get(stats.GROUP_KEY, {}).get(group_key, {})
        text = encode_json(stats, grouped[stat_name] if stat_name in grouped else cache.get(stat_name))
    return text


def _point_value(text: str) -> Any:
    """A point's value from JSON text: a number when the text is one, else the text."""
    if len(text) < 32 and text[:1] in "-0123456789":
        try:
            return float(text)
        except ValueError:
            pass
    return JSONText(text)


class Recorder:
    """Gathers a run's rows tick by tick and writes them to its store (see the module's docstring)."""

    def __init__(
        self,
        store: RunStore,
        run_id: int,
        runtime: Any,
        messages: Callable[[], int] | None = None,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.where = store.where
        self.runtime = runtime
        self.active = True  # False once a write failed: the run goes on unrecorded
        self._messages = messages or (lambda: runtime.router.delivered)
        self._write = write or print
        self.names: dict[str, str] = {}  # peer id -> node name
        self.nodes: dict[str, list[str | None]] = {}  # node name -> [role, peer id]
        self._dirty: set[str] = set()  # nodes to write
        self.dynamic: list[tuple] = []  # (tick, world, dynamic SQLite row) as stored
        self.static: dict[tuple, tuple] = {}  # (world, group key, stat) -> (tick, buffer, index, stats)
        self._last_time: dict[tuple, int] = {}  # (world, group key, stat) -> its last recorded timestamp
        self._last_text: dict[tuple, str] = {}  # (world, group key, stat) -> its last recorded static JSON
        self._points: list[Point] = []
        self._transitions: list[Transition] = []
        self._badges: list[tuple] = []
        self._counts: list[tuple] = []
        self._worlds: list[Any] = []  # world nodes whose badges are watched
        self._badges_seen: dict[tuple[int, str], tuple[list, int]] = {}
        self._delivered = 0
        self._flushed = time.monotonic()
        runtime.recorder = self
        runtime.transition_log = []

    # -- nodes ------------------------------------------------------------------------------------------
    def add_node(
        self, name: str, role: str | None = None, peer: str | None = None, public: str | None = None
    ):
        """A node of the run, or what became known of it (a role, a peer id)."""
        known = self.nodes.setdefault(name, [None, None])
        if role is not None:
            known[0] = role
        if peer is not None:
            known[1] = peer
            self.names[peer] = name
        if public is not None:
            self.names[public] = name
        self._dirty.add(name)

    def node_started(self, node: Any) -> None:
        """A node of this process started (``node.run()``): recorded; a world's stats, badges and role
        changes are watched from now on."""
        is_world = node.node_type == node.WORLD
        self.add_node(
            node.node_name, "world" if is_world else None, node.private_peer_id, node.public_peer_id
        )
        if not is_world:
            return
        self._worlds.append(node)
        world = node.hosted
        stats = getattr(world, "stats", None)
        if getattr(stats, "is_world", False) and hasattr(stats, "_dynamic_db_buffer"):
            tap_stats(stats, self, node.node_name)
        if hasattr(node.conn, "on_role"):
            node.conn.on_role = lambda peer, role: self._role_changed(world, peer, role)

    def _role_changed(self, world: Any, peer: str, role: int) -> None:
        name = getattr(world, "ROLE_BITS_TO_STR", {}).get((role >> 2) << 2, str(role))
        self.add_node(self.agent(peer), name, peer)

    def agent(self, key: str | None) -> str:
        """The node name of a peer id (a key that is no node's peer id as it is)."""
        name = self.names.get(key)
        if name is None:
            node = self.runtime.router.by_peer.get(key)
            if node is None:
                return str(key)
            name = self.names[key] = node.node_name
        return name

    # -- ticks ------------------------------------------------------------------------------------------
    def end_tick(self) -> None:
        """Gathers the tick's rows (called before the tick is counted); writes them when it is time."""
        if not self.active:
            return
        self._gather(time.time())
        if time.monotonic() - self._flushed >= FLUSH_EVERY_S:
            self.flush()

    def _gather(self, now: float) -> None:
        runtime = self.runtime
        if self.dynamic:
            agent, points, last = self.agent, self._points, self._last_time
            for step, world, (ts, key, stat, number, _text, js) in self.dynamic:
                series = (world, key, stat)
                if last.get(series) == ts:  # kept once, as unaiverse's SQLite does (INSERT OR IGNORE)
                    continue
                last[series] = ts
                value = number if number is not None else JSONText(js)
                who = world if key is None else agent(key)
                points.append(Point(who, stat, value, step, ts / 1000.0, now))
            self.dynamic.clear()
        last = self._last_text
        for series, (step, buffer, index, stats) in self.static.items():
            entry = buffer[index]
            text = _static_text(stats, entry)
            if last.get(series) == text:  # a static stat is recorded when its value changes (tick by tick,
                continue  # so that what is recorded does not depend on when the store is written)
            last[series] = text
            world, key, stat = series
            who = world if key is None else self.agent(key)
            self._points.append(Point(who, stat, _point_value(text), step, entry[3] / 1000.0, now))
        self.static.clear()
        moves = runtime.transition_log
        if moves:
            self._transitions.extend(Transition(*move, now) for move in moves)
            moves.clear()
        sim = runtime.clock.get_time()
        for node in self._worlds:
            self._gather_badges(node, sim, now)
        total = self._messages()
        if total != self._delivered:
            self._counts.append((runtime.steps, sim, total - self._delivered, now))
            self._delivered = total

    def _gather_badges(self, node: Any, sim: float, now: float) -> None:
        badges = getattr(node.hosted, "agent_badges", None)
        if not badges:
            return
        seen = self._badges_seen
        for peer, awarded in badges.items():
            key = (id(node), peer)
            last = seen.get(key)
            if last is not None and last[0] is awarded and last[1] == len(awarded):
                continue
            start = last[1] if last is not None and last[0] is awarded and last[1] <= len(awarded) else 0
            who = self.agent(peer)
            for badge in awarded[start:]:
                score, reason = badge.get("score"), badge.get("badge_description") or None
                self._badges.append((who, str(badge.get("badge_type")), score, reason, sim, now))
            seen[key] = (awarded, len(awarded))

    def flush(self) -> None:
        """Writes every gathered row in one transaction."""
        self._flushed = time.monotonic()
        if not self.active:
            return
        rows = (self._points, self._transitions, self._badges, self._counts)
        if not self._dirty and not any(rows):
            return
        store, run_id = self.store, self.run_id
        try:
            with store.transaction():
                store.add_nodes(run_id, [(name, *self.nodes[name]) for name in sorted(self._dirty)])
                store.add_points(run_id, self._points)
                store.add_transitions(run_id, self._transitions)
                store.add_badges(run_id, self._badges)
                store.add_message_counts(run_id, self._counts)
        except StoreError as exc:
            self.active = False
            self._write(f"run store: {exc}; the rest of run {run_id} is not recorded")
        finally:
            self._dirty.clear()
            for pending in rows:
                pending.clear()

    def finish(self, status: str) -> None:
        """Writes what is left, ends the run as ``status`` ('finished', 'failed', 'killed'), closes."""
        try:
            if self.active:
                self._gather(time.time())
                self.flush()
            self.store.finish_run(self.run_id, status)
        except StoreError as exc:
            self._write(f"run store: {exc}")
        finally:
            self.runtime.transition_log = None
            self.store.close()
