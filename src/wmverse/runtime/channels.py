"""Message channels between the processes of one run: what a hub and a remote say to each other travels here.

A message is a JSON header (a dict with a ``type``) plus binary blobs, encoded into one ``bytes`` by
:func:`encode_message` and checked by :func:`decode_message` (sizes and counts against :class:`Limits`,
before anything is allocated). Two transports deliver whole messages, so the project keeps no stream
framing of its own:

- :class:`PipeChannel`: a ``multiprocessing.connection.Connection`` over an anonymous socket pair made by
  the parent before it starts a child (run_asynch.py's local processes). Nobody else can reach it: there
  is no port.
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
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
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
    """One end of an anonymous socket pair, as a ``multiprocessing.connection.Connection``.

    ``trusted``: the other end is a process this one started (nobody else can hold the pair).

    A reader thread receives whole messages (at most ``limits.max_message_bytes``: a longer one closes the
    channel with a ProtocolError) and hands them to the event loop; writes go through one writer thread in
    send order. :meth:`start` must be called from the running loop.
    """

    def __init__(self, conn: Connection, peer: str, limits: Limits = Limits()) -> None:
        super().__init__(peer, limits)
        self.trusted = True
        self.conn = conn
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pipe-{peer}")
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_fd(cls, fd: int, peer: str, limits: Limits = Limits()) -> PipeChannel:
        return cls(Connection(fd), peer, limits)

    def start(self) -> PipeChannel:
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._reader, name=f"pipe-read-{self.peer}", daemon=True).start()
        return self

    def _hand(self, item: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.feed, item)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _reader(self) -> None:
        while True:
            try:
                data = self.conn.recv_bytes(self.limits.max_message_bytes)
            except (EOFError, OSError) as exc:
                gone = isinstance(exc, EOFError) or self.closed or "bad message length" not in str(exc)
                self._hand(ChannelClosed(f"{self.peer} closed the pipe") if gone else ProtocolError(str(exc)))
                self._release()
                return
            try:
                item: Any = decode_message(data, self.limits)
            except ProtocolError as exc:
                item = exc
            self._hand(item)
            if isinstance(item, ProtocolError):
                self._release()
                return

    async def write(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        payload = self.outgoing(header, blobs)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer, self.conn.send_bytes, payload)
        except (OSError, ValueError) as exc:
            raise ChannelClosed(f"cannot write to {self.peer}: {exc}") from exc

    def _release(self) -> None:
        """Closes the descriptor (reader thread only: nobody else reads it then)."""
        try:
            self.conn.close()
        except OSError:
            pass

    def close(self) -> None:
        """Shuts the socket down: the reader thread wakes with EOF and closes the descriptor."""
        if self.closed:
            return
        super().close()
        self._writer.shutdown(wait=False)
        try:
            sock = socket.socket(fileno=self.conn.fileno())
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.detach()
        except (OSError, ValueError):
            pass
