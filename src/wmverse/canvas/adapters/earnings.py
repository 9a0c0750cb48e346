"""Quarterly earnings in Alpha Vantage's ``EARNINGS`` format (JSON or the same columns as CSV)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from wmverse.canvas.adapters._common import (
    AdapterError,
    PathLike,
    clip_dates,
    finish,
    http_json,
    numeric,
    parse_dates,
    read_csv,
    tidy,
)
from wmverse.canvas.schema import Schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec

EARNINGS_COLUMNS = (
    "fiscalDateEnding",
    "reportedDate",
    "reportedEPS",
    "estimatedEPS",
    "surprise",
    "surprisePercentage",
)
_VALUES = {
    "reportedEPS": "reported_eps",
    "estimatedEPS": "estimated_eps",
    "surprisePercentage": "surprise_pct",
}


def _parse_rows(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    missing = [c for c in EARNINGS_COLUMNS if c not in raw.columns]
    if missing:
        raise AdapterError(
            f"{where}: earnings rows lack {missing}; expected Alpha Vantage columns {list(EARNINGS_COLUMNS)}"
        )
    frame = numeric(raw.astype(str), list(_VALUES), where, missing=("None", "", "nan", "NaN"))
    # index by the report date: that is when the number became known (no look-ahead)
    frame.index = parse_dates(raw["reportedDate"], where)
    return tidy(frame, where)


def read_earnings_file(path: PathLike) -> tuple[str | None, pd.DataFrame]:
    """``(symbol or None, rows)`` from an Alpha Vantage JSON answer or a CSV with its columns."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(f"no such file: {p}")
    if p.suffix.lower() == ".json":
        try:
            doc = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise AdapterError(f"{p}: invalid JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("quarterlyEarnings"), list):
            raise AdapterError(f"{p}: expected an object with a 'quarterlyEarnings' list")
        return doc.get("symbol"), _parse_rows(pd.DataFrame(doc["quarterlyEarnings"]), str(p))
    return None, _parse_rows(read_csv(p, dtype=str), str(p))


def earnings_adapter(
    paths: Mapping[str, PathLike] | Sequence[PathLike] | PathLike | None = None,
    symbols: Sequence[str] | None = None,
    api_key: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)``: reported EPS, estimate and surprise per symbol, by report date.

    Source: ``paths`` (``{symbol: file}``, or files whose JSON names the symbol or whose
    stem is the symbol); else Alpha Vantage's API when ``api_key`` and ``symbols`` are given.
    Symbols map to ``corporate.earnings.<symbol>.*`` fields of the schema.
    """
    per_symbol: dict[str, pd.DataFrame] = {}
    if paths is not None:
        items = (
            paths.items()
            if isinstance(paths, Mapping)
            else [(None, p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
        )
        for sym, p in items:
            found, rows = read_earnings_file(p)
            per_symbol[(sym or found or Path(p).stem).lower()] = rows
    elif api_key and symbols:
        for sym in symbols:
            doc = http_json(
                "https://www.alphavantage.co/query",
                {"function": "EARNINGS", "symbol": sym, "apikey": api_key},
            )
            if not isinstance(doc, dict) or "quarterlyEarnings" not in doc:
                raise AdapterError(
                    f"Alpha Vantage answer for {sym} has no quarterlyEarnings: {str(doc)[:200]}"
                )
            per_symbol[sym.lower()] = _parse_rows(
                pd.DataFrame(doc["quarterlyEarnings"]), f"Alpha Vantage {sym}"
            )
    else:
        raise AdapterError(
            "earnings_adapter needs paths=... or api_key=... with symbols=[...]; no earnings data is bundled"
        )
    frames, inputs = [], []
    for sym in sorted(per_symbol):
        rows = per_symbol[sym].rename(columns={c: f"{sym}_{v}" for c, v in _VALUES.items()})
        frames.append(rows)
        for c, v in _VALUES.items():
            inputs.append(InputSpec(f"{sym}_{v}", f"{sym.upper()} {c}", f"corporate.earnings.{sym}.{v}"))
    data = pd.concat(frames, axis=1, join="outer", sort=True).sort_index()
    outputs = [OutputSpec(s.key, s.semantic_type, s.field_path) for s in inputs]
    return finish(DatasetSpec("Earnings", inputs, outputs), clip_dates(data, start_date, end_date), schema)
