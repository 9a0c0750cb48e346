"""The in-process network: a router between local nodes and the ``node_conn`` each hosted entity uses.

unaiverse's built-in actions (``send``, ``engage``, ``connect_by_role``, stats, badges, streams...) talk
to the network only through ``self.node_conn``, a ``NodeConn``. :class:`LocalConn` implements the
methods they call, with the same signatures and return conventions, on top of :class:`Router`, which
hands unaiverse ``Msg`` objects from one node's outbox to another node's inbox. Messages are encoded
and decoded with ``Msg.to_bytes``/``Msg.from_bytes`` (as on the wire) unless ``wire=False``.
"""

from __future__ import annotations

from typing import Any, Protocol

from unaiverse.networking.p2p.messages import Msg
from unaiverse.utils.logger import log

#: Address scheme of local peers; ``find_addrs_by_role`` and ``get_addrs`` return ``[ADDR_PREFIX + peer]``.
ADDR_PREFIX = "/local/p2p/"

#: Pool names a peer can sit in, from this node's point of view (as in NodeConn: in/out x kind).
POOL_WORLD_NODE = "world_node"
POOL_WORLD_AGENTS = "world_agents"
POOL_WORLD_MASTERS = "world_masters"
POOL_PUBLIC = "public"


class RoutedNode(Protocol):
    """A node the router knows: a ``LocalNode`` of this process, or a node of another process
    (``wire.RemoteNode``, which has ``is_proxy = True`` and ``forward(msg, to_peer)`` instead of an inbox)."""

    node_name: str
    node_id: str
    node_type: str
    public_peer_id: str
    private_peer_id: str
    closed: bool
    conn: Any


class Router:
    """Delivers messages between the nodes of one run, in a deterministic order.

    Contract: ``deliver`` appends to the recipient's inbox (processed when the recipient is next
    stepped); ``publish`` delivers to every subscriber of the channel except the publisher, in
    subscription order. Peers are looked up by public or private peer id, nodes by name.

    Between :meth:`hold` and :meth:`release` (the agents' phase of a tick) messages to agents of this
    process are kept aside and reach their inboxes at :meth:`release`, in delivery order: an agent handles
    what another agent sent during a tick at the next tick, whichever of the two stepped first. That is
    also when a message between two agent processes arrives (the hub routes it with the next tick), so
    message timing depends neither on the order the agents step in nor on which agents share a process.
    """

    def __init__(self, wire: bool = True) -> None:
        self.wire = wire
        self.by_peer: dict[str, RoutedNode] = {}
        self.by_name: dict[str, RoutedNode] = {}
        self.subscribers: dict[str, list[str]] = {}  # channel -> subscriber peer ids (ordered)
        self.members: dict[
            str, dict[str, int]
        ] = {}  # world private peer id -> member private peer id -> role
        self.delivered = 0
        self.held: list[tuple[Any, Msg]] | None = None  # (agent, message) kept aside until release()
        #: Told of every (un)subscription as ``listener(channel, peer, subscribed)``: the process transport
        #: replicates subscriptions to the other processes of a run. None in a one-process run.
        self.listener: Any = None

    # --- registry ----------------------------------------------------------------------------
    def register(self, node: RoutedNode) -> None:
        """Adds a node under both its peer ids and its name (names must be unique in a run)."""
        if node.node_name in self.by_name:
            raise ValueError(f"two nodes are named {node.node_name!r}: node names must be unique")
        self.by_name[node.node_name] = node
        self.by_peer[node.public_peer_id] = node
        self.by_peer[node.private_peer_id] = node

    def unregister(self, node: Any) -> None:
        """Forgets a node (a remote node that left): its names, peer ids, memberships and subscriptions."""
        for key in (node.public_peer_id, node.private_peer_id):
            if self.by_peer.get(key) is node:
                del self.by_peer[key]
            for subs in self.subscribers.values():
                if key in subs:
                    subs.remove(key)
        if self.by_name.get(node.node_name) is node:
            del self.by_name[node.node_name]
        for members in self.members.values():
            members.pop(node.private_peer_id, None)

    def find_by_name(self, name: str) -> RoutedNode | None:
        """Finds a node by ``name`` or ``owner/name`` (the owner part is ignored locally)."""
        if name in self.by_name:
            return self.by_name[name]
        tail = name.split("/")[-1]
        return self.by_name.get(tail)

    def peer_from_address(self, address: str | list[str] | None) -> str | None:
        """Returns the peer id a local address (or the first of a list) points to, if it exists."""
        if isinstance(address, list | tuple):
            address = address[0] if len(address) > 0 else None
        if not isinstance(address, str) or not address.startswith(ADDR_PREFIX):
            return None
        peer = address[len(ADDR_PREFIX) :]
        return peer if peer in self.by_peer else None

    # --- delivery ----------------------------------------------------------------------------
    def _copy(self, msg: Msg) -> Msg:
        if not self.wire:
            return msg
        return Msg.from_bytes(msg.to_bytes())

    def deliver(self, msg: Msg, to_peer: str) -> bool:
        node = self.by_peer.get(to_peer)
        if node is None or node.closed:
            return False
        if getattr(node, "is_proxy", False):
            node.forward(msg, to_peer)  # a node of another process: encoded once, sent over the socket
        elif self.held is not None and node.node_type == node.AGENT:
            self.held.append((node, self._copy(msg)))
        else:
            node.inbox.append(self._copy(msg))
        self.delivered += 1
        return True

    def hold(self) -> None:
        """From now on, messages to this process's agents wait for :meth:`release`."""
        self.held = []

    def release(self) -> None:
        """Hands the messages kept since :meth:`hold` to their agents' inboxes (those still here)."""
        held, self.held = self.held, None
        for node, msg in held or ():
            if not node.closed:
                node.inbox.append(msg)

    def publish(self, msg: Msg, channel: str, from_peer: str) -> bool:
        publisher = self.by_peer.get(from_peer)
        reached: set[int] = set()
        for peer in self.subscribers.get(channel, []):
            node = self.by_peer.get(peer)
            if node is None or node is publisher or id(node) in reached:
                continue
            reached.add(id(node))
            self.deliver(msg, peer)
        return True

    def subscribe(self, channel: str, peer: str) -> None:
        subs = self.subscribers.setdefault(channel, [])
        if peer not in subs:
            subs.append(peer)
            if self.listener is not None:
                self.listener(channel, peer, True)

    def unsubscribe(self, channel: str, peer: str) -> None:
        subs = self.subscribers.get(channel, [])
        if peer in subs:
            subs.remove(peer)
            if self.listener is not None:
                self.listener(channel, peer, False)


class _P2PView:
    """What agents read through ``node_conn['p2p_world']`` / ``node_conn['p2p_public']``."""

    def __init__(self, conn: LocalConn, private: bool) -> None:
        self._conn = conn
        self._private = private
        self.peer_id = conn.private_peer_id if private else conn.public_peer_id
        self.addresses = [ADDR_PREFIX + self.peer_id]
        self.is_public = True
        self.relay_is_enabled = False

    def get_connected_peers_info(self) -> list[dict[str, Any]]:
        return [
            {"id": p, "addrs": [ADDR_PREFIX + p]}
            for p, pool in self._conn.connected.items()
            if (pool != POOL_PUBLIC) == self._private
        ]


class LocalConn:
    """The ``node_conn`` of one local node: roles, connections and messaging, backed by a Router.

    Peers are identified by private (world) peer ids inside a world. ``get_role`` of a world member
    is its role in the world's membership table (what the rendezvous tells live agents).
    """

    P2P_PUBLIC = "p2p_public"
    P2P_WORLD = "p2p_world"

    def __init__(
        self, router: Router, node_id: str, public_peer_id: str, private_peer_id: str, is_world_node: bool
    ) -> None:
        self.router = router
        self.node_id = node_id
        self.public_peer_id = public_peer_id
        self.private_peer_id = private_peer_id
        self.is_world_node = is_world_node
        self.connected: dict[str, str] = {}  # peer -> pool
        self.outgoing: set[str] = set()
        self.world_peer_id: str | None = private_peer_id if is_world_node else None
        self.rendezvous_tag = -1
        #: Called as ``on_role(peer_id, role)`` when a member's role changes (the run's recorder sets it).
        self.on_role: Any = None
        self.world_node_role = (
            3  # how an agent sees its world's node: a world master (AgentBasics.ROLE_WORLD_MASTER)
        )
        self._views = {
            self.P2P_PUBLIC: _P2PView(self, private=False),
            self.P2P_WORLD: _P2PView(self, private=True),
        }
        self.p2p_public = self._views[self.P2P_PUBLIC]
        self.p2p_world = self._views[self.P2P_WORLD]

    def __getitem__(self, p2p_name: str) -> _P2PView:
        return self._views[p2p_name]

    # --- world membership ----------------------------------------------------------------------
    def _members(self) -> dict[str, int]:
        if self.world_peer_id is None:
            return {}
        return self.router.members.get(self.world_peer_id, {})

    def set_world(self, world_peer_id: str | None) -> None:
        self.world_peer_id = world_peer_id

    def get_world_node_peer_id(self) -> str | None:
        return None if self.is_world_node else self.world_peer_id

    def reset_rendezvous_tag(self) -> None:
        self.rendezvous_tag = -1

    # --- roles ---------------------------------------------------------------------------------
    def get_role(self, peer_id: str) -> int:
        if peer_id == self.world_peer_id and not self.is_world_node:
            return self.world_node_role
        return self._members().get(peer_id, 0)

    def set_role(self, peer_id: str, new_role: int) -> None:
        members = self._members()
        if peer_id in members:
            members[peer_id] = new_role
            if self.on_role is not None:
                self.on_role(peer_id, new_role)

    def find_addrs_by_role(
        self, role: int, return_peer_ids_too: bool = False, discard_yourself: bool = False
    ) -> list | tuple[list, list]:
        peers = [
            p
            for p, r in self._members().items()
            if r == role and not (discard_yourself and p == self.private_peer_id)
        ]
        addrs = [[ADDR_PREFIX + p] for p in peers]
        return (addrs, peers) if return_peer_ids_too else addrs

    def count_by_role(self, role: int) -> int:
        return sum(1 for r in self._members().values() if r == role)

    def get_addrs(self, peer_id: str) -> list[str] | None:
        return [ADDR_PREFIX + peer_id] if peer_id in self.router.by_peer else None

    def get_last_token(self, peer_id: str) -> str | None:
        node = self.router.by_peer.get(peer_id)
        return None if node is None else f"local-token-{node.node_id}"

    # --- connections ---------------------------------------------------------------------------
    def connect(self, peer_id: str, pool: str, outgoing: bool) -> None:
        self.connected[peer_id] = pool
        if outgoing:
            self.outgoing.add(peer_id)

    async def remove(self, peer_id: str) -> bool:
        self.connected.pop(peer_id, None)
        self.outgoing.discard(peer_id)
        return True

    def is_connected(self, peer_id: str, pool_name: str | list[str] | None = None) -> bool:
        return peer_id in self.connected

    def is_public(self, peer_id: str) -> bool:
        return self.connected.get(peer_id) == POOL_PUBLIC

    def is_world_node(self, peer_id: str) -> bool:
        return self.connected.get(peer_id) == POOL_WORLD_NODE

    def is_world_master(self, peer_id: str) -> bool:
        return self.connected.get(peer_id) == POOL_WORLD_MASTERS

    def is_in_world(self, peer_id: str) -> bool:
        return peer_id in self._members() or peer_id == self.world_peer_id

    def get_all_connected_peer_ids(self) -> list[str]:
        return list(self.connected)

    def get_all_connected_peer_infos(self, pool_names: Any = None) -> list[dict]:
        return [{"id": p, "addrs": [ADDR_PREFIX + p], "role": self.get_role(p)} for p in self.connected]

    # --- messaging -----------------------------------------------------------------------------
    def _my_peer_for(self, peer_id: str) -> str:
        return self.public_peer_id if self.is_public(peer_id) else self.private_peer_id

    def make_msg(
        self,
        to_peer: str,
        content_type: str,
        content: Any,
        channel_trail: str | None = None,
        channel: str | None = None,
    ) -> Msg:
        """Builds a Msg as NodeConn would (same channel naming; piggyback = sender node id + '0')."""
        from unaiverse.clock import clock

        sender = self._my_peer_for(to_peer)
        if channel is None:
            channel = f"{sender}::dm:{to_peer}-{content_type}"
            if channel_trail:
                channel += f"~{channel_trail}"
        return Msg(
            sender=sender,
            content_type=content_type,
            content=content,
            channel=channel,
            timestamp_net=clock.get_time_as_string(),
            piggyback=self.node_id + "0",
        )

    async def send(
        self, peer_id: str, channel_trail: str | None, content_type: str, content: Any = None, p2p: Any = None
    ) -> bool:
        if peer_id not in self.connected:
            log.error("P2P non found for peer id: " + str(peer_id))
            return False
        return self.router.deliver(self.make_msg(peer_id, content_type, content, channel_trail), peer_id)

    async def publish(self, peer_id: str, channel: str, content_type: str, content: Any = None) -> bool:
        from unaiverse.clock import clock

        msg = Msg(
            sender=self.private_peer_id if peer_id != self.public_peer_id else self.public_peer_id,
            content_type=content_type,
            content=content,
            channel=channel,
            timestamp_net=clock.get_time_as_string(),
            piggyback=self.node_id + "0",
        )
        return self.router.publish(msg, channel, from_peer=msg.sender)

    async def subscribe(self, peer_id: str, channel: str, default_p2p_name: str | None = None) -> bool:
        self.router.subscribe(channel, self.private_peer_id)
        return True

    async def unsubscribe(self, peer_id: str, channel: str, default_p2p_name: str | None = None) -> bool:
        for mine in (self.public_peer_id, self.private_peer_id):
            self.router.unsubscribe(channel, mine)
        return True

    async def update(self) -> tuple[dict, dict]:
        return {}, {}

    def __str__(self) -> str:
        return f"LocalConn({self.private_peer_id}, connected={sorted(self.connected)})"
