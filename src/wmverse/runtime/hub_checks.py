"""Checks of everything a remote process sends a hub, before any of it is used.

A remote is a stranger until proven otherwise: each message is checked for its shape (types, sizes, known
operations) and for ownership: a remote speaks only for the nodes it registered. An operation that names
another node as its actor, a unaiverse ``Msg`` whose sender is not one of the remote's nodes, a join
request for a node it did not register... raise :class:`Refused` (a ``ProtocolError``), and the hub drops
that remote; nothing a remote sends can raise anything else here.
"""

from __future__ import annotations

import math
import re
import reprlib
import zlib
from collections.abc import Collection
from typing import Any

from wmverse.runtime.channels import ProtocolError

__all__ = [
    "MAX_NODES_PER_PROCESS",
    "Refused",
    "check_done",
    "check_hello",
    "check_registration_shape",
    "clean_line",
]

#: Node names, node ids and peer ids: what the runtime makes (letters, digits, '.', '_', '-').
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SCRIPT = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
#: Most printed lines, transition lines or state-machine moves in one answer.
MAX_LINES = 10_000
#: Longest printed line kept (longer ones are cut).
MAX_LINE = 4_000
#: Most bytes the tensors of the messages of one answer may inflate to (declared sizes, checked against the
#: gzip data before anything bigger is inflated: a gzip bomb is refused unopened).
MAX_INFLATED_BYTES = 256 * 1024 * 1024
#: Most scripts (and nodes) one remote process may bring (``run_asynch.py --processes`` puts many in one).
MAX_NODES_PER_PROCESS = 1024


class Refused(ProtocolError):
    """A remote sent something it may not send; the hub drops it with this reason."""


def _need(ok: bool, why: str) -> None:
    if not ok:
        raise Refused(why)


def is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clean_line(line: Any) -> str:
    """A remote's printed line, safe for this terminal: control characters dropped, length capped."""
    return _CONTROL.sub("", str(line))[:MAX_LINE]


def brief(value: Any, size: int) -> str:
    """A remote's value quoted in a log line or a refusal: short, without control characters."""
    return clean_line(value[: size * 4] if isinstance(value, str) else reprlib.repr(value))[:size]


def check_hello(hello: dict[str, Any], protocol: int) -> dict[str, Any]:
    """The fields of a hello, checked: protocol, rank (int or None), scripts, token and code (str or None)."""
    _need(hello.get("type") == "hello", f"expected a hello, got {str(hello.get('type'))[:40]!r}")
    _need(
        hello.get("protocol") == protocol,
        f"expected protocol {protocol}, got {brief(hello.get('protocol'), 40)}",
    )
    rank = hello.get("rank")
    _need(rank is None or (_int(rank) and 0 < rank < 1_000_000), "rank must be a positive int or null")
    scripts = hello.get("scripts", [])
    _need(
        isinstance(scripts, list)
        and len(scripts) <= MAX_NODES_PER_PROCESS
        and all(isinstance(s, str) and _SCRIPT.fullmatch(s) for s in scripts),
        "scripts must be a list of file names",
    )
    for key in ("token", "code"):
        value = hello.get(key)
        _need(
            value is None or (isinstance(value, str) and len(value) <= 256), f"{key} must be a short string"
        )
    return {"rank": rank, "scripts": scripts, "token": hello.get("token"), "code": hello.get("code")}


def check_registration_shape(register: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The nodes and join requests of a registration, checked for shape (not yet against the run)."""
    _need(register.get("type") == "register", "expected 'register'")
    nodes, joins = register.get("nodes"), register.get("joins", [])
    _need(
        isinstance(nodes, list) and len(nodes) <= MAX_NODES_PER_PROCESS,
        f"nodes must be a list of at most {MAX_NODES_PER_PROCESS} entries",
    )
    _need(isinstance(joins, list) and len(joins) <= len(nodes), "joins must be a list, one per node at most")
    entries = []
    seen: set[str] = set()
    for entry in nodes:
        _need(isinstance(entry, dict), "a node entry must be a dict")
        fields = {k: entry.get(k) for k in ("name", "node_id", "pub", "prv", "type")}
        for key, value in fields.items():
            _need(is_id(value), f"node entry field {key!r} must be an id (letters, digits, '._-')")
        _need(
            fields["type"] == "agent",
            f"node {fields['name']!r} is a {fields['type']}: only agents join a hub",
        )
        ids = {fields["name"], fields["node_id"], fields["pub"], fields["prv"]}
        _need(not (ids & seen) and fields["pub"] != fields["prv"], "node names and ids must be unique")
        seen |= ids
        entries.append(fields)
    names = {e["name"] for e in entries}
    checked = []
    for req in joins:
        _need(isinstance(req, dict), "a join request must be a dict")
        node, world, request = req.get("node"), req.get("world"), req.get("request")
        _need(
            is_id(node) and node in names and is_id(world),
            "a join request must name one of this remote's nodes and a world",
        )
        _need(isinstance(request, dict), "a join request needs a 'request' dict")
        entry = next(e for e in entries if e["name"] == node)
        _need(
            request.get("node_name") == node
            and request.get("node_id") == entry["node_id"]
            and request.get("private_peer_id") == entry["prv"]
            and isinstance(request.get("profile"), dict),
            f"the join request of {node!r} must carry that node's own name, id and peer id and a profile",
        )
        checked.append({"node": node, "world": world, "request": request})
    return entries, checked


def _inflated(data: bytes, limit: int) -> int:
    """Bytes that gzip ``data`` (members one after another) inflates to, counted in 1 MB steps up to just
    over ``limit``; -1 when it is not gzip or ends inside a member."""
    total = 0
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof:
            if total > limit:
                return total
            try:
                chunk = inflater.decompress(data, 1 << 20)
            except zlib.error:
                return -1
            data = inflater.unconsumed_tail
            if not chunk and not data:
                return -1
            total += len(chunk)
        data = inflater.unused_data
    return total


def _tensor_bytes(blob: bytes, room: int) -> int:
    """What the tensor samples of an encoded unaiverse message inflate to (at most ``room``, else Refused)."""
    from unaiverse.networking.p2p import message_pb2

    proto = message_pb2.Message()
    try:
        proto.ParseFromString(blob)
    except Exception:  # noqa: BLE001 - whatever protobuf raises on garbage
        raise Refused("a msg op carries no unaiverse message (DecodeError)") from None
    if proto.WhichOneof("content") != "stream_sample":
        return 0
    import torch

    total = 0
    for sample in proto.stream_sample.samples.values():
        if sample.data.WhichOneof("data_payload") != "tensor_data":
            continue
        tensor = sample.data.tensor_data
        dtype = getattr(torch, tensor.dtype, None)
        _need(
            isinstance(dtype, torch.dtype) and min(tensor.shape, default=0) >= 0, "a tensor of no known shape"
        )
        size = math.prod(tensor.shape) * dtype.itemsize
        total += size
        _need(total <= room, f"the tensors of one answer inflate to over {MAX_INFLATED_BYTES >> 20} MB")
        _need(_inflated(tensor.data, size) == size, "a tensor whose data does not inflate to its shape")
    return total


def _check_op(
    op: Any, blobs: list[bytes], owned: Collection[str], room: list[int], sent: dict[int, Any]
) -> None:
    _need(
        isinstance(op, list) and op and isinstance(op[0], str), "an op must be a list starting with its kind"
    )
    kind = op[0]
    if kind == "msg":
        _need(len(op) == 3 and is_id(op[1]) and _int(op[2]) and 0 <= op[2] < len(blobs), "bad msg op")
        _need(op[2] not in sent, "a blob sent twice (each message has a blob of its own)")
        from unaiverse.networking.p2p.messages import Msg

        room[0] -= _tensor_bytes(blobs[op[2]], room[0])
        try:
            msg = Msg.from_bytes(blobs[op[2]])
        except Exception as exc:  # noqa: BLE001 - whatever protobuf raises on garbage
            raise Refused(f"a msg op carries no unaiverse message ({type(exc).__name__})") from None
        _need(
            msg.sender in owned,
            f"a message claims to come from {str(msg.sender)[:80]!r}, not a node of this remote",
        )
        sent[op[2]] = msg
    elif kind in ("connect", "drop"):
        _need(len(op) == (4 if kind == "connect" else 3) and is_id(op[1]) and is_id(op[2]), f"bad {kind} op")
        _need(op[2] in owned, f"a {kind} op must name one of this remote's nodes as the peer, not {op[2]!r}")
        _need(kind == "drop" or isinstance(op[3], bool), "a connect op's last field must be a bool")
    elif kind == "sub":
        _need(len(op) == 4 and isinstance(op[1], str) and len(op[1]) <= 512 and is_id(op[2]), "bad sub op")
        _need(op[2] in owned and isinstance(op[3], bool), "a sub op must be about one of this remote's nodes")
    else:
        raise Refused(f"unknown op {kind[:40]!r}")


def check_done(
    header: dict[str, Any], blobs: list[bytes], tick: int, owned: Collection[str], names: Collection[str]
) -> dict[int, Any]:
    """A remote's answer to tick ``tick``: shape, and every op, message and move about its own nodes.
    Returns the unaiverse messages it decoded, by blob index (delivered as they are to this process's nodes)."""
    t = header.get("t")
    _need(_int(t) and t == tick, f"answer for tick {brief(t, 20)} while tick {tick} runs")
    ops = header.get("ops", [])
    _need(isinstance(ops, list), "ops must be a list")
    room: list[int] = [MAX_INFLATED_BYTES]
    sent: dict[int, Any] = {}
    for op in ops:
        _check_op(op, blobs, owned, room, sent)
    for key in ("printed", "transitions"):
        lines = header.get(key, [])
        _need(isinstance(lines, list) and len(lines) <= MAX_LINES, f"{key} must be a list of lines")
        _need(all(isinstance(line, str) for line in lines), f"{key} must hold strings")
    moves = header.get("hsm", [])
    _need(isinstance(moves, list) and len(moves) <= MAX_LINES, "hsm must be a list of moves")
    for move in moves:
        _need(
            isinstance(move, list)
            and len(move) == 5
            and isinstance(move[0], str)
            and move[0] in names
            and all(isinstance(v, str) or v is None for v in move[1:4])
            and isinstance(move[4], int | float)
            and not isinstance(move[4], bool),
            "a state-machine move must be [own node, from, to, action, time]",
        )
    delivered = header.get("delivered", 0)
    _need(_int(delivered) and 0 <= delivered < 2**53, "delivered must be a non-negative int")
    joins = header.get("joins", [])
    _need(isinstance(joins, list) and not joins, "joins after registration are not supported")
    return sent
