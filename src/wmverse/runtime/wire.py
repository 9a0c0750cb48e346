"""What the processes of one run say to each other, and the stand-ins of other processes' nodes.

Messages (:mod:`wmverse.runtime.channels`) are JSON headers with a ``type`` plus blobs; unaiverse messages
travel as blobs holding ``Msg.to_bytes()``.

Operations (``ops``) carry what one process does to another process's node, in send order:

- ``["msg", to_peer, blob]``: deliver a ``Msg`` to the node owning ``to_peer``;
- ``["connect", target_peer, peer, outgoing]``: the target node gets a connection with ``peer``;
- ``["drop", target_peer, peer]``: the target node loses its connection with ``peer`` (a lost peer);
- ``["sub", channel, peer, subscribed]``: ``peer`` (un)subscribed to a pub/sub channel (replicated).

A :class:`RemoteNode` stands in a process's :class:`~wmverse.runtime.conn.Router` for a node living in
another process: delivering to it, connecting to it or dropping it queues an operation on its link.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from wmverse.runtime.channels import ProtocolError

#: Version of the protocol; a hub refuses a remote speaking another one.
PROTOCOL = 2


class OpQueue:
    """Operations waiting to be sent on one link, with the blobs they point to."""

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.blobs: list[bytes] = []
        self.nbytes = 0  # bytes of the queued blobs

    def msg(self, to_peer: str, payload: bytes) -> None:
        self.ops.append(["msg", to_peer, len(self.blobs)])
        self.blobs.append(payload)
        self.nbytes += len(payload)

    def add(self, op: list[Any], blobs: list[bytes]) -> None:
        """Copies an op received elsewhere (its blob index is rebased onto this queue)."""
        if op[0] == "msg":
            self.msg(op[1], blobs[op[2]])
        else:
            self.ops.append(list(op))

    def take(self) -> tuple[list[list[Any]], list[bytes]]:
        """Returns and clears the queued ops and blobs."""
        ops, blobs = self.ops, self.blobs
        self.ops, self.blobs, self.nbytes = [], [], 0
        return ops, blobs


def op_target(op: list[Any]) -> str | None:
    """The peer whose owner must apply ``op`` (None for replicated ``sub`` ops)."""
    return None if op[0] == "sub" else op[1]


class _ProxyConn:
    """The part of ``LocalConn`` other nodes touch on a peer: connecting and dropping queue ops."""

    def __init__(self, node: RemoteNode) -> None:
        self._node = node

    def connect(self, peer_id: str, pool: str | None, outgoing: bool) -> None:
        self._node.queue().ops.append(["connect", self._node.private_peer_id, peer_id, bool(outgoing)])

    def is_connected(self, peer_id: str, pool_name: Any = None) -> bool:
        return True  # only the owner knows: a drop op is harmless when not connected

    async def remove(self, peer_id: str) -> bool:
        self._node.queue().ops.append(["drop", self._node.private_peer_id, peer_id])
        return True


class _Discard(list):
    """A list that forgets what is appended (the owner records lost peers when it applies ``drop``)."""

    def append(self, item: Any) -> None:
        return None


class RemoteNode:
    """A node of another process, as this process's router sees it.

    Contract: ``forward(msg, to_peer)`` queues ``msg`` for its owner; ``conn.connect``/``conn.remove``
    queue ``connect``/``drop`` ops; ``world`` is filled in on the agent side of a join (role files and
    folder of the world). ``queue`` returns the link's :class:`OpQueue` (a callable so links can change).
    """

    AGENT = "agent"
    WORLD = "world"
    is_proxy = True

    def __init__(self, entry: dict[str, Any], queue: Callable[[], OpQueue]) -> None:
        self.entry = dict(entry)
        self.node_name: str = entry["name"]
        self.node_id: str = entry["node_id"]
        self.public_peer_id: str = entry["pub"]
        self.private_peer_id: str = entry["prv"]
        self.node_type: str = entry["type"]
        self.rank: int = int(entry["rank"])
        self.queue = queue
        self.closed = False
        self.conn = _ProxyConn(self)
        self.lost_peers: list[str] = _Discard()
        self.world: SimpleNamespace | None = None
        self.world_masters_node_names: set[str] = set()
        self.world_masters_node_ids: set[str] = set()

    def forward(self, msg: Any, to_peer: str) -> None:
        self.queue().msg(to_peer, msg.to_bytes())

    def _pool_for(self, peer: str) -> None:
        return None  # the owner chooses the pool when it applies the connect op

    def __repr__(self) -> str:
        return f"RemoteNode({self.node_name!r}, rank={self.rank})"


def node_entry(node: Any, rank: int) -> dict[str, Any]:
    """The directory entry of a local node (what other processes build their RemoteNode from)."""
    return {
        "name": node.node_name,
        "node_id": node.node_id,
        "pub": node.public_peer_id,
        "prv": node.private_peer_id,
        "type": node.node_type,
        "rank": rank,
    }


def set_subscription(router: Any, channel: str, peer: str, subscribed: bool) -> None:
    """Applies a replicated (un)subscription without telling the router's listener again."""
    subs = router.subscribers.setdefault(channel, [])
    if subscribed and peer not in subs:
        subs.append(peer)
    elif not subscribed and peer in subs:
        subs.remove(peer)


async def apply_op(
    router: Any, op: list[Any], blobs: list[bytes], decoded: dict[int, Any] | None = None
) -> bool:
    """Applies an op whose target lives in this process; False when the target is unknown or closed.
    ``decoded``: messages already decoded from ``blobs`` (by blob index), delivered without decoding again."""
    from unaiverse.networking.p2p.messages import Msg

    kind = op[0]
    if kind == "sub":
        set_subscription(router, op[1], op[2], bool(op[3]))
        return True
    node = router.by_peer.get(op[1])
    if node is None or getattr(node, "is_proxy", False) or node.closed:
        return False
    if kind == "msg":
        if decoded and op[2] in decoded:
            node.inbox.append(decoded[op[2]])
            return True
        try:
            node.inbox.append(Msg.from_bytes(blobs[op[2]]))
        except Exception as exc:  # noqa: BLE001 - whatever protobuf raises on garbage
            raise ProtocolError(f"a msg op carries no unaiverse message ({type(exc).__name__})") from None
    elif kind == "connect":
        node.conn.connect(op[2], node._pool_for(op[2]), outgoing=bool(op[3]))
    elif kind == "drop":
        await lose_peer(node, op[2])
    else:
        raise ProtocolError(f"unknown op {kind!r}")
    return True


async def lose_peer(node: Any, peer: str) -> None:
    """``node`` notices that ``peer`` is gone: the connection goes now, the purge at its next cycle."""
    if node.conn.is_connected(peer):
        await node.conn.remove(peer)
        node.lost_peers.append(peer)


async def forget_remote_node(router: Any, proxy: RemoteNode) -> None:
    """A node of another process left: every local node connected to it loses it; the router forgets it."""
    proxy.closed = True
    for node in {id(n): n for n in router.by_peer.values()}.values():
        if getattr(node, "is_proxy", False):
            continue
        for peer in (proxy.private_peer_id, proxy.public_peer_id):
            await lose_peer(node, peer)
    router.unregister(proxy)


def derive_seed(seed: int, rank: int) -> int:
    """The seed of the process of rank ``rank`` (0: the world's process keeps ``seed``)."""
    return seed if rank == 0 else (seed * 1_000_003 + rank * 7919) % (2**31 - 1)


class RemoteLink:
    """One remote process: its channel, nodes, pending joins and outgoing operations."""

    def __init__(self, rank: int, scripts: list[str], channel: Any) -> None:
        self.rank = rank
        self.scripts = scripts
        self.channel = channel
        self.peer: str = channel.peer
        self.entries: list[dict[str, Any]] = []
        self.joins: list[dict[str, Any]] = []  # requests not yet answered
        self.answers: dict[str, dict[str, Any]] = {}  # answers not yet sent
        self.queue = OpQueue()
        self.sent_nodes = ""
        self.sent_members = ""
        self.delivered = 0
        self.active = False

    @property
    def owned(self) -> set[str]:
        """The peer ids of this remote's nodes (what it may speak for)."""
        return {e[k] for e in self.entries for k in ("pub", "prv")}

    @property
    def names(self) -> set[str]:
        return {e["name"] for e in self.entries}

    @property
    def label(self) -> str:
        names = ", ".join(e["name"] for e in self.entries)
        return f"{'+'.join(self.scripts) or 'remote'} ({names or 'no nodes'}) from {self.peer}"

    def close(self) -> None:
        self.channel.close()
