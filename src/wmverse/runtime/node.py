"""``LocalNode``: what ``unaiverse.networking.node.node.Node`` is while a world runs in process.

It accepts Node's constructor arguments (the network/key ones are ignored), gives the hosted Agent or
World a profile and a :class:`~wmverse.runtime.conn.LocalConn`, and ``run()``/``run_async()``
register it with the active :class:`~wmverse.runtime.scheduler.Scheduler` instead of blocking.
:meth:`LocalNode.step` is one cycle of ``Node.run_async``'s loop: join (first cycle), read and
dispatch messages, send stream samples, ``behave()``, periodic stats; worlds get ``on_tick()`` and,
when they have one, their own ``behav.act()``.
"""

from __future__ import annotations

import copy
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

from wmverse.runtime.conn import (
    POOL_WORLD_AGENTS,
    POOL_WORLD_MASTERS,
    POOL_WORLD_NODE,
    LocalConn,
)
from wmverse.runtime.messages import dispatch, priority

#: The runtime currently running scripts; LocalNode registers with it. Set by the runner.
_ACTIVE: Any = None


def set_active_runtime(runtime: Any) -> None:
    """Makes ``runtime`` the one new LocalNodes attach to (``None`` detaches)."""
    global _ACTIVE
    _ACTIVE = runtime


class JoinError(RuntimeError):
    """An agent could not join the world it asked for."""


def _peer_token(kind: str, index: int, name: str) -> str:
    """A deterministic, channel-safe peer id: letters and digits only (no ':' '/' '-')."""
    digest = hashlib.sha1(f"{kind}/{index}/{name}".encode()).hexdigest()[:10]
    clean = re.sub(r"[^A-Za-z0-9]", "", name)[:16] or "node"
    return f"Loc{kind}{index:04d}{clean}{digest}"


class LocalNode:
    """A unaiverse Node that lives in this process and steps on the synthetic clock."""

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
        self.registered = False
        self.started = False
        self.join_world: str | None = None
        self.joined_world: LocalNode | None = None
        self.agents_expected_to_send_ack: dict[str, dict] = {}
        self.agents_to_interview: dict[str, tuple[float, NodeProfile | None]] = {}
        self.role_code = None  # (loader namespace) of the role's WAgent class, agents only
        self.last_stats_send_time = clock.get_time()
        self.last_stats_save_time = clock.get_time()
        self.last_state_save_time = clock.get_time()
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
            self._purge,
            identity_dir,
            self.agents_expected_to_send_ack,
        )
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
        """Registers the node with the scheduler (it does not block). ``join_world`` is joined at tick 0."""
        if isinstance(join_world, list):
            join_world = (
                self.router.peer_from_address(join_world)
                and self.router.by_peer[self.router.peer_from_address(join_world)].node_name
            )
        if get_in_touch is not None:
            log.error("get_in_touch (lone-wolf mode) is not supported by the local runtime: ignored")
        if resume_from_checkpoint:
            if not self.hosted.load():
                log.user("No saved state found. Starting fresh.")
        self.join_world = join_world
        self.runtime.register_run(self)

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

    async def _purge(
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

    # --- joining a world -----------------------------------------------------------------------
    async def _join(self, world_name: str) -> None:
        """Joins ``world_name``: the world-side half runs where the world lives, then the agent side here.

        In process the world node is in this router; in a remote process (``runtime.join_service`` set)
        the request travels to the hub, which runs :meth:`accept_join` and answers with the same dict.
        """
        assert self.agent is not None
        log.user("Asking to join world...")
        request = self.join_request()
        service = getattr(self.runtime, "join_service", None)
        if service is not None:
            answer = await service.request_join(self, world_name, request)
        else:
            world_node = self.router.find_by_name(world_name)
            if world_node is None or world_node.node_type != self.WORLD or world_node.world is None:
                raise JoinError(
                    f"node {self.node_name!r} asked to join world {world_name!r}, but no world node "
                    f"with that name was started (known nodes: {sorted(self.router.by_name)})"
                )
            answer = await world_node.accept_join(request)
        await self.complete_join(answer)

    def join_request(self) -> dict[str, Any]:
        """What the world side needs to admit this agent (JSON-safe)."""
        return {
            "node_name": self.node_name,
            "node_id": self.node_id,
            "private_peer_id": self.private_peer_id,
            "profile": copy.deepcopy(self.profile.get_all_profile()),
        }

    async def accept_join(self, request: dict[str, Any]) -> dict[str, Any]:
        """World-side half of a join (this node hosts the world): role, membership, connection, add_agent.

        ``request`` is :meth:`join_request` of the joiner. Returns the JSON-safe answer the joiner's
        :meth:`complete_join` needs. Raises :class:`JoinError` when the world assigns no (or an unknown) role.
        """
        world = self.world
        assert world is not None, "accept_join runs on a world node"
        name, peer = request["node_name"], request["private_peer_id"]
        is_master = name in self.world_masters_node_names or request["node_id"] in self.world_masters_node_ids
        joiner_profile = NodeProfile.from_dict(copy.deepcopy(request["profile"]))
        role_str = world.assign_role(profile=joiner_profile, is_world_master=is_master)
        if role_str is None:
            raise JoinError(f"world {self.node_name!r} assigned no role to {name!r} (assign_role -> None)")
        if role_str not in world.ROLE_STR_TO_BITS:
            raise JoinError(
                f"world {self.node_name!r}.assign_role returned unknown role {role_str!r} "
                f"(known: {sorted(k for k in world.ROLE_STR_TO_BITS if '~' not in k)})"
            )
        role = world.ROLE_STR_TO_BITS[role_str] | (
            Agent.ROLE_WORLD_MASTER if is_master else Agent.ROLE_WORLD_AGENT
        )
        # As on the private net: membership, connection, the joiner's profile with its role, add_agent.
        self.router.members[self.private_peer_id][peer] = role
        self.conn.connect(peer, self._pool_for(peer), outgoing=False)
        joiner_profile.get_dynamic_profile()["connections"]["role"] = world.ROLE_BITS_TO_STR[role]
        for key in [k for k in joiner_profile.get_dynamic_profile() if k.startswith("tmp_")]:
            del joiner_profile.get_dynamic_profile()[key]
        if not await world.add_agent(peer_id=peer, profile=joiner_profile):
            self.router.members[self.private_peer_id].pop(peer, None)
            await self.conn.remove(peer)
            raise JoinError(f"world {self.node_name!r} refused {name!r} in add_agent")
        world.role_changed_by_world = False
        return {
            "world_name": self.node_name,
            "world_peer_id": self.private_peer_id,
            "world_profile": copy.deepcopy(self.profile.get_all_profile()),
            "role": role,
            "role_str": role_str,
            "world_folder": str(world.world_folder),
            "role_to_behav": dict(world.role_to_behav),
        }

    async def complete_join(self, answer: dict[str, Any]) -> None:
        """Agent-side half of a join: the world's node, its streams, the role's agent class and behaviour."""
        assert self.agent is not None
        world_name = answer["world_name"]
        world_node = self.router.by_peer[answer["world_peer_id"]]
        self.conn.set_world(world_node.private_peer_id)
        self.conn.connect(world_node.private_peer_id, POOL_WORLD_NODE, outgoing=True)
        world_profile = NodeProfile.from_dict(copy.deepcopy(answer["world_profile"]))
        dyn = world_profile.get_dynamic_profile()
        props = list(dyn.get("streams") or []) + list(dyn.get("proc_outputs") or [])
        knows_world = self.runtime.config.world_requests
        if not knows_world and not await self.agent.add_compatible_streams(
            world_node.private_peer_id, props, buffered=False, public=False
        ):
            raise JoinError(f"{self.node_name!r} could not attach to the streams of world {world_name!r}")
        self.joined_world = world_node
        self._become_role(answer["role"], world_node, world_profile, changing=False)
        self.profile.get_dynamic_profile()["connections"]["world_peer_id"] = world_node.private_peer_id
        self.profile.mark_change_in_connections()
        if knows_world:
            # The world becomes a known peer (as a world master) so that its requests are served and answered.
            known = NodeProfile.from_dict(copy.deepcopy(answer["world_profile"]))
            if not await self.agent.add_agent(peer_id=world_node.private_peer_id, profile=known):
                raise JoinError(f"{self.node_name!r} could not attach to the streams of world {world_name!r}")
        log.user("Handshake completed, world joined!")

    def _become_role(
        self, role: int, world_node: LocalNode, world_profile: NodeProfile | None, changing: bool
    ) -> None:
        """Node.__replace_agent_instance_by_role: the agent becomes its role's WAgent (real source file)."""
        assert self.agent is not None
        world = world_node.world
        world_roles = list(world.role_to_behav.keys())
        bits_to_str, str_to_bits = Agent.build_augmented_roles_dictionaries(world_roles)
        base_role = bits_to_str[(role >> 2) << 2]
        stats_class = self.runtime.role_code.stats_class(world.world_folder, self)
        old = self.agent
        if old.__class__.__name__ != "WAgent" or changing:
            new = self.runtime.role_code.new_agent(world.world_folder, base_role, self)
        else:
            new = old
        new.CUSTOM_ROLES.clear()
        new.CUSTOM_ROLES.extend(world_roles)
        new.augment_roles(bits_to_str, str_to_bits)
        if new is not old:
            for key, value in old.__dict__.items():
                if hasattr(new, key):
                    if key == "stats" and stats_class is not None:
                        new.stats = stats_class(is_world=False)
                    else:
                        setattr(new, key, value)
            new.im.agent = new
            if new.proc is not None:
                new.proc.agent = new
            new.behav.set_actionable(new)
            new.behav_lone_wolf.set_actionable(new)
            new.set_policy_filter(old.policy_filter, public=False)
            new.set_policy_filter(old.policy_filter_lone_wolf, public=True)
        elif stats_class is not None:
            new.stats = stats_class(is_world=False)
        self.agent = new
        self.hosted = new
        if world_profile is None:
            world_profile = new.world_profile
        new.world_profile = world_profile
        new.world_role_fsms = dict(world.role_to_behav)
        new.accept_new_role(role)
        new.behav.update_wildcard(Custom.AGENT_WILDCARD, self.private_peer_id)
        new.behav.update_wildcard(Custom.WORLD_WILDCARD, world_node.private_peer_id)
        new.behav.add_wildcards(old.behav_wildcards)
        new.behav.apply_wildcards()

    # --- one cycle -----------------------------------------------------------------------------
    async def step(self) -> None:
        """One cycle of Node.run_async's loop, on the current synthetic time."""
        if not self.started:
            self.started = True
            await self.hosted.subscribe_to_pubsub_owned_streams()
            if self.join_world is not None:
                await self._join(self.join_world)
        lost, self.lost_peers = self.lost_peers, []
        for peer in lost:
            await self._purge(peer, keep_connection=True)
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
        if (
            self.save_checkpoint_every > 0
            and clock.get_time() - self.last_state_save_time >= self.save_checkpoint_every
        ):
            self.last_state_save_time = clock.get_time()
            self.hosted.save()
        if self.run_hook is not None:
            self.run_hook(self)

    async def _handle_messages(self) -> None:
        messages, self.inbox = self.inbox, []
        messages = sorted(messages, key=priority)  # stable: arrival order within a priority
        for msg in messages:
            await dispatch(self, msg)
