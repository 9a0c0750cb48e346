"""``LocalNode``: what ``unaiverse.networking.node.node.Node`` is while a world runs in process.

It accepts Node's constructor arguments (the network/key ones are ignored), gives the hosted Agent or
World a profile and a :class:`~wmverse.runtime.conn.LocalConn`, and ``run()``/``run_async()``
register it with the active :class:`~wmverse.runtime.scheduler.Scheduler` instead of blocking.
:meth:`LocalNode.step` is one cycle of ``Node.run_async``'s loop: join (first cycle), read and
dispatch messages, send stream samples, ``behave()``, periodic stats; worlds get ``on_tick()`` and,
when they have one, their own ``behav.act()``. Joining a world is in :mod:`wmverse.runtime.join`, what
each received message does in :mod:`wmverse.runtime.messages`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from unaiverse.agent import Agent
from unaiverse.clock import clock
from unaiverse.custom import Custom
from unaiverse.hsm import HybridStateMachine
from unaiverse.networking.node.profile import NodeProfile
from unaiverse.networking.p2p.messages import Msg
from unaiverse.utils.logger import log
from unaiverse.world import World

from wmverse.runtime import fast_stats
from wmverse.runtime.conn import (
    POOL_WORLD_AGENTS,
    POOL_WORLD_MASTERS,
    POOL_WORLD_NODE,
    LocalConn,
)
from wmverse.runtime.join import JoinError, WorldJoining
from wmverse.runtime.messages import dispatch, priority

__all__ = ["JoinError", "LocalNode", "set_active_runtime"]

#: The runtime currently running scripts; LocalNode registers with it. Set by the runner.
_ACTIVE: Any = None


def set_active_runtime(runtime: Any) -> None:
    """Makes ``runtime`` the one new LocalNodes attach to (``None`` detaches)."""
    global _ACTIVE
    _ACTIVE = runtime


def _peer_token(kind: str, index: int, name: str) -> str:
    """A deterministic, channel-safe peer id: letters and digits only (no ':' '/' '-')."""
    digest = hashlib.sha1(f"{kind}/{index}/{name}".encode()).hexdigest()[:10]
    clean = re.sub(r"[^A-Za-z0-9]", "", name)[:16] or "node"
    return f"Loc{kind}{index:04d}{clean}{digest}"


class LocalNode(WorldJoining):
    """A unaiverse Node that lives in this process and steps on the synthetic clock.

    Joining a world (``accept_join``, ``complete_join``, ``become_role``) is in :class:`WorldJoining`.
    """

    AGENT = "agent"
    WORLD = "world"

    def __init__(
        self,
        hosted: Agent | World,
        unaiverse_key: str | None = None,
        node_name: str | None = None,
        node_id: str | None = None,
        hidden: bool | None = None,
        code_repo: str | None = None,
        code_commit: str | None = None,
        clock_delta: float = 1.0 / 25.0,
        base_identity_dir: str | None = None,
        only_certified_agents: bool = False,
        allowed_node_ids: Any = None,
        world_masters_node_ids: Any = None,
        world_masters_node_names: Any = None,
        allow_connection_through_relay: bool = True,
        talk_to_relay_based_nodes: bool = True,
        run_hook: Any = None,
        send_stats_every: float = 30.0,
        save_checkpoint_every: float = -1.0,
        **_ignored: Any,
    ) -> None:
        runtime = _ACTIVE
        if runtime is None:
            raise RuntimeError(
                "LocalNode can only be built while wmverse's runtime runs a world folder "
                "(python run_synch.py WORLD_FOLDER)"
            )
        if not isinstance(hosted, Agent | World):
            raise TypeError(f"Node hosts an Agent or a World, got {type(hosted).__name__}")
        if node_name is None and node_id is None:
            raise ValueError("You must specify either node ID or node name: both are missing")
        if node_name is not None and node_id is not None:
            raise ValueError("Cannot specify both node ID and node name")

        self.runtime = runtime
        self.router = runtime.router
        self.hosted = hosted
        self.clock = clock
        self.node_type = self.WORLD if isinstance(hosted, World) else self.AGENT
        self.agent: Agent | None = hosted if self.node_type == self.AGENT else None
        self.world: World | None = hosted if self.node_type == self.WORLD else None
        self.node_name = node_name if node_name is not None else str(node_id)
        self.index = runtime.next_node_index()
        runtime.nodes.append(self)
        self.node_id = node_id if node_id is not None else f"local-{self.index:04d}-{self.node_name}"
        self.public_peer_id = _peer_token("Pub", self.index, self.node_name)
        self.private_peer_id = _peer_token("Prv", self.index, self.node_name)
        self.script = runtime.current_script
        self.run_hook = run_hook
        self.send_stats_every = float(send_stats_every)
        self.save_checkpoint_every = float(save_checkpoint_every)
        self.world_masters_node_ids = set(world_masters_node_ids or [])
        self.world_masters_node_names = set(world_masters_node_names or [])
        self.inbox: list[Msg] = []
        self.lost_peers: list[str] = []  # peers that dropped their connection to this node
        self.closed = False
        self.cycles = 0  # cycles run (step calls)
        self.max_cycles: int | None = None
        self.max_time: float | None = None
        self.run_started_at = clock.get_time()
        self.registered = False
        self.started = False
        self.join_world: str | None = None
        self.joined_world: LocalNode | None = None
        self.agents_expected_to_send_ack: dict[str, dict] = {}
        self.agents_to_interview: dict[str, tuple[float, NodeProfile | None]] = {}
        self.role_code = None  # (loader namespace) of the role's WAgent class, agents only
        self.last_stats_send_time = clock.get_time()
        self.last_stats_save_time = clock.get_time()
        Custom.SEND_STATS_EVERY = send_stats_every
        Custom.SAVE_CHECKPOINT_EVERY = save_checkpoint_every

        self.conn = LocalConn(
            self.router,
            self.node_id,
            self.public_peer_id,
            self.private_peer_id,
            is_world_node=self.node_type == self.WORLD,
        )
        self.profile = self._make_profile(hidden)
        self.router.register(self)
        if self.node_type == self.WORLD:
            self.router.members[self.private_peer_id] = {}
        identity_dir = str(runtime.out_dir / "nodes" / self.node_id)
        self.hosted.set_node_info(
            self.conn,
            self.profile,
            self.ask_to_get_in_touch,
            self.purge,
            identity_dir,
            self.agents_expected_to_send_ack,
        )
        #: The world's stats without unaiverse's per-value JSON walk (None: agents, or unaiverse's own path).
        self.fast_stats = fast_stats.install(hosted) if self.node_type == self.WORLD else None
        if self.node_type == self.AGENT:
            self.agent.behav_lone_wolf.update_wildcard(Custom.AGENT_WILDCARD, self.public_peer_id)
            self.agent.behav_lone_wolf.apply_wildcards()

    # --- identity ------------------------------------------------------------------------------
    def _make_profile(self, hidden: bool | None) -> NodeProfile:
        static = {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "node_name": self.node_name,
            "node_description": f"local node {self.node_name}",
            "created_utc": clock.get_time_as_string(),
            "nickname": "local",
            "max_nr_connections": 100000,
            "allowed_node_ids": None,
            "world_masters_node_ids": None,
            "certified": True,
            "inspector_node_id": "",
        }
        dynamic = {
            "peer_id": self.public_peer_id,
            "peer_addresses": [f"/local/p2p/{self.public_peer_id}"],
            "private_peer_id": self.private_peer_id,
            "private_peer_addresses": [f"/local/p2p/{self.private_peer_id}"],
            "is_relay": False,
            "proc_inputs": [],
            "proc_outputs": [],
            "streams": [],
            "connections": {"role": self.hosted.ROLE_BITS_TO_STR[self.hosted.ROLE_PUBLIC]},
            "world_summary": {"world_title": self.node_name if self.node_type == self.WORLD else None},
            "hidden": bool(hidden),
        }
        return NodeProfile(static=static, dynamic=dynamic, cv=[])

    def get_public_peer_id(self) -> str:
        return self.public_peer_id

    def get_world_peer_id(self) -> str:
        return self.private_peer_id

    def get_public_addresses(self) -> list[str]:
        return [f"/local/p2p/{self.public_peer_id}"]

    def get_world_addresses(self) -> list[str]:
        return [f"/local/p2p/{self.private_peer_id}"]

    # --- Node's run API ------------------------------------------------------------------------
    def run(
        self,
        keep_rejoining: bool = True,
        cycles: int | None = None,
        max_time: float | None = None,
        interact_mode: bool = False,
        resume_from_checkpoint: bool = False,
        join_world: str | list[str] | None = None,
        get_in_touch: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Registers the node with the scheduler (it does not block). ``join_world`` is joined at tick 0.

        ``cycles``/``max_time`` stop this node after that many of its cycles / simulated seconds (the world
        node's limit ends the run). ``resume_from_checkpoint`` resumes the whole run from its newest
        checkpoint (:mod:`wmverse.runtime.checkpointing`; "Starting fresh" is logged when there is none), and
        a node's ``save_checkpoint_every`` (seconds) makes the run checkpoint that often: in one process the
        run's checkpoint holds every node, so no node writes one of its own (unaiverse's per-agent pickle is
        never read: it could run code).
        """
        if isinstance(join_world, list):
            join_world = (
                self.router.peer_from_address(join_world)
                and self.router.by_peer[self.router.peer_from_address(join_world)].node_name
            )
        if get_in_touch is not None:
            log.error("get_in_touch (lone-wolf mode) is not supported by the local runtime: ignored")
        if cycles is not None and (isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1):
            raise ValueError(f"cycles must be a positive integer, got {cycles!r}")
        if max_time is not None and not (isinstance(max_time, int | float) and max_time > 0):
            raise ValueError(f"max_time must be a positive number of seconds, got {max_time!r}")
        self.max_cycles, self.max_time = cycles, (None if max_time is None else float(max_time))
        self.run_started_at = clock.get_time()
        if resume_from_checkpoint:
            self.runtime.resume_requested = True
        if self.save_checkpoint_every > 0:
            self.runtime.checkpoint_every_requested = self.save_checkpoint_every
        self.join_world = join_world
        self.runtime.register_run(self)

    def limit_reached(self) -> str | None:
        """'cycles' or 'max_time' once this node ran its ``run()`` limit (None: go on)."""
        if self.max_cycles is not None and self.cycles >= self.max_cycles:
            return "cycles"
        if self.max_time is not None and clock.get_time() - self.run_started_at >= self.max_time - 1e-9:
            return "max_time"
        return None

    async def run_async(self, *args: Any, **kwargs: Any) -> None:
        self.run(*args, **kwargs)

    async def aclose(self) -> None:
        self.closed = True

    # --- connections (hosted.node_ask_to_get_in_touch_fcn / node_purge_fcn) --------------------
    async def ask_to_get_in_touch(
        self,
        node_name: str | None = None,
        addresses: Any = None,
        node_id: str | None = None,
        public: bool = True,
        before_updating_pools_fcn: Any = None,
        run_count: int = 0,
    ) -> str | None:
        """Connects to a local peer; the handshake (PROFILE -> AGENT_APPROVAL) completes next cycles."""
        if node_name is not None:
            target = self.router.find_by_name(node_name)
            peer = None if target is None else (target.public_peer_id if public else target.private_peer_id)
        else:
            peer = self.router.peer_from_address(addresses)
        if peer is None:
            log.error(f"Addresses of {node_name or addresses} were not found, cannot connect!")
            return None
        target = self.router.by_peer[peer]
        if target is self:
            return None
        if public:
            log.error("Public (lone-wolf) connections are not supported by the local runtime")
            return None
        my_pool = self._pool_for(peer)
        self.conn.connect(peer, my_pool, outgoing=True)
        target.conn.connect(self.private_peer_id, target._pool_for(self.private_peer_id), outgoing=False)
        if peer not in self.agents_expected_to_send_ack:
            self.agents_expected_to_send_ack[peer] = {
                "ask_time": clock.get_time(),
                "peer_id": peer,
                "retried": False,
            }
        # Live, the callee asks for our profile and we send it: shortcut to the PROFILE message itself.
        self.router.deliver(self.conn.make_msg(peer, Msg.PROFILE, self.profile.get_all_profile()), peer)
        return peer

    def _pool_for(self, peer: str) -> str:
        if peer == self.conn.world_peer_id and not self.conn.is_world_node:
            return POOL_WORLD_NODE
        role = self.conn.get_role(peer)
        return POOL_WORLD_MASTERS if role & 3 == Agent.ROLE_WORLD_MASTER else POOL_WORLD_AGENTS

    async def purge(
        self, peer_id: str, keep_connection: bool = False, clear_agents_to_interview: bool = True
    ) -> None:
        await self.hosted.remove_agent(peer_id)
        if not keep_connection:
            await self.conn.remove(peer_id)
            other = self.router.by_peer.get(peer_id)
            if other is not None and other.conn.is_connected(self.private_peer_id):
                # The other side notices the lost connection at its next cycle (Node's connection handling)
                await other.conn.remove(self.private_peer_id)
                other.lost_peers.append(self.private_peer_id)
        self.agents_to_interview.pop(peer_id, None)
        self.agents_expected_to_send_ack.pop(peer_id, None)

    # --- one cycle -----------------------------------------------------------------------------
    async def step(self) -> None:
        """One cycle of Node.run_async's loop, on the current synthetic time (none once the node's ``run()``
        limit is reached: it stays connected but idle)."""
        if self.limit_reached() is not None:
            return
        self.cycles += 1
        if not self.started:
            self.started = True
            await self.hosted.subscribe_to_pubsub_owned_streams()
            if self.join_world is not None:
                await self._join(self.join_world)
        lost, self.lost_peers = self.lost_peers, []
        for peer in lost:
            await self.purge(peer, keep_connection=True)
        await self._handle_messages()
        await self.hosted.send_stream_samples()
        if self.node_type == self.AGENT:
            await self.agent.behave()
            if (
                self.agent.in_world()
                and clock.get_time() - self.last_stats_send_time >= self.send_stats_every
            ):
                self.last_stats_send_time = clock.get_time()
                await self.agent.send_stats_to_world()
        else:
            await self.world.on_tick()
            if getattr(self.world, "world_behaves", False):
                await self.world.behave()
            behav = getattr(self.world, "behav", None)
            if isinstance(behav, HybridStateMachine):
                await behav.act()
            if clock.get_time() - self.last_stats_save_time >= Custom.SAVE_STATS_EVERY:
                self.last_stats_save_time = clock.get_time()
                if self.world.stats is not None:
                    self.world.stats.save_to_disk()
        if self.run_hook is not None:
            self.run_hook(self)

    async def _dispatch(self, msg: Msg) -> None:
        """Handles one message; one from another process that cannot be handled (malformed content) is
        logged and its sender purged, never the end of this node (a local sender's stays an error)."""
        try:
            await dispatch(self, msg)
        except Exception as exc:  # noqa: BLE001 - content from another process is untrusted
            sender = self.router.by_peer.get(msg.sender)
            if sender is not None and not getattr(sender, "is_proxy", False):
                raise
            log.error(f"{self.node_name}: dropped a {msg.content_type} message from {msg.sender}: {exc!r}")
            if isinstance(msg.sender, str):
                await self.purge(msg.sender)

    async def _handle_messages(self) -> None:
        messages, self.inbox = self.inbox, []
        messages = sorted(messages, key=priority)  # stable: arrival order within a priority
        fast = self.fast_stats
        if fast is None:
            for msg in messages:
                await self._dispatch(msg)
            return
        # A world: a run of consecutive stats updates is one stats batch (see fast_stats.FastStats.batch)
        i, n = 0, len(messages)
        while i < n:
            if messages[i].content_type != Msg.STATS_UPDATE:
                await self._dispatch(messages[i])
                i += 1
                continue
            with fast.batch():
                while i < n and messages[i].content_type == Msg.STATS_UPDATE:
                    await self._dispatch(messages[i])
                    i += 1
