"""The bytes of one checkpoint file: a fixed magic, a format version, a JSON header, the payload.

Layout of format version 1 (integers unsigned 32-bit big-endian)::

    b"WMVCKPT\\n"                        magic, 8 bytes
    version                             1
    header length, header CRC-32        of the UTF-8 JSON that follows
    header                              {"format", "version", "step", "created_at", "payload_bytes",
                                         "payload_sha256", "torch", "meta"}
    payload                             payload_bytes bytes (see :mod:`wmverse.checkpoint.codec`)

The magic and the version come first and never move, so that a later build can tell a file it cannot read
from a damaged one. :func:`read_checkpoint` checks everything it can before the payload is decoded: the
magic, the version, every length against the file's size, the header's CRC and the payload's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

MAGIC = b"WMVCKPT\n"
#: The version this build writes.
FORMAT_VERSION = 1
#: The versions this build reads.
SUPPORTED_VERSIONS = (1,)
#: A header longer than this is taken for damage rather than read into memory.
MAX_HEADER_BYTES = 16 * 1024 * 1024

_U32 = struct.Struct(">I")
_V1_FRAME = struct.Struct(">II")  # header length, header CRC-32
_V1_PREFIX = len(MAGIC) + _U32.size + _V1_FRAME.size


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint; ``str()`` is "<file name>: <reason>"."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


def build_header(
    payload: bytes, step: int, meta: dict[str, Any] | None = None, created_at: datetime | None = None
) -> bytes:
    """Everything of a version-1 file that precedes ``payload``; write it, then ``payload``.

    ``meta`` must be JSON-serialisable (``TypeError`` otherwise); ``created_at`` defaults to now (UTC).
    """
    if type(step) is not int or step < 0:
        raise ValueError(f"a checkpoint step is an int >= 0, not {step!r}")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"checkpoint meta is a dict or None, not {type(meta).__qualname__}")
    header = {
        "format": "wmverse-checkpoint",
        "version": FORMAT_VERSION,
        "step": step,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "torch": torch.__version__,
        "meta": meta or {},
    }
    try:
        raw = json.dumps(header, sort_keys=True).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise TypeError(f"checkpoint meta is not JSON-serialisable: {error}") from error
    return MAGIC + _U32.pack(FORMAT_VERSION) + _V1_FRAME.pack(len(raw), zlib.crc32(raw)) + raw


def _check_header(header: Any, version: int) -> str | None:
    """Why ``header`` is not a valid version-1 header, or None."""
    if not isinstance(header, dict):
        return "the header is not a JSON object"
    expected = {"version": int, "step": int, "payload_bytes": int, "payload_sha256": str, "meta": dict}
    for key, kind in expected.items():
        if type(header.get(key)) is not kind:
            return f"header field {key!r} is missing or not a {kind.__name__}"
    if header["version"] != version:
        return f"header says version {header['version']}, the prefix says {version}"
    if header["payload_bytes"] < 0:
        return f"header says {header['payload_bytes']} payload bytes"
    return None


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], bytes]:
    """The header (a dict) and the verified payload bytes of the file at ``path``.

    Raises :class:`CheckpointError` naming the file and the first fault found: "not a wmverse
    checkpoint", "unsupported format version 7 (this build reads 1)", "truncated: ...", "trailing data:
    ...", "header checksum mismatch", "corrupt header: ...", "checksum mismatch". ``OSError`` (missing or
    unreadable file) passes through.
    """

    def fail(reason: str) -> CheckpointError:
        return CheckpointError(path, reason)

    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise fail("truncated: empty file")
        head = file.read(len(MAGIC))
        if head != MAGIC[: len(head)]:
            raise fail("not a wmverse checkpoint")
        if len(head) < len(MAGIC):
            raise fail(f"truncated: file has {size} bytes, the magic alone is {len(MAGIC)}")
        raw = file.read(_U32.size)
        if len(raw) < _U32.size:
            raise fail(f"truncated: file has {size} bytes, it ends inside the format version")
        (version,) = _U32.unpack(raw)
        if version not in SUPPORTED_VERSIONS:
            reads = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
            raise fail(f"unsupported format version {version} (this build reads {reads})")
        raw = file.read(_V1_FRAME.size)
        if len(raw) < _V1_FRAME.size:
            raise fail(f"truncated: file has {size} bytes, it ends inside the header's length")
        header_len, header_crc = _V1_FRAME.unpack(raw)
        if header_len > MAX_HEADER_BYTES:
            raise fail(f"corrupt header: its length reads {header_len} bytes")
        if size < _V1_PREFIX + header_len:
            raise fail(f"truncated: header says it is {header_len} bytes, file has {size - _V1_PREFIX} of it")
        raw = file.read(header_len)
        if zlib.crc32(raw) != header_crc:
            raise fail("header checksum mismatch")
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise fail(f"corrupt header: {error}") from error
        fault = _check_header(header, version)
        if fault:
            raise fail(f"corrupt header: {fault}")
        expected = _V1_PREFIX + header_len + header["payload_bytes"]
        if size < expected:
            raise fail(f"truncated: header says {expected} bytes, file has {size}")
        if size > expected:
            raise fail(f"trailing data: header says {expected} bytes, file has {size}")
        payload = file.read(header["payload_bytes"])
    if len(payload) != header["payload_bytes"]:  # the file shrank while being read
        raise fail(
            f"truncated: header says {expected} bytes, read {expected - header['payload_bytes'] + len(payload)}"
        )
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise fail("checksum mismatch")
    return header, payload
