"""Joining a world: the world-side and agent-side halves of a join, and an agent becoming its role's class.

:class:`WorldJoining` is mixed into :class:`~wmverse.runtime.node.LocalNode`. An agent's node joins at its
first cycle: it sends :meth:`WorldJoining.join_request` to the world's node (in this process, or through
the hub when ``runtime.join_service`` is set), which answers with :meth:`WorldJoining.accept_join`; the
agent then runs :meth:`WorldJoining.complete_join` and :meth:`WorldJoining.become_role`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from unaiverse.agent import Agent
from unaiverse.custom import Custom
from unaiverse.networking.node.profile import NodeProfile
from unaiverse.utils.logger import log
from unaiverse.world import World

from wmverse.runtime.conn import POOL_WORLD_NODE, LocalConn, Router


class JoinError(RuntimeError):
    """An agent could not join the world it asked for."""


class WorldJoining:
    """The join logic of a local node. The node class provides the attributes annotated here and ``_pool_for``.

    A world node in the router may be a node of another process (``wire.RemoteNode``, whose ``world``
    holds only ``role_to_behav`` and ``world_folder``): :meth:`become_role` reads only those two.
    """

    AGENT: str
    WORLD: str
    runtime: Any
    router: Router
    conn: LocalConn
    profile: NodeProfile
    hosted: Agent | World
    agent: Agent | None
    world: World | None
    node_type: str
    node_name: str
    node_id: str
    private_peer_id: str
    world_masters_node_ids: set[str]
    world_masters_node_names: set[str]
    joined_world: Any

    if TYPE_CHECKING:  # pragma: no cover

        def _pool_for(self, peer: str) -> str: ...

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
        recorder = getattr(self.runtime, "recorder", None)
        if recorder is not None:
            recorder.add_node(name, role_str, peer)
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
        self.become_role(answer["role"], world_node, world_profile, changing=False)
        self.profile.get_dynamic_profile()["connections"]["world_peer_id"] = world_node.private_peer_id
        self.profile.mark_change_in_connections()
        if knows_world:
            # The world becomes a known peer (as a world master) so that its requests are served and answered.
            known = NodeProfile.from_dict(copy.deepcopy(answer["world_profile"]))
            if not await self.agent.add_agent(peer_id=world_node.private_peer_id, profile=known):
                raise JoinError(f"{self.node_name!r} could not attach to the streams of world {world_name!r}")
        log.user("Handshake completed, world joined!")

    def become_role(
        self, role: int, world_node: Any, world_profile: NodeProfile | None, changing: bool
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
