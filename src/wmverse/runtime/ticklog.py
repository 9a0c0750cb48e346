"""An agent process's log of what its hub sent: the welcome, then every tick, so that a restarted process
can replay them and continue exactly where the killed one was.

Records are :func:`~wmverse.runtime.channels.encode_message` frames, each preceded by its length (8 bytes,
big-endian), appended and flushed as they arrive (a killed process loses nothing the kernel has; a machine
crash may lose the tail, which the periodic checkpoints cover). Reading stops at the first record that is
incomplete or does not decode (the one being written when the process died).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from wmverse.runtime.channels import Limits, ProtocolError, decode_message, encode_message

__all__ = ["TickLog"]

_LENGTH = struct.Struct(">Q")
#: A log holds what the channel let through; its records are read back with room to spare.
_LOG_LIMITS = Limits(max_message_bytes=2**31)


class TickLog:
    """``path``'s records: :meth:`append` adds one, :meth:`read` returns them all (oldest first)."""

    def __init__(self, path: Path, limits: Limits = _LOG_LIMITS) -> None:
        self.path = Path(path)
        self.limits = limits
        self._file: Any = None

    def start(self) -> TickLog:
        """Begin a new log (an old one at the same path is replaced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")  # noqa: SIM115 - kept open for the whole run
        return self

    def resume(self, keep: int) -> TickLog:
        """Go on appending after the first ``keep`` records (what a restarted process replayed)."""
        records = self.read()
        data = b"".join(_LENGTH.pack(len(r)) + r for r in (encode_message(h, b) for h, b in records[:keep]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")  # noqa: SIM115
        self._file.write(data)
        self._file.flush()
        return self

    def append(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        frame = encode_message(header, blobs)
        self._file.write(_LENGTH.pack(len(frame)) + frame)
        self._file.flush()

    def read(self) -> list[tuple[dict[str, Any], list[bytes]]]:
        """Every complete record (none when the file is missing)."""
        if not self.path.is_file():
            return []
        data = self.path.read_bytes()
        out, at = [], 0
        while at + _LENGTH.size <= len(data):
            (size,) = _LENGTH.unpack_from(data, at)
            end = at + _LENGTH.size + size
            if end > len(data):
                break
            try:
                out.append(decode_message(data[at + _LENGTH.size : end], self.limits))
            except (ProtocolError, ValueError):
                break
            at = end
        return out

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
