"""Shared helpers of the adapters: file reading, the one network call, final validation."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wmverse.canvas.schema import Schema, default_schema
from wmverse.canvas.specs import DatasetSpec, SpecError


class AdapterError(SpecError):
    """A source file or API answer is malformed, or the source is unreachable."""


PathLike = str | os.PathLike[str]


def as_paths(paths: PathLike | Sequence[PathLike] | None, suffixes: tuple[str, ...]) -> list[Path]:
    """Files named by ``paths``: a file, a directory (its files with ``suffixes``) or a list."""
    if paths is None:
        return []
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[Path] = []
    for p in map(Path, items):
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in suffixes))
        elif p.is_file():
            out.append(p)
        else:
            raise AdapterError(f"no such file or directory: {p}")
    if not out:
        raise AdapterError(f"no {'/'.join(suffixes)} files found in {items}")
    return out


def read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with a clear error naming the file."""
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{path}: not a readable CSV file ({exc})") from None


def parse_dates(values: pd.Series, where: str) -> pd.DatetimeIndex:
    """Parse a date column; an unparsable entry is an error naming it."""
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(values, errors="raise", format="mixed"))
    except (ValueError, TypeError) as exc:
        raise AdapterError(f"{where}: unparsable date ({exc})") from None
    if idx.tz is not None:
        idx = idx.tz_convert(None)
    return idx


def numeric(
    frame: pd.DataFrame, columns: Sequence[str], where: str, missing: Sequence[str] = ()
) -> pd.DataFrame:
    """Coerce ``columns`` to float; markers in ``missing`` become NaN, anything else non-numeric is an error."""
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        col = frame[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            col = col.astype(str).str.strip().replace({m: None for m in missing})
        conv = pd.to_numeric(col, errors="coerce")
        bad = conv.isna() & col.notna()
        if bad.any():
            first = col[bad].iloc[0]
            raise AdapterError(f"{where}: column {c!r} has a non-numeric value {first!r}")
        out[c] = conv.astype(float)
    return out


def tidy(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Sort by time; duplicate timestamps are an error."""
    frame = frame.sort_index()
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise AdapterError(f"{where}: duplicate timestamp {dup.date()}")
    return frame


def clip_dates(frame: pd.DataFrame, start_date: str | None, end_date: str | None) -> pd.DataFrame:
    if start_date is not None:
        frame = frame[frame.index >= pd.Timestamp(start_date)]
    if end_date is not None:
        frame = frame[frame.index <= pd.Timestamp(end_date)]
    return frame


def http_json(url: str, params: dict[str, Any], timeout: float = 20.0) -> Any:
    """GET ``url?params`` and decode JSON; network failures become an :class:`AdapterError`."""
    full = url + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, headers={"User-Agent": "wmverse-canvas/0.1"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AdapterError(f"could not reach {url} ({exc}); pass local files instead") from None
    except json.JSONDecodeError as exc:
        raise AdapterError(f"{url} did not answer JSON ({exc})") from None


def finish(spec: DatasetSpec, data: pd.DataFrame, schema: Schema | None) -> tuple[DatasetSpec, pd.DataFrame]:
    """Validate the pair against ``schema`` (the default one when None) and return it."""
    if data.empty:
        raise AdapterError(f"dataset {spec.name!r} has no rows (check the files and the date range)")
    spec.validate(schema or default_schema(), data)
    return spec, data
