"""The hub: serves a world (running in this process) to agent nodes living in other processes over TCP.

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
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.hub_admission import HubAdmission
from wmverse.runtime.join import JoinError
from wmverse.runtime.scheduler import world_is_finished
from wmverse.runtime.wire import (
    ProtocolError,
    RemoteLink,
    RemoteNode,
    derive_seed,
    forget_remote_node,
    listen_socket,
    node_entry,
    read_frame,
    set_subscription,
    write_frame,
)

__all__ = ["Hub", "HubConfig", "derive_seed", "listen_socket"]

#: Rank given to the first remote that does not ask for one (joiners from elsewhere), then +1 each.
FIRST_FREE_RANK = 1000


@dataclass
class HubConfig:
    """Where and how a hub serves its world."""

    host: str = "127.0.0.1"
    """Interface to listen on ('0.0.0.0' for every interface)."""
    port: int = 0
    """TCP port; 0 picks a free one (read it back from ``Hub.address``)."""
    realtime: bool = False
    """Pace ticks at tick_ms real ms and let remotes join at any time (else lockstep)."""
    expected: int = 0
    """Lockstep: remotes that must register before tick 0."""
    tick_timeout_s: float = 120.0
    """A remote that does not answer a tick within this many seconds is dropped."""
    startup_timeout_s: float = 300.0
    """Lockstep: how long to wait for the expected remotes (loading scripts imports torch)."""
    handshake_timeout_s: float = 30.0
    """How long a new connection may take to say hello."""

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        if self.expected < 0:
            raise ValueError(f"expected must be >= 0, got {self.expected}")
        if self.tick_timeout_s <= 0 or self.startup_timeout_s <= 0 or self.handshake_timeout_s <= 0:
            raise ValueError("timeouts must be positive")


class Hub(HubAdmission):
    """Serves the world of this process to remote agent processes (see the module doc)."""

    def __init__(
        self,
        config: HubConfig | None = None,
        sock: socket.socket | None = None,
        watch: Callable[[], None] | None = None,
    ) -> None:
        self.config = config or HubConfig()
        self.sock = sock if sock is not None else listen_socket(self.config.host, self.config.port)
        self.watch = watch
        self.runtime: Any = None
        self.printer: Any = None
        self.links: list[RemoteLink] = []  # admitted (active or dropped), in admission order
        self.pending: list[RemoteLink] = []  # registered, admitted at the next tick
        self.failures: list[str] = []  # lockstep: remotes that failed before tick 0
        self.events: list[str] = []  # the hub's own log lines (drops, joins, failures)
        self.started = False
        self._next_rank = FIRST_FREE_RANK
        self._changed: asyncio.Event | None = None
        self._code: tuple[dict[str, Any], list[bytes]] | None = None
        self._writers: set[Any] = set()  # every connection's writer, closed when the run ends

    # --- the runner's driver protocol ----------------------------------------------------------
    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

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
        self.sock.close()

    # --- logging -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A hub line, stamped with the synthetic time, printed unless quiet and kept in ``events``."""
        line = f"[t={self.runtime.clock.elapsed_s:10.3f}s] hub: {text}"
        self.events.append(line)
        if not self.runtime.config.quiet:
            self.printer.write(line)

    # --- the loop ------------------------------------------------------------------------------
    async def run(self) -> str:
        """Ticks until the world is finished ('world') or max_steps ticks ran ('max_steps')."""
        runtime = self.runtime
        world_node = runtime.require_world_node()
        self._changed = asyncio.Event()
        server = await asyncio.start_server(self._serve, sock=self.sock)
        mode = "realtime" if self.config.realtime else "lockstep"
        worlds = ", ".join(repr(n.node_name) for n in self._worlds())
        self.say(f"serving world {worlds} on {self.address} ({mode}, tick {runtime.config.tick_ms:g} ms)")
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
                if self.config.realtime:
                    tick_s = runtime.config.tick_ms / 1000.0
                    deadline = max(deadline + tick_s, loop.time() - tick_s)  # late: catch up one tick at most
                    await asyncio.sleep(max(0.0, deadline - loop.time()))
            reason = "max_steps"
            return reason
        finally:
            server.close()
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

    async def _end_all(self, reason: str) -> None:
        for link in self.links + self.pending:
            if link.active or link in self.pending:
                try:
                    await asyncio.wait_for(write_frame(link.writer, {"type": "end", "reason": reason}), 5.0)
                except (OSError, TimeoutError, ConnectionError):
                    pass
            link.active = False
            link.close()
        for writer in self._writers:  # connections still in their handshake
            writer.close()

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

    # --- one tick with the remotes -------------------------------------------------------------
    def _directory(self) -> list[dict[str, Any]]:
        local = [node_entry(n, 0) for n in self.runtime.running]
        return local + [e for lk in self.links if lk.active for e in lk.entries]

    async def _remote_phase(self) -> None:
        active = sorted((lk for lk in self.links if lk.active), key=lambda lk: lk.rank)
        if not active:
            return
        runtime = self.runtime
        nodes = self._directory()
        nodes_json = json.dumps(nodes, sort_keys=True)
        members_json = json.dumps(runtime.router.members, sort_keys=True)
        elapsed_us = round(runtime.clock.elapsed_s * 1_000_000)

        async def exchange(link: RemoteLink) -> tuple[dict[str, Any], list[bytes]]:
            ops, blobs = link.queue.take()
            header: dict[str, Any] = {
                "type": "tick",
                "t": runtime.steps,
                "elapsed_us": elapsed_us,
                "ops": ops,
            }
            if link.sent_nodes != nodes_json:
                header["nodes"], link.sent_nodes = nodes, nodes_json
            if link.sent_members != members_json:
                header["members"], link.sent_members = runtime.router.members, members_json
            if link.answers:
                header["joins"], link.answers = link.answers, {}
            await asyncio.wait_for(write_frame(link.writer, header, blobs), self.config.tick_timeout_s)
            while True:  # a remote computing a long step says "busy" before its deadline, then "done"
                answer = await asyncio.wait_for(read_frame(link.reader), self.config.tick_timeout_s)
                if answer[0].get("type") != "busy":
                    return answer

        results = await asyncio.gather(*(exchange(lk) for lk in active), return_exceptions=True)
        for link, result in zip(active, results, strict=True):
            if isinstance(result, TimeoutError):
                await self._drop(
                    link,
                    f"did not answer tick {runtime.steps} within {self.config.tick_timeout_s:g} s: dropped",
                )
            elif isinstance(result, asyncio.IncompleteReadError | ConnectionError | OSError | ProtocolError):
                await self._drop(link, f"disconnected ({type(result).__name__}): purged from the world")
            elif isinstance(result, BaseException):
                raise result
            else:
                await self._take_done(link, *result)

    async def _take_done(self, link: RemoteLink, header: dict[str, Any], blobs: list[bytes]) -> None:
        if header["type"] == "fail":
            message = f"remote {'+'.join(link.scripts)} failed: {header.get('error')}"
            if not self.config.realtime:
                raise ScriptFailure(message, None, None, None, None)
            await self._drop(link, f"failed, dropped: {header.get('error')}")
            return
        if header["type"] != "done":
            await self._drop(link, f"sent {header['type']!r} instead of 'done': dropped")
            return
        for line in header.get("printed", []):
            if not self.runtime.config.quiet:
                self.printer.write(line)
        self.printer.lines.extend(header.get("transitions", []))
        if self.runtime.transition_log is not None:  # the remote's state-machine transitions
            self.runtime.transition_log.extend(header.get("hsm", []))
        link.delivered = int(header.get("delivered", link.delivered))
        link.joins.extend(header.get("joins", []))
        await self._route(link, header.get("ops", []), blobs)

    async def _route(self, source: RemoteLink, ops: list[list[Any]], blobs: list[bytes]) -> None:
        from wmverse.runtime.wire import apply_op

        router = self.runtime.router
        for op in ops:
            if op[0] == "sub":
                set_subscription(router, op[1], op[2], bool(op[3]))
                for link in self.links:
                    if link.active and link is not source:
                        link.queue.ops.append(list(op))
                continue
            target = router.by_peer.get(op[1])
            if target is None or target.closed:
                continue  # the peer left: as a send to a lost peer
            if getattr(target, "is_proxy", False):
                target.queue().add(op, blobs)
            else:
                await apply_op(router, op, blobs)

    def _local_subscription(self, channel: str, peer: str, subscribed: bool) -> None:
        for link in self.links:
            if link.active:
                link.queue.ops.append(["sub", channel, peer, subscribed])

    async def _drop(self, link: RemoteLink, why: str) -> None:
        link.active = False
        link.close()
        router = self.runtime.router
        for entry in link.entries:
            proxy = router.by_peer.get(entry["prv"])
            if isinstance(proxy, RemoteNode):
                await forget_remote_node(router, proxy)
        self.say(f"remote {link.label} {why}")

    # --- new connections -----------------------------------------------------------------------
