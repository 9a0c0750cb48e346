"""Yahoo Finance prices: Yahoo's CSV download, its chart API, or vega_datasets' bundled stocks."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from wmverse.canvas.adapters._common import (
    AdapterError,
    PathLike,
    as_paths,
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

YAHOO_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")

#: Yahoo ticker -> (schema group path, kind); ``equity`` groups have log_return/volume/range fields
TICKER_FIELDS: dict[str, tuple[str, str]] = {
    "MSFT": ("financial.equities.msft", "equity"),
    "AMZN": ("financial.equities.amzn", "equity"),
    "IBM": ("financial.equities.ibm", "equity"),
    "GOOG": ("financial.equities.goog", "equity"),
    "AAPL": ("financial.equities.aapl", "equity"),
    "^GSPC": ("financial.equities.spx", "equity"),
    "^VIX": ("financial.volatility.equity.vix", "level"),
    "EURUSD=X": ("financial.fx.usd.eurusd", "price"),
    "JPY=X": ("financial.fx.usd.usdjpy", "price"),
    "DX-Y.NYB": ("financial.fx.usd.dxy", "price"),
    "CL=F": ("financial.commodities.energy.wti", "price"),
    "GC=F": ("financial.commodities.metals.gold", "price"),
    "BTC-USD": ("financial.crypto.majors.btc", "price"),
}


def _lookup(ticker: str) -> tuple[str, str]:
    try:
        return TICKER_FIELDS[ticker.upper()]
    except KeyError:
        raise AdapterError(
            f"ticker {ticker!r} has no schema field; known: {sorted(TICKER_FIELDS)} "
            "(extend TICKER_FIELDS and the schema to add one)"
        ) from None


def read_yahoo_csv(path: PathLike) -> pd.DataFrame:
    """One ticker's ``Date,Open,High,Low,Close,Adj Close,Volume`` file (``null`` = missing)."""
    raw = read_csv(Path(path), dtype=str)
    missing = [c for c in YAHOO_COLUMNS if c not in raw.columns]
    if missing:
        raise AdapterError(f"{path}: Yahoo CSV lacks columns {missing}; expected {list(YAHOO_COLUMNS)}")
    frame = numeric(raw, list(YAHOO_COLUMNS[1:]), str(path), missing=("null", "", "nan"))
    frame.index = parse_dates(raw["Date"], str(path))
    if (frame[["Open", "High", "Low", "Close", "Adj Close"]] <= 0).any().any():
        raise AdapterError(f"{path}: prices must be positive")
    if (frame["High"] < frame["Low"]).any():
        raise AdapterError(f"{path}: a row has High < Low")
    return tidy(frame, str(path))


def _columns_for(ticker: str, ohlcv: pd.DataFrame) -> tuple[pd.DataFrame, list[InputSpec]]:
    group, kind = _lookup(ticker)
    t = ticker.upper()
    cols: dict[str, pd.Series] = {}
    specs: list[InputSpec] = []
    if kind == "equity":
        cols[f"{t}_adjclose"] = ohlcv["Adj Close"]
        specs.append(
            InputSpec(f"{t}_adjclose", f"{t} log return", f"{group}.log_return", transform="log_diff")
        )
        if "Volume" in ohlcv and ohlcv["Volume"].notna().any():
            cols[f"{t}_volume"] = ohlcv["Volume"]
            specs.append(InputSpec(f"{t}_volume", f"{t} log volume", f"{group}.volume", transform="log1p"))
        if {"High", "Low", "Close"} <= set(ohlcv):
            cols[f"{t}_range"] = (ohlcv["High"] - ohlcv["Low"]) / ohlcv["Close"]
            specs.append(InputSpec(f"{t}_range", f"{t} high-low range", f"{group}.range"))
    else:
        cols[t] = ohlcv["Adj Close"]
        specs.append(InputSpec(t, f"{t}", group, transform="log_diff" if kind == "price" else None))
    return pd.DataFrame(cols), specs


def _vega_stocks() -> pd.DataFrame:
    from vega_datasets import local_data

    long = local_data.stocks()
    wide = long.pivot(index="date", columns="symbol", values="price").sort_index()
    wide.index = pd.DatetimeIndex(wide.index)
    return pd.DataFrame({"Adj Close": wide.stack()}).swaplevel().sort_index()


def _fetch_chart(ticker: str, start_date: str | None, end_date: str | None) -> pd.DataFrame:
    p1 = int(pd.Timestamp(start_date or "2000-01-01").timestamp())
    p2 = int(pd.Timestamp(end_date).timestamp()) if end_date else int(time.time())
    answer = http_json(
        f"https://query1.finance.yahoo.com/v8/finance/chart/{ticker}",
        {"period1": p1, "period2": p2, "interval": "1d"},
    )
    try:
        res = answer["chart"]["result"][0]
        q = res["indicators"]["quote"][0]
        adj = res["indicators"].get("adjclose", [{"adjclose": q["close"]}])[0]["adjclose"]
        frame = pd.DataFrame(
            {
                "Open": q["open"],
                "High": q["high"],
                "Low": q["low"],
                "Close": q["close"],
                "Adj Close": adj,
                "Volume": q["volume"],
            },
            index=pd.to_datetime(np.asarray(res["timestamp"]), unit="s").normalize(),
        ).astype(float)
    except (KeyError, IndexError, TypeError) as exc:
        raise AdapterError(f"Yahoo chart answer for {ticker} is malformed ({exc})") from None
    return tidy(frame, f"Yahoo {ticker}")


def yahoo_finance_adapter(
    paths: PathLike | Sequence[PathLike] | Mapping[str, PathLike] | None = None,
    tickers: Sequence[str] | None = None,
    include_equity: bool = True,
    include_fx: bool = False,
    online: bool = False,
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` for Yahoo Finance tickers.

    Source, in order: ``paths`` (Yahoo CSV downloads, one per ticker; the ticker is the
    mapping key or the file stem, e.g. ``AAPL.csv``); else Yahoo's chart API when
    ``online=True`` (``tickers`` required); else vega_datasets' bundled monthly closes of
    MSFT, AMZN, IBM, GOOG, AAPL 2000-2010 (no network). ``include_equity``/``include_fx``
    filter tickers by kind.
    """
    per_ticker: dict[str, pd.DataFrame] = {}
    if paths is not None:
        if isinstance(paths, Mapping):
            items = [(str(t), Path(p)) for t, p in paths.items()]
        else:
            items = [(p.stem, p) for p in as_paths(paths, (".csv",))]
        for t, p in items:
            per_ticker[t.upper()] = read_yahoo_csv(p)
    elif online:
        if not tickers:
            raise AdapterError("online=True needs tickers=[...]")
        for t in tickers:
            per_ticker[t.upper()] = _fetch_chart(t, start_date, end_date)
    else:
        stacked = _vega_stocks()
        for t in stacked.index.get_level_values(0).unique():
            per_ticker[str(t)] = stacked.loc[t]
    if tickers is not None:
        want = {t.upper() for t in tickers}
        per_ticker = {t: f for t, f in per_ticker.items() if t in want}
    keep = {
        t: f
        for t, f in per_ticker.items()
        if (_lookup(t)[1] == "equity" and include_equity)
        or (_lookup(t)[1] != "equity" and include_fx)
        or _lookup(t)[1] == "level"
    }
    if not keep:
        raise AdapterError("no ticker left after filtering (check tickers/include_equity/include_fx)")
    frames, inputs = [], []
    for t in sorted(keep):
        frame, specs = _columns_for(t, keep[t])
        frames.append(frame)
        inputs.extend(specs)
    data = pd.concat(frames, axis=1, join="outer", sort=True).sort_index()
    outputs = [OutputSpec(s.key, s.semantic_type, s.field_path) for s in inputs]
    name = "Yahoo" if paths is not None or online else "Yahoo-vega-stocks"
    return finish(DatasetSpec(name, inputs, outputs), clip_dates(data, start_date, end_date), schema)
