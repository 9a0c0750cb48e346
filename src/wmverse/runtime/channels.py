"""Message channels between the processes of one run: what a hub and a remote say to each other travels here.

A message is a JSON header (a dict with a ``type``) plus binary blobs, encoded into one ``bytes`` by
:func:`encode_message` and checked by :func:`decode_message` (sizes and counts against :class:`Limits`,
before anything is allocated). Two transports deliver whole messages:

- :class:`PipeChannel`: an anonymous socket pair made by the parent before it starts a child
  (run_asynch.py's local processes), each message framed as ``multiprocessing.connection`` frames it.
  Nobody else can reach it: there is no port.
- ``wmverse.runtime.p2p.P2PChannel``: unaiverse's libp2p node (served worlds, run_w.py), where the peer
  is the authenticated libp2p peer id.

Every channel has the same asyncio face: ``await read(timeout)`` returns the next ``(header, blobs)`` or
raises (:class:`ChannelClosed`, :class:`ProtocolError`, ``TimeoutError``); ``await write(header, blobs)``;
``close()``; ``peer`` names the other end.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass
from typing import Any

_PAIR = struct.Struct(">II")
_LEN = struct.Struct(">I")


class ProtocolError(RuntimeError):
    """The other end sent something that is not a message of this protocol."""


class ChannelClosed(ConnectionError):
    """The other end went away (or the channel was closed here)."""


class PeerUnreachable(ChannelClosed):
    """A message could not be handed to the transport at all: the peer is not connected (a killed process)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one message may hold (checked before anything is allocated)."""

    max_message_bytes: int = 16 * 1024 * 1024
    """Largest encoded message, header and blobs together."""
    max_blobs: int = 100_000
    """Most blobs in one message."""

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise ValueError(f"max_message_bytes must be >= 1024, got {self.max_message_bytes}")
        if self.max_blobs < 1:
            raise ValueError(f"max_blobs must be >= 1, got {self.max_blobs}")


def encode_message(header: dict[str, Any], blobs: list[bytes] | None = None) -> bytes:
    """``>II`` (header length, blob count), the UTF-8 JSON header, then each blob as ``>I`` length + bytes."""
    blobs = blobs or []
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    parts = [_PAIR.pack(len(head), len(blobs)), head]
    for blob in blobs:
        parts.append(_LEN.pack(len(blob)))
        parts.append(bytes(blob))
    return b"".join(parts)


def decode_message(data: bytes, limits: Limits = Limits()) -> tuple[dict[str, Any], list[bytes]]:
    """The header and blobs of ``data``; :class:`ProtocolError` for anything else (never another exception)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProtocolError(f"a message must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_message_bytes:
        raise ProtocolError(f"message of {len(data)} bytes is over the limit of {limits.max_message_bytes}")
    if len(data) < _PAIR.size:
        raise ProtocolError(f"message of {len(data)} bytes is too short")
    head_len, count = _PAIR.unpack_from(data, 0)
    if count > limits.max_blobs:
        raise ProtocolError(f"message announces {count} blobs (limit {limits.max_blobs})")
    pos = _PAIR.size
    if head_len > len(data) - pos:
        raise ProtocolError(f"message header of {head_len} bytes is longer than the message")
    try:
        header = json.loads(data[pos : pos + head_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"message header is not JSON: {exc}"[:200]) from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("message header is not a dict with a string 'type'")
    pos += head_len
    blobs = []
    for _ in range(count):
        if len(data) - pos < _LEN.size:
            raise ProtocolError("message ends inside a blob length")
        (size,) = _LEN.unpack_from(data, pos)
        pos += _LEN.size
        if size > len(data) - pos:
            raise ProtocolError(f"blob of {size} bytes is longer than the rest of the message")
        blobs.append(data[pos : pos + size])
        pos += size
    if pos != len(data):
        raise ProtocolError(f"{len(data) - pos} stray bytes after the last blob")
    return header, blobs


class Channel:
    """The asyncio face shared by every transport: an inbox of decoded messages (or errors)."""

    trusted = False

    def __init__(self, peer: str, limits: Limits) -> None:
        self.peer = peer
        self.limits = limits
        self.closed = False
        self.backlog = 0  # bytes received and not yet read (what ``feed`` was told)
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()

    def feed(self, item: tuple[dict[str, Any], list[bytes]] | BaseException, size: int = 0) -> None:
        """Queues a received message of ``size`` bytes, or an error that the next ``read`` raises (loop
        thread only)."""
        self.backlog += size
        self._inbox.put_nowait((item, size))

    def poison(self, error: BaseException) -> None:
        """Forgets what is queued: the next ``read`` raises ``error`` (a peer that floods this side)."""
        while not self._inbox.empty():
            self._inbox.get_nowait()
        self.backlog = 0
        self.feed(error)

    @property
    def queued(self) -> int:
        """Messages (and errors) received and not yet read."""
        return self._inbox.qsize()

    async def read(self, timeout: float | None = None) -> tuple[dict[str, Any], list[bytes]]:
        """The next message; raises ChannelClosed, ProtocolError or TimeoutError."""
        if self.closed and self._inbox.empty():
            raise ChannelClosed(f"channel to {self.peer} is closed")
        item, size = await asyncio.wait_for(self._inbox.get(), timeout)
        self.backlog -= size
        if isinstance(item, BaseException):
            self.feed(item)  # a closed channel stays closed for later readers
            raise item
        return item

    def outgoing(self, header: dict[str, Any], blobs: list[bytes] | None) -> bytes:
        """The encoded message, refused when the channel is closed or the message is over the limit."""
        if self.closed:
            raise ChannelClosed(f"channel to {self.peer} is closed")
        payload = encode_message(header, blobs)
        if len(payload) > self.limits.max_message_bytes:
            raise ProtocolError(
                f"message of {len(payload)} bytes to {self.peer} is over the limit of "
                f"{self.limits.max_message_bytes} (raise it with --max-message-mb)"
            )
        return payload

    async def write(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


class PipeChannel(Channel):
    """One end of an anonymous socket pair, read and written by the event loop itself (no threads).

    ``trusted``: the other end is a process this one started (nobody else can hold the pair).

    Frames are those of ``multiprocessing.connection.Connection.send_bytes``: a signed big-endian 4-byte
    length, then the message. The loop reads the socket when it is readable (``add_reader``) and queues
    each whole message as soon as it has arrived; a length over ``limits.max_message_bytes`` (checked
    before anything is buffered) closes the channel with a ProtocolError, the end of the stream with
    ChannelClosed. Writes are sent in call order (one lock), each awaited until the kernel has all of it.
    Handing messages over on the loop, rather than through a reader thread and a writer thread, spares two
    thread switches per message: a lockstep tick is a round of such messages with every agent process.
    :meth:`start` must be called from the running loop.
    """

    _HEAD = struct.Struct("!i")
    _CHUNK = 1 << 16

    def __init__(self, sock: socket.socket, peer: str, limits: Limits = Limits()) -> None:
        super().__init__(peer, limits)
        self.trusted = True
        self.sock = sock
        self._buf = bytearray()
        self._need: int | None = None  # length of the message being received, once its header is in
        self._loop: asyncio.AbstractEventLoop | None = None
        self._send_lock = asyncio.Lock()
        self._reading = False

    @classmethod
    def from_fd(cls, fd: int, peer: str, limits: Limits = Limits()) -> PipeChannel:
        return cls(socket.socket(fileno=fd), peer, limits)

    def start(self) -> PipeChannel:
        self._loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        self._loop.add_reader(self.sock.fileno(), self._readable)
        self._reading = True
        return self

    def _readable(self) -> None:
        try:
            want = self._CHUNK if self._need is None else min(self._need - len(self._buf), 1 << 20)
            data = self.sock.recv(max(self._CHUNK, want))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._stop(ChannelClosed(f"{self.peer} closed the pipe: {exc}"))
            return
        if not data:
            self._stop(ChannelClosed(f"{self.peer} closed the pipe"))
            return
        self._buf += data
        while True:
            if self._need is None:
                if len(self._buf) < self._HEAD.size:
                    return
                (size,) = self._HEAD.unpack_from(self._buf, 0)
                if size < 0 or size > self.limits.max_message_bytes:
                    self._stop(ProtocolError(f"bad message length from {self.peer}: {size} bytes"))
                    return
                del self._buf[: self._HEAD.size]
                self._need = size
            if len(self._buf) < self._need:
                return
            message = bytes(self._buf[: self._need])
            del self._buf[: self._need]
            self._need = None
            try:
                item: Any = decode_message(message, self.limits)
            except ProtocolError as exc:
                self._stop(exc)
                return
            self.feed(item)

    def _stop(self, error: BaseException) -> None:
        """Stops reading, queues ``error`` for the reader and closes the descriptor."""
        self._unwatch()
        self._buf.clear()
        self.feed(error)
        self._release()

    def _unwatch(self) -> None:
        if self._reading and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.sock.fileno())
        self._reading = False

    async def write(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        payload = self.outgoing(header, blobs)
        if len(payload) > 0x7FFFFFFF:
            raise ProtocolError(f"message of {len(payload)} bytes is too long for a pipe frame")
        loop = asyncio.get_running_loop()
        async with self._send_lock:
            if self.closed or self.sock.fileno() < 0:
                raise ChannelClosed(f"cannot write to {self.peer}: the channel is closed")
            try:
                await loop.sock_sendall(self.sock, self._HEAD.pack(len(payload)) + payload)
            except (OSError, ValueError) as exc:
                raise ChannelClosed(f"cannot write to {self.peer}: {exc}") from exc

    def _release(self) -> None:
        """Closes the descriptor."""
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        """Stops reading and closes the socket: the other end sees the end of the stream, a read waiting
        here raises ChannelClosed."""
        if self.closed:
            return
        super().close()
        if self.sock.fileno() >= 0:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._unwatch()
        self.feed(ChannelClosed(f"channel to {self.peer} is closed"))
        self._release()
