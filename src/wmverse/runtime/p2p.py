"""The network transport of served worlds: unaiverse's libp2p node (Go libp2p behind ctypes), adapted.

One :class:`P2PEndpoint` per process. Its peer id (``12D3KooW...``) comes from an Ed25519 key kept in
``identity_dir`` (the same folder gives the same id; nobody else can present it), and libp2p authenticates
and encrypts every connection: the peer a message is attributed to is the one that sent it, never a field
the sender writes. The endpoint is isolated (no DHT, relay, WebRTC or reachability probing: it starts in
about 0.15 s, offline) and listens on ``host:port`` over TCP.

Every message travels as one direct libp2p message on the channel ``ME::dm:PEER-wmv``. unaiverse's
receive queue keeps at most 50 messages per channel and silently drops the rest, so sending is
flow-controlled: at most :data:`WINDOW` unacknowledged messages per peer; the receiver acknowledges every
:data:`ACK_EVERY` messages it has taken off the queue. A sender whose window stays full for
``ack_timeout_s`` gets :class:`~wmverse.runtime.channels.ChannelClosed`. A peer that ignores this and has
more than :data:`MAX_BACKLOG` messages (or two messages of the largest size) received here and not yet
read floods: they are forgotten, the next read of its channel raises ``ProtocolError``, and what it sends
next is dropped.

Contract: :meth:`P2PEndpoint.channel` is the :class:`P2PChannel` of one peer (made on first use);
messages from peers without a channel go to ``on_new_peer`` (the hub's admission) while fewer than
``max_pending`` new peers wait, else they are dropped; :meth:`P2PEndpoint.ban` disconnects a peer and
ignores it for the rest of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wmverse.runtime.channels import (
    Channel,
    ChannelClosed,
    Limits,
    PeerUnreachable,
    ProtocolError,
    decode_message,
)

#: Content type of this project's direct channels.
CONTENT_TYPE = "wmv"
#: Unacknowledged messages a sender may have in flight to one peer (unaiverse's queue holds 50).
WINDOW = 32
#: The receiver acknowledges every this many messages.
ACK_EVERY = 8
#: Most messages a peer may have received here and not yet read (a remote sends one answer per tick, and
#: ``busy`` while the hub waits for it); past this, or past two messages of the largest size, it floods.
MAX_BACKLOG = 256
#: Seconds after the last message sent or received during which the endpoint polls without pausing.
HOT_S = 0.005
_DATA = b"D"
_ACK = b"A"


#: A libp2p peer id as text: base58, 32-128 characters (``12D3KooW...``).
PEER_ID = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,128}", re.ASCII)


def check_peer_id(peer_id: object) -> str:
    """A peer id typed by a user (``--allow``); ValueError naming the expected form otherwise."""
    if not isinstance(peer_id, str) or not PEER_ID.fullmatch(peer_id):
        raise ValueError(
            f"invalid peer id {repr(peer_id)[:80]}: expected base58, 32-128 characters (12D3KooW...)"
        )
    return peer_id


class P2PUnavailable(RuntimeError):
    """unaiverse's libp2p library could not start here."""


def _setup_library() -> Any:
    try:
        from unaiverse.networking.p2p.p2p import P2P
    except Exception as exc:  # noqa: BLE001 - the Go library may not load on this platform
        raise P2PUnavailable(f"unaiverse's libp2p library does not load here: {exc}") from exc
    if not P2P._library_initialized:
        import logging

        P2P.setup_library(enable_logging=False)
        logging.getLogger("unaiverse.networking.p2p.p2p").setLevel(logging.CRITICAL)
    no_vfork()
    return P2P


def no_vfork() -> None:
    """Starts this process's later child processes with fork+exec, never vfork (``subprocess`` and
    ``multiprocessing``'s spawn both read ``subprocess._USE_VFORK``). Once the Go runtime of the libp2p
    library runs here, its threads go on (and signal each other for preemption) while a vforked child still
    shares this process's memory: a child started from any thread then failed now and then with
    ``OSError: [Errno 14] Bad address`` (seen in CI)."""
    import subprocess

    if hasattr(subprocess, "_USE_VFORK"):
        subprocess._USE_VFORK = False


def peer_of(multiaddr: str) -> str:
    """The peer id at the end of ``/.../p2p/PEER``; ValueError when there is none."""
    head, sep, peer = multiaddr.rpartition("/p2p/")
    if not sep or not peer or "/" in peer:
        raise ValueError(f"{multiaddr!r} has no /p2p/PEER_ID part")
    return peer


class P2PChannel(Channel):
    """The channel to one libp2p peer (see the module doc for flow control)."""

    def __init__(self, endpoint: P2PEndpoint, peer: str) -> None:
        super().__init__(peer, endpoint.limits)
        self.endpoint = endpoint
        self.sent = 0
        self.acked = 0
        self.received = 0
        self.flooded = False  # it sent more than MAX_BACKLOG unread: ignored until the hub drops it
        self._room = asyncio.Event()

    def _on_ack(self, count: int) -> None:
        if self.acked < count <= self.sent:
            self.acked = count
            self._room.set()

    async def write(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        payload = self.outgoing(header, blobs)
        give_up = time.monotonic() + self.endpoint.ack_timeout_s
        while self.sent - self.acked >= WINDOW:
            self._room.clear()
            left = give_up - time.monotonic()
            if left <= 0 or self.closed:
                raise ChannelClosed(
                    f"{self.peer} stopped acknowledging messages ({self.sent - self.acked} in flight)"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), left)
        self.sent += 1
        await self.endpoint.send_raw(self.peer, _DATA + payload)

    def close(self) -> None:
        super().close()
        self._room.set()
        self.endpoint.forget(self)


class P2PEndpoint:
    """This process's libp2p node, with a channel per peer (see the module doc)."""

    def __init__(
        self,
        identity_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
        *,
        max_pending: int = 64,
        ack_timeout_s: float = 60.0,
    ) -> None:
        self.identity_dir = Path(identity_dir)
        self.host = host
        self.port = port
        self.limits = limits or Limits()
        self.max_pending = max_pending
        self.ack_timeout_s = ack_timeout_s
        self.on_new_peer: Callable[[P2PChannel], None] | None = None
        self.channels: dict[str, P2PChannel] = {}
        self.banned: set[str] = set()
        self.pending: set[str] = set()  # new peers not yet admitted (the hub clears them)
        self.dropped = 0  # messages ignored: banned peers, full admission queue, garbage
        self._node: Any = None
        self._task: asyncio.Task | None = None
        self._sender = ThreadPoolExecutor(max_workers=8, thread_name_prefix="p2p-send")
        self._send_locks: dict[str, asyncio.Lock] = {}
        self._hot_until = 0.0

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> P2PEndpoint:
        """Starts the libp2p node (no event loop needed); raises P2PUnavailable or OSError."""
        p2p_cls = _setup_library()
        self.identity_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.identity_dir, 0o700)
        try:
            self._node = p2p_cls(
                identity_dir=str(self.identity_dir),
                port=self.port,
                ips=[self.host],
                enable_relay_client=False,
                is_isolated=True,
                dht_enabled=False,
                webrtc_enabled=False,
                knows_is_public=True,
            )
        except Exception as exc:  # noqa: BLE001 - P2PError and whatever the Go side raises
            raise OSError(f"cannot start a libp2p node on {self.host}:{self.port}: {exc}") from exc
        return self

    @property
    def peer_id(self) -> str:
        return self._node.peer_id

    @property
    def tcp_port(self) -> int:
        for addr in self._node.addresses:
            parts = addr.split("/")
            if len(parts) > 4 and parts[3] == "tcp" and "/ws" not in addr:
                return int(parts[4])
        raise OSError(f"the libp2p node listens on no plain TCP address: {self._node.addresses}")

    def multiaddr(self, host: str | None = None) -> str:
        """``/ip4/HOST/tcp/PORT/p2p/PEER`` (``host`` defaults to the listening interface)."""
        host = host or self.host
        family = "ip6" if ":" in host else "ip4"
        return f"/{family}/{host}/tcp/{self.tcp_port}/p2p/{self.peer_id}"

    def serve(self) -> None:
        """Starts polling in the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def connect(self, multiaddr: str, timeout_s: float = 30.0) -> P2PChannel:
        """Dials ``multiaddr`` (retrying until ``timeout_s``) and returns that peer's channel."""
        peer = peer_of(multiaddr)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout_s
        while True:
            try:
                await loop.run_in_executor(self._sender, self._node.connect_to, [multiaddr])
                break
            except Exception as exc:  # noqa: BLE001 - P2PError: nobody there yet
                if loop.time() > give_up:
                    raise ConnectionError(f"no world answers at {multiaddr}: {exc}") from exc
                await asyncio.sleep(0.2)
        self.serve()
        return self.channel(peer)

    def channel(self, peer: str) -> P2PChannel:
        chan = self.channels.get(peer)
        if chan is None or chan.closed:
            chan = self.channels[peer] = P2PChannel(self, peer)
        return chan

    def forget(self, chan: P2PChannel) -> None:
        if self.channels.get(chan.peer) is chan:
            del self.channels[chan.peer]
            self._send_locks.pop(chan.peer, None)
        self.pending.discard(chan.peer)

    def ban(self, peer: str) -> None:
        """Ignores ``peer`` from now on and closes its connection."""
        self.banned.add(peer)
        chan = self.channels.get(peer)
        if chan is not None:
            chan.feed(ChannelClosed(f"{peer} was dropped"))
            chan.close()
        self.disconnect(peer)

    def disconnect(self, peer: str) -> None:
        with contextlib.suppress(Exception):
            self._node.disconnect_from(peer)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        for chan in list(self.channels.values()):
            chan.feed(ChannelClosed("this endpoint closed"))
            chan.closed = True
        if self._node is not None:
            with contextlib.suppress(Exception):
                self._node.close()
            self._node = None
        self._sender.shutdown(wait=False)

    # --- sending and receiving -------------------------------------------------------------------
    async def send_raw(self, peer: str, data: bytes) -> None:
        """Sends on a worker thread (a slow peer never blocks the event loop), in order for each peer."""
        channel = f"{self.peer_id}::dm:{peer}-{CONTENT_TYPE}"
        loop = asyncio.get_running_loop()
        lock = self._send_locks.setdefault(peer, asyncio.Lock())
        async with lock:
            try:
                await loop.run_in_executor(self._sender, self._node.send_message_to_peer, channel, data)
            except Exception as exc:  # noqa: BLE001 - P2PError: the peer is not connected
                raise PeerUnreachable(f"cannot send to {peer}: {exc}") from exc
        self._hot_until = time.monotonic() + HOT_S

    async def _poll(self) -> None:
        """Pops messages: without pause while traffic is recent (an answer is expected), else every 1 ms."""
        while True:
            try:
                messages = self._node.pop_messages()
            except Exception:  # noqa: BLE001 - a Go-side hiccup must not end the run
                messages = []
            for message in messages:
                await self._take(message)
            now = time.monotonic()
            if messages:
                self._hot_until = now + HOT_S
            await asyncio.sleep(0 if now < self._hot_until else 0.001)

    async def _take(self, message: Any) -> None:
        peer = message.get("from") if isinstance(message, dict) else None
        data = message.get("data") if isinstance(message, dict) else None
        if not isinstance(peer, str) or not isinstance(data, bytes | bytearray) or peer in self.banned:
            self.dropped += 1
            return
        chan = self.channels.get(peer)
        if chan is None:
            if self.on_new_peer is None or len(self.pending) >= self.max_pending or data[:1] != _DATA:
                self.dropped += 1
                self.disconnect(peer)
                return
            chan = self.channel(peer)
            self.pending.add(peer)
            self.on_new_peer(chan)
        if data[:1] == _ACK:
            try:
                chan._on_ack(int(data[1:16].decode("ascii")))
            except (UnicodeDecodeError, ValueError):
                self.dropped += 1
            return
        if data[:1] != _DATA:
            chan.feed(ProtocolError(f"{peer} sent a message of unknown kind {bytes(data[:1])!r}"))
            return
        if chan.flooded:
            self.dropped += 1
            return
        if chan.queued >= MAX_BACKLOG or chan.backlog + len(data) > 2 * self.limits.max_message_bytes:
            chan.flooded = True  # what it sent is forgotten: the hub's next read drops it
            chan.poison(
                ProtocolError(f"{peer} sent {chan.queued} messages ({chan.backlog} bytes) nobody read")
            )
            self.dropped += 1
            return
        chan.received += 1
        if chan.received % ACK_EVERY == 0:
            with contextlib.suppress(ChannelClosed):
                await self.send_raw(peer, _ACK + str(chan.received).encode("ascii"))
        try:
            chan.feed(decode_message(bytes(data[1:]), self.limits), len(data))
        except ProtocolError as exc:
            chan.feed(exc)
