"""The hub: serves a world (running in this process) to agent nodes living in other processes.

Its remotes come through channels (:mod:`wmverse.runtime.channels`): socket pairs to its own children
(run_asynch.py) or authenticated libp2p peers (:mod:`wmverse.runtime.p2p`, run_w.py).

A :class:`Hub` is a driver of :func:`~wmverse.runtime.runner.run_world`: the world's process loads only
``run_w.py`` and the hub ticks. Each tick:

1. remotes that registered since the last tick are admitted (their nodes become
   :class:`~wmverse.runtime.wire.RemoteNode` entries of the router) and their join requests are
   answered in rank order by the world's :meth:`LocalNode.accept_join` (the same code as in process);
2. every remote gets a ``tick`` frame (time, node directory, world membership, join answers and the
   operations addressed to its nodes) and answers ``done`` with what its nodes sent;
3. those operations are applied in canonical order (remote rank, then send order); then the world
   process steps its own nodes and the synthetic clock advances.

**lockstep** (default): the hub waits for ``expected`` remotes before tick 0 and never waits on the wall
clock; same seed -> same world stats. **realtime**: ticks are paced at ``tick_ms`` real ms and remotes may
join at any tick. In both modes a remote that disconnects or misses a tick's deadline is dropped and
purged from the world (its peers see a lost connection) and the run goes on; a remote whose script
raises ends a lockstep run (exit 1, naming the script, file and line) and is dropped in realtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wmverse.runtime.channels import ProtocolError
from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.hub_admission import HubAdmission
from wmverse.runtime.hub_config import HubConfig
from wmverse.runtime.hub_restart import HubRestart
from wmverse.runtime.hub_ticks import HubTicks
from wmverse.runtime.join import JoinError
from wmverse.runtime.scheduler import world_is_finished
from wmverse.runtime.wire import (
    RemoteLink,
    RemoteNode,
    derive_seed,
)

__all__ = ["Hub", "HubConfig", "derive_seed"]

#: Rank given to the first remote that does not ask for one (joiners from elsewhere), then +1 each.
FIRST_FREE_RANK = 1000


class Hub(HubTicks, HubAdmission, HubRestart):
    """Serves the world of this process to remote agent processes (see the module doc)."""

    def __init__(
        self,
        config: HubConfig | None = None,
        *,
        pipes: list[Any] | None = None,
        endpoint: Any = None,
        watch: Callable[[], None] | None = None,
    ) -> None:
        """``pipes``: channels to this process's own children (trusted: made before they started);
        ``endpoint``: a started :class:`~wmverse.runtime.p2p.P2PEndpoint` that strangers reach."""
        self.config = config or HubConfig()
        self.pipes = list(pipes or [])
        self.endpoint = endpoint
        self.watch = watch
        self.runtime: Any = None
        self.printer: Any = None
        self.links: list[RemoteLink] = []  # admitted (active or dropped), in admission order
        self.pending: list[RemoteLink] = []  # registered, admitted at the next tick
        self.failures: list[str] = []  # lockstep: remotes that failed before tick 0
        self.events: list[str] = []  # the hub's own log lines (drops, joins, failures)
        self.started = False
        self._next_rank = FIRST_FREE_RANK
        self._ranks: dict[str, int] | None = None  # served peers' ranks (``hub_admission.RANKS_FILE``)
        self._saved_ranks: dict[str, int] = {}  # the ranks of the run this one resumes, not given again yet
        self._changed: asyncio.Event | None = None
        self._code: dict[str, str] | None = None
        self.lost: dict[str, Any] = {}  # node name -> LostRemote whose rejoin window is open
        self.on_start: Callable[[Hub], None] | None = None  # called once the world is loaded
        self._handshakes: set[Any] = set()  # channels still in their hello/registration
        self._tasks: set[asyncio.Task] = set()

    # --- the runner's driver protocol ----------------------------------------------------------
    @property
    def address(self) -> str:
        """The libp2p multiaddr of a served world ('local processes' without an endpoint)."""
        return self.endpoint.multiaddr() if self.endpoint is not None else "local processes"

    def select_scripts(self, scripts: list[Path]) -> list[Path]:
        """Only ``run_w.py`` runs in the world's process; the agents' scripts run in remotes."""
        return scripts[:1]

    def attach(self, runtime: Any, printer: Any) -> None:
        self.runtime = runtime
        self.printer = printer
        runtime.wait_for_background = not self.config.realtime
        runtime.router.listener = self._local_subscription

    def node_names(self) -> list[str]:
        remote_agents = [
            e["name"]
            for link in sorted(self.links, key=lambda lk: lk.rank)
            for e in link.entries
            if e["type"] == "agent"
        ]
        return remote_agents + [n.node_name for n in self.runtime.order()]

    def messages(self) -> int:
        return self.runtime.router.delivered + sum(link.delivered for link in self.links)

    def close(self) -> None:
        for link in self.links + self.pending:
            link.close()
        for chan in self.pipes:
            chan.close()

    # --- logging -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A hub line, stamped with the synthetic time, printed unless quiet and kept in ``events``."""
        line = f"[t={self.runtime.clock.elapsed_s:10.3f}s] hub: {text}"
        self.events.append(line)
        if not self.runtime.config.quiet:
            self.printer.write(line)

    # --- the loop ------------------------------------------------------------------------------
    async def run(self) -> str:
        """Ticks until the world is finished ('world'), max_steps ticks ran ('max_steps'), the world node's
        ``run(cycles=..., max_time=...)`` limit is reached ('cycles'/'max_time') or a first Ctrl-C or SIGTERM
        asked for a stop after the tick ('interrupted')."""
        runtime = self.runtime
        world_node = runtime.require_world_node()
        self._changed = asyncio.Event()
        for chan in self.pipes:
            self._start_serving(chan.start())
        if self.endpoint is not None:
            self.endpoint.on_new_peer = self._start_serving
            self.endpoint.serve()
        mode = "realtime" if self.config.realtime else "lockstep"
        worlds = ", ".join(repr(n.node_name) for n in self._worlds())
        self.say(f"serving world {worlds} on {self.address} ({mode}, tick {runtime.config.tick_ms:g} ms)")
        if self.on_start is not None:
            self.on_start(self)
        loop = asyncio.get_running_loop()
        reason = "error"
        try:
            if not self.config.realtime:
                await self._wait_for_expected()
            self.started = True
            deadline = loop.time()
            while runtime.steps < runtime.config.max_steps:
                if self.watch is not None:
                    self.watch()
                await self._admit()
                await self._answer_joins()
                await self._remote_phase()
                await runtime.step_nodes()
                runtime.advance()
                if world_is_finished(world_node.hosted):
                    reason = "world"
                    return reason
                limit = world_node.limit_reached()  # the world node's run(cycles=..., max_time=...)
                if limit is not None:
                    reason = limit
                    return reason
                if runtime.stop_requested:  # a first Ctrl-C or SIGTERM: stop after this tick
                    reason = "interrupted"
                    return reason
                self._check_lost()
                if self.config.realtime:
                    tick_s = runtime.config.tick_ms / 1000.0
                    deadline = max(deadline + tick_s, loop.time() - tick_s)  # late: catch up one tick at most
                    await asyncio.sleep(max(0.0, deadline - loop.time()))
            reason = "max_steps"
            return reason
        finally:
            await self._end_all(reason)

    def _worlds(self) -> list[Any]:
        return [n for n in self.runtime.running if n.node_type == n.WORLD]

    async def _wait_for_expected(self) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.config.startup_timeout_s
        while True:
            if self.failures:
                raise ScriptFailure(self.failures[0], None, None, None, None)
            if len(self.pending) >= self.config.expected:
                return
            if self.watch is not None:
                self.watch()
            if loop.time() > give_up:
                raise ScriptFailure(
                    f"only {len(self.pending)} of {self.config.expected} agent processes registered with the "
                    f"hub within {self.config.startup_timeout_s:g} s",
                    None,
                    None,
                    None,
                    None,
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=0.2)
            except TimeoutError:
                pass

    def _start_serving(self, chan: Any) -> None:
        """A new channel: its hello and registration run in a task of their own."""
        self._handshakes.add(chan)
        task = asyncio.get_running_loop().create_task(self._serve(chan))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _unpend(self, chan: Any) -> None:
        self._handshakes.discard(chan)
        if self.endpoint is not None:
            self.endpoint.pending.discard(chan.peer)

    def _ban(self, chan: Any) -> None:
        """A libp2p peer that broke the protocol is ignored for the rest of the run."""
        if self.endpoint is not None and not getattr(chan, "trusted", False):
            self.endpoint.ban(chan.peer)

    async def _end_all(self, reason: str) -> None:
        """Tells every remote the run ended and why; over libp2p, waits (3 s at most) for their 'bye' so the
        last message is not lost when this node closes."""
        told = []
        for link in self.links + self.pending:
            if link.active or link in self.pending:
                try:
                    await asyncio.wait_for(link.channel.write({"type": "end", "reason": reason}), 5.0)
                    told.append(link)
                except (OSError, TimeoutError, ProtocolError):
                    pass
            link.active = False
        if self.endpoint is not None and told:
            await asyncio.gather(*(self._bye(link) for link in told))
        for link in self.links + self.pending:
            link.close()
        for chan in list(self._handshakes):
            chan.close()
        for task in list(self._tasks):
            task.cancel()
        if self.endpoint is not None:
            await self.endpoint.close()

    @staticmethod
    async def _bye(link: RemoteLink, within_s: float = 3.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + within_s
        while (left := end - loop.time()) > 0:
            try:
                header, _ = await link.channel.read(left)
            except (OSError, TimeoutError, ProtocolError):
                return
            if header.get("type") == "bye":
                return

    # --- admission and joins -------------------------------------------------------------------
    async def _admit(self) -> None:
        if not self.pending:
            return
        newcomers = sorted(self.pending, key=lambda lk: lk.rank)
        self.pending = []
        router = self.runtime.router
        for link in newcomers:
            link.active = True
            self.links.append(link)
            for name in link.names:
                if self.lost.pop(name, None) is not None:
                    self.say(f"{name} rejoined the run")
            recorder = self.runtime.recorder
            for entry in link.entries:
                router.register(RemoteNode(entry, lambda lk=link: lk.queue))
                if recorder is not None:
                    role = "world" if entry["type"] == "world" else None
                    recorder.add_node(entry["name"], role, entry["prv"], entry["pub"])
            # The newcomer learns the pub/sub subscriptions made so far.
            for channel, subs in router.subscribers.items():
                for peer in subs:
                    link.queue.ops.append(["sub", channel, peer, True])
            self.say(f"remote {link.label} joined the run (rank {link.rank})")

    async def _answer_joins(self) -> None:
        for link in sorted(self.links, key=lambda lk: lk.rank):
            if not link.active or not link.joins:
                continue
            requests, link.joins = link.joins, []
            for req in requests:
                link.answers[req["node"]] = await self._accept(link, req)

    async def _accept(self, link: RemoteLink, req: dict[str, Any]) -> dict[str, Any]:
        world_node = self._world_named(req["world"])
        if world_node is None:
            return {"error": self._no_world_message(req["node"], req["world"])}
        try:
            return await world_node.accept_join(req["request"])
        except JoinError as exc:
            return {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a stranger's profile must not end the run
            self.say(
                f"remote {link.label}: join request of {req['node']!r} refused ({type(exc).__name__}: {exc})"
            )
            return {
                "error": f"the world could not read the join request of {req['node']!r} ({type(exc).__name__})"
            }

    def _world_named(self, name: str) -> Any:
        node = self.runtime.router.find_by_name(name) if isinstance(name, str) else None
        if node is None or getattr(node, "is_proxy", False) or node.node_type != node.WORLD:
            return None
        return node

    def _no_world_message(self, node_name: str, world: str) -> str:
        served = sorted(n.node_name for n in self._worlds())
        return (
            f"node {node_name!r} asked to join world {world!r}, but no world with that name is served at "
            f"{self.address} (worlds served there: {served})"
        )

    # --- new connections -----------------------------------------------------------------------
