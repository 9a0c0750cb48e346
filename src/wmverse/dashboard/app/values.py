"""What a stat point's ``value_json`` may hold that the dashboard can draw: dates, dated series, metrics.

A date is an ISO date or time, or a quarter (``2001Q1``); a detail dates its point when it has one of
``DATE_KEYS``; an object is a dated series (a forecast) when one of ``SERIES_KEYS`` holds dates and other
keys hold number lists as long; any other object's numeric leaves are metrics of their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = ["DATE_KEYS", "SERIES_KEYS", "as_number", "date_of", "forecast_of", "metrics", "parse_date"]

#: keys of a JSON detail that date a point
DATE_KEYS = ("date", "quarter", "period", "month", "day")
#: keys of a JSON object that hold a dated series' x
SERIES_KEYS = ("dates", "quarters", "periods", "index", "x")
_MAX_LEAVES = 32
_MAX_KEYS = 16

_QUARTER = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*Q([1-4])\s*$", re.I)
_QUARTER_FIRST = re.compile(r"^\s*Q([1-4])\s*[-_ ]?\s*(\d{4})\s*$", re.I)
_ISO = re.compile(r"^\s*\d{4}-\d{2}(-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?)?\s*$")


def parse_date(value: object) -> float | None:
    """Milliseconds since the epoch (UTC) of an ISO date/time or a quarter (``2001Q1``, ``2001-Q1``,
    ``Q1 2001``: the quarter's first day); None for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    m = _QUARTER.match(value) or _QUARTER_FIRST.match(value)
    if m:
        year, q = (m.group(1), m.group(2)) if m.re is _QUARTER else (m.group(2), m.group(1))
        return datetime(int(year), 3 * int(q) - 2, 1, tzinfo=UTC).timestamp() * 1000.0
    if not _ISO.match(value):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000.0


def as_number(value: object) -> float | None:
    """A finite number (a boolean as 0 or 1) as a float; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def date_of(obj: object) -> float | None:
    """The date (ms) of a detail holding one of ``DATE_KEYS``; None when it holds none."""
    if isinstance(obj, dict):
        for key in DATE_KEYS:
            if key in obj:
                return parse_date(obj[key])
    return None


def forecast_of(obj: dict) -> tuple[list[float], dict[str, list[float | None]]] | None:
    """(dates in ms, {name: values}) of a dated series; None when ``obj`` is none."""
    for key in SERIES_KEYS:
        xs = obj.get(key)
        if not isinstance(xs, list) or len(xs) < 2:
            continue
        dates = [parse_date(x) for x in xs]
        if any(d is None for d in dates):
            continue
        series = {
            name: [as_number(v) for v in values]
            for name, values in obj.items()
            if name != key and isinstance(values, list) and len(values) == len(xs)
        }
        series = {name: ys for name, ys in series.items() if any(y is not None for y in ys)}
        if series:
            return dates, series  # type: ignore[return-value]
    return None


#: leaves of a JSON stat that are its x, not a series of their own
_X_LEAVES = ("step", "epoch", "tick")


def _leaves(obj: object, prefix: str, depth: int = 0) -> Iterable[tuple[str, float]]:
    if isinstance(obj, dict) and depth < 3 and len(obj) <= _MAX_KEYS:  # many keys: a table, not metrics
        for key in sorted(obj):
            if not (depth == 0 and key in _X_LEAVES):
                yield from _leaves(obj[key], f"{prefix}.{key}", depth + 1)
    elif (number := as_number(obj)) is not None:
        yield prefix, number


def metrics(obj: dict, stat: str) -> list[tuple[str, float]]:
    """The numeric leaves of a JSON object as stats of their own; none when there are more than
    ``_MAX_LEAVES`` (a graph of the network or a table is no set of metrics)."""
    found = []
    for leaf in _leaves(obj, stat):
        found.append(leaf)
        if len(found) > _MAX_LEAVES:
            return []
    return found
