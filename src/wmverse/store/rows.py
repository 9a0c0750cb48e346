"""The rows the world writes (``Point``, ``Transition``), their values, and the batch ``INSERT`` they take."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Float, Table, insert

from .errors import StoreError

__all__ = ["JSONText", "Point", "Transition", "as_float", "insert_plan", "number_or_json", "to_json"]


class JSONText(str):
    """A point's value that is JSON text already (say, what the world's stats serialised): stored in
    ``value_json`` as it is, not encoded again."""

    __slots__ = ()


class Point(NamedTuple):
    """One stat value. ``value``: a number (numpy scalars and booleans too) goes to ``value``, a
    ``JSONText`` to ``value_json`` as it is, anything else to ``value_json`` as JSON; ``detail``: optional
    JSON-able extra stored in ``value_json`` beside a numeric value. SQLite stores a NaN as NULL."""

    agent: str
    stat: str
    value: Any
    step: int | None = None
    sim_time: float | None = None
    wall_time: float | None = None  # default: the time of the ``add_points`` call
    detail: Any = None


class Transition(NamedTuple):
    """One state-machine transition of an agent."""

    agent: str
    from_state: str | None
    to_state: str
    action: str | None = None
    sim_time: float | None = None
    wall_time: float | None = None


def _jsonable(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers; anything else JSON cannot hold as its ``str``."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def to_json(value: Any) -> str:
    """``value`` as JSON text, keys sorted (numpy values as plain ones)."""
    return json.dumps(value, default=_jsonable, sort_keys=True)


def number_or_json(value: Any, detail: Any) -> tuple[float | None, str | None]:
    """A point's ``(value, value_json)`` columns (see ``Point``)."""
    kind = type(value)
    if kind is float or kind is int or kind is bool:
        number = float(value)
    elif kind is JSONText:
        if detail is not None:
            raise StoreError("a point whose value is JSON text cannot have a detail too")
        return None, str(value)
    elif value is None:
        number = None
    else:
        try:  # numpy scalars, Decimal, ...; not strings, lists, arrays
            scalar = hasattr(value, "__float__") and getattr(value, "ndim", 0) == 0
            number = float(value) if scalar and not isinstance(value, str | bytes) else None
        except (TypeError, ValueError):
            number = None
        if number is not None:
            return number, (None if detail is None else to_json(detail))
        if detail is not None:
            raise StoreError(f"a point's value {value!r} is not a number: it cannot have a detail too")
        return None, to_json(value)
    return number, (None if detail is None else to_json(detail))


@lru_cache(maxsize=64)
def insert_plan(dialect: Dialect, table: Table) -> tuple[str | None, tuple[str, ...], bool]:
    """The Core ``INSERT`` of every column but ``id``, compiled once for ``dialect``: (SQL, columns,
    positional). The SQL goes straight to the driver's ``executemany``, without SQLAlchemy's per-row
    parameter processing (half the time of a batch). That is only safe when no column type converts
    values, Floats aside (the write calls pass floats or None there); otherwise SQL is None and the batch
    takes ``Connection.execute``."""
    columns = tuple(c.name for c in table.columns if c.name != "id")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    converts = any(
        not isinstance(table.c[name].type, Float)
        and table.c[name].type.dialect_impl(dialect).bind_processor(dialect) is not None
        for name in columns
    )
    if converts or (dialect.positional and tuple(compiled.positiontup or ()) != columns):
        return None, columns, dialect.positional
    return str(compiled), columns, dialect.positional


def as_float(value: Any) -> float | None:
    """``value`` as a float the drivers bind (numpy scalars are not), None kept."""
    return value if value is None or type(value) is float else float(value)
