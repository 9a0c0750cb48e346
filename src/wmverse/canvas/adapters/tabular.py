"""Any CSV or Parquet table with a time column, mapped column -> field path by the caller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from wmverse.canvas.adapters._common import (
    AdapterError,
    PathLike,
    clip_dates,
    finish,
    numeric,
    parse_dates,
    read_csv,
    tidy,
)
from wmverse.canvas.schema import Schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec


def read_table(path: PathLike) -> pd.DataFrame:
    """Read ``.csv`` / ``.parquet`` (``.pq``); other suffixes are an error."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"no such file: {p}")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return read_csv(p)
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
            raise AdapterError(f"{p}: not a readable Parquet file ({exc})") from None
    raise AdapterError(f"{p}: unsupported table format {suffix!r}; use .csv or .parquet")


def tabular_adapter(
    path: PathLike,
    mapping: Mapping[str, str],
    time_column: str = "date",
    name: str | None = None,
    loss_weights: Mapping[str, float] | None = None,
    transforms: Mapping[str, str] | None = None,
    semantic_types: Mapping[str, str] | None = None,
    nan_policy: str = "mask",
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` for a generic table; ``mapping`` is ``{column: field_path}``."""
    if not mapping:
        raise AdapterError("tabular_adapter needs a non-empty mapping {column: field_path}")
    raw = read_table(path)
    if time_column not in raw.columns:
        raise AdapterError(f"{path}: time column {time_column!r} not found; columns: {list(raw.columns)}")
    missing = [c for c in mapping if c not in raw.columns]
    if missing:
        raise AdapterError(f"{path}: mapped columns {missing} not found; columns: {list(raw.columns)}")
    data = numeric(raw, list(mapping), str(path), missing=("", "NA", "null"))
    data.index = parse_dates(raw[time_column], str(path))
    data = tidy(data, str(path))
    lw, tf, st = dict(loss_weights or {}), dict(transforms or {}), dict(semantic_types or {})
    inputs = [
        InputSpec(c, st.get(c, c), fp, transform=tf.get(c), nan_policy=nan_policy)
        for c, fp in mapping.items()
    ]
    outputs = [OutputSpec(c, st.get(c, c), fp, loss_weight=lw.get(c, 1.0)) for c, fp in mapping.items()]
    spec = DatasetSpec(name or Path(path).stem, inputs, outputs)
    return finish(spec, clip_dates(data, start_date, end_date), schema)
