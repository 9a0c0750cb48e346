"""A checkpoint's payload: a nested state turned into bytes that cannot run code when read back.

The state is a tree of plain values and tensors. :func:`encode` checks every node against the allowed
types, turns numpy arrays into tensors (tagged so that they come back as arrays, dtype and shape kept) and
serialises the tree with ``torch.save``; :func:`decode` reads it with ``torch.load(weights_only=True)``,
whose unpickler refuses any global outside torch's allowlist (so a crafted ``__reduce__`` payload fails
instead of running), then checks the tree again and turns the tagged tensors back into arrays.

Allowed nodes:

- containers: ``dict`` and ``collections.OrderedDict`` (keys ``str`` or ``int``: optimizer states key
  their per-parameter entries by index; a ``state_dict()``'s ``_metadata`` is kept), ``list``, ``tuple``;
- scalars: ``str``, ``int`` (any size), ``float``, ``bool``, ``None``, ``bytes``;
- ``torch.Tensor`` and ``torch.nn.Parameter`` (not other subclasses), ``torch.Size``, ``torch.dtype``,
  ``torch.device``;
- ``numpy.ndarray`` (exact type, numeric or bool dtype) and numpy scalars of those dtypes.

These cover the random-generator states of :mod:`wmverse.checkpoint.rng`. Exact types are required
(a ``str`` or ``tuple`` subclass such as an enum or a namedtuple is refused): a subclass would be pickled by
reference to its class, which the safe loader rejects at load time; refusing it at save time is kinder.
"""

from __future__ import annotations

import io
import pickle
import re
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

#: Key of the dict that stands for a numpy array inside the saved tree; refused in user dicts.
NDARRAY_TAG = "__wmverse_ndarray__"

_SCALARS = (str, int, float, bool, type(None), bytes)
_TORCH_VALUES = (torch.Size, torch.dtype, torch.device)
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
#: numpy dtypes (native byte order) that torch can hold; anything else (object, str, datetime, records) is refused
_NUMPY_DTYPES = frozenset(
    np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
)
_ALLOWED = (
    "dict/OrderedDict with str or int keys, list, tuple, str, int, float, bool, None, bytes, "
    "torch.Tensor, torch.Size, torch.dtype, torch.device, numpy.ndarray or numpy scalar of a numeric dtype"
)


class CodecError(ValueError):
    """A payload that does not decode, or decodes to something outside the allowed types."""


def _where(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) if path else "<root>"


def _refuse(path: tuple[Any, ...], obj: Any, why: str = "") -> TypeError:
    what = why or f"{type(obj).__module__}.{type(obj).__qualname__} is not allowed (allowed: {_ALLOWED})"
    return TypeError(f"checkpoint state at {_where(path)!r}: {what}")


def _encode_array(array: np.ndarray | np.generic, path: tuple[Any, ...]) -> dict[str, Any]:
    dtype = array.dtype
    if dtype.newbyteorder("=") not in _NUMPY_DTYPES:
        raise _refuse(path, array, f"numpy dtype {dtype} is not allowed (numeric or bool dtypes only)")
    scalar = isinstance(array, np.generic)
    data = np.asarray(array)
    if not dtype.isnative:
        data = data.astype(dtype.newbyteorder("="))
    if not (data.flags.c_contiguous and data.flags.writeable):
        data = np.array(
            data, order="C"
        )  # torch.from_numpy takes neither negative strides nor read-only memory
    return {NDARRAY_TAG: torch.from_numpy(data), "dtype": dtype.str, "scalar": scalar}


def _encode(obj: Any, path: tuple[Any, ...], active: set[int]) -> Any:
    kind = type(obj)
    if kind in _SCALARS or kind in _TORCH_VALUES:
        return obj
    if kind in _TENSOR_TYPES:
        return obj
    if kind is np.ndarray or isinstance(obj, np.generic):
        return _encode_array(obj, path)
    if kind not in (dict, OrderedDict, list, tuple):
        raise _refuse(path, obj)
    if id(obj) in active:
        raise _refuse(path, obj, "the state contains itself (a reference cycle)")
    active.add(id(obj))
    try:
        if kind is list or kind is tuple:
            return kind(_encode(v, (*path, i), active) for i, v in enumerate(obj))
        out = kind()
        for key, value in obj.items():
            if type(key) not in (str, int):
                raise _refuse((*path, repr(key)), key, f"dict key {key!r} is not a str or an int")
            if key == NDARRAY_TAG:
                raise _refuse(
                    (*path, key), key, f"the key {NDARRAY_TAG!r} is reserved by the checkpoint codec"
                )
            out[key] = _encode(value, (*path, key), active)
        extra = vars(obj) if kind is OrderedDict else {}
        if set(extra) - {"_metadata"}:
            raise _refuse(path, obj, f"OrderedDict attributes {sorted(extra)} (only _metadata is kept)")
        if "_metadata" in extra:
            out._metadata = _encode(extra["_metadata"], (*path, "_metadata"), active)
        return out
    finally:
        active.discard(id(obj))


def encode(state: dict[str, Any]) -> bytes:
    """``state`` as payload bytes; ``TypeError`` naming the key path of the first node not allowed.

    The state is not modified. Tensors are serialised with their storage (a view of a larger tensor
    carries the whole storage; ``.clone()`` it first to store only the view).
    """
    if type(state) not in (dict, OrderedDict):
        raise TypeError(f"a checkpoint state is a dict, not {type(state).__qualname__}")
    tree = _encode(state, (), set())
    buffer = io.BytesIO()
    torch.save(tree, buffer)
    return buffer.getvalue()


def _decode(obj: Any, path: tuple[Any, ...]) -> Any:
    kind = type(obj)
    if kind in _SCALARS or kind in _TORCH_VALUES or kind in _TENSOR_TYPES:
        return obj
    if kind is list or kind is tuple:
        return kind(_decode(v, (*path, i)) for i, v in enumerate(obj))
    if kind is dict and NDARRAY_TAG in obj:
        tensor, dtype = obj[NDARRAY_TAG], obj.get("dtype")
        if type(tensor) is not torch.Tensor or type(dtype) is not str:
            raise CodecError(f"malformed numpy array at {_where(path)!r}")
        array = tensor.cpu().numpy().astype(np.dtype(dtype), copy=False)
        return array[()] if obj.get("scalar") else array
    if kind is dict or kind is OrderedDict:
        out = kind((key, _decode(value, (*path, key))) for key, value in obj.items())
        if kind is OrderedDict and "_metadata" in vars(obj):
            out._metadata = _decode(obj._metadata, (*path, "_metadata"))
        return out
    raise CodecError(f"unexpected {type(obj).__qualname__} at {_where(path)!r}")


def _unpickler_reason(error: BaseException) -> str:
    """The useful sentence of torch's long weights-only message ("Unsupported global: GLOBAL io.open ...")."""
    match = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n\n|$)", str(error), re.S)
    return " ".join(match.group(1).split()) if match else type(error).__name__


def decode(payload: bytes, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """The state that :func:`encode` turned into ``payload``; ``CodecError`` if it cannot be read safely.

    Reads with ``torch.load(weights_only=True)``: no code from the payload runs, only torch's allowlist of
    globals (plus whatever the process added with ``torch.serialization.add_safe_globals``) is rebuilt.
    ``map_location`` is passed to ``torch.load`` (``"cpu"``: loadable on a machine without the saving GPU).
    """
    try:
        tree = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CodecError(f"payload refused by the safe loader: {_unpickler_reason(error)}") from error
    except Exception as error:  # a damaged zip archive raises RuntimeError, others vary by torch version
        raise CodecError(f"payload does not decode: {type(error).__name__}: {error}") from error
    if type(tree) not in (dict, OrderedDict):
        raise CodecError(f"payload holds a {type(tree).__qualname__}, not a dict")
    return _decode(tree, ())
