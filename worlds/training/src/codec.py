"""JSON codec for the debate objects that travel between the world and its agents.

Claims and stakes cross the world/agent boundary inside unaiverse interactions (world -> agent) and stats
payloads (agent -> world), so they must be plain JSON. :func:`encode` turns dataclasses, enums, tuples and
numpy values into JSON-safe structures tagged with their class name; :func:`decode` rebuilds them, accepting
only classes exported by :mod:`wmverse.debate` (nothing else can be instantiated from a message).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

_DC = "__dataclass__"
_ENUM = "__enum__"
_TUPLE = "__tuple__"


def _allowed_classes() -> dict[str, type]:
    import wmverse.debate as debate

    out: dict[str, type] = {}
    for name in dir(debate):
        obj = getattr(debate, name)
        if isinstance(obj, type) and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum)):
            out[obj.__name__] = obj
    return out


def encode(obj: Any) -> Any:
    """Return a JSON-safe structure for ``obj`` (dataclasses and enums are tagged by class name)."""
    if isinstance(obj, enum.Enum):
        return {_ENUM: type(obj).__name__, "value": encode(obj.value)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        body = {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        return {_DC: type(obj).__name__, "fields": body}
    if isinstance(obj, dict):
        return {str(encode(k)) if not isinstance(k, str) else k: encode(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {_TUPLE: [encode(v) for v in obj]}
    if isinstance(obj, (list, set, frozenset)):
        items = list(obj)
        if isinstance(obj, (set, frozenset)):
            items = sorted(items, key=repr)
        return [encode(v) for v in items]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        return obj.tolist()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot encode {type(obj).__name__} for a world message")


def decode(data: Any, classes: dict[str, type] | None = None) -> Any:
    """Inverse of :func:`encode`; unknown class tags raise ``ValueError``."""
    classes = _allowed_classes() if classes is None else classes
    if isinstance(data, list):
        return [decode(v, classes) for v in data]
    if isinstance(data, dict):
        if _ENUM in data:
            cls = classes.get(data[_ENUM])
            if cls is None:
                raise ValueError(f"unknown enum {data[_ENUM]!r} in a world message")
            return cls(decode(data["value"], classes))
        if _DC in data:
            cls = classes.get(data[_DC])
            if cls is None:
                raise ValueError(f"unknown class {data[_DC]!r} in a world message")
            kwargs = {k: decode(v, classes) for k, v in data["fields"].items()}
            return cls(**kwargs)
        if _TUPLE in data:
            return tuple(decode(v, classes) for v in data[_TUPLE])
        return {k: decode(v, classes) for k, v in data.items()}
    return data


def dumps(obj: Any) -> str:
    """``encode`` then ``json.dumps`` with sorted keys (stable bytes for the same object)."""
    return json.dumps(encode(obj), sort_keys=True, separators=(",", ":"))


def loads(text: str) -> Any:
    """``json.loads`` then ``decode``."""
    return decode(json.loads(text))


def observations_payload(store: Any) -> list[dict[str, str]]:
    """Observations as the world sends them to agents: id, content and source only (no metadata, no labels)."""
    return [{"id": o.id, "content": o.content, "source_id": o.source_id} for o in store]


def observations_from_payload(items: Any) -> Any:
    """Rebuild an ``ObservationStore`` from :func:`observations_payload` output."""
    from wmverse.debate import Observation, ObservationStore

    return ObservationStore(
        [
            Observation(id=str(d["id"]), content=str(d["content"]), source_id=str(d.get("source_id", "")))
            for d in items
        ]
    )
