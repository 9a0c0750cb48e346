"""FRED macro series: FRED's CSV export, the FRED API, or statsmodels' bundled US macro data."""

from __future__ import annotations

from collections.abc import Sequence

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

#: FRED series id -> (field path, meaning, transform)
FRED_SERIES: dict[str, tuple[str, str, str | None]] = {
    "GDPC1": ("country_us.macro.output.gdp_nowcast", "US real GDP growth", "log_diff"),
    "INDPRO": (
        "country_us.macro.output.industrial_production",
        "US industrial production growth",
        "log_diff",
    ),
    "PCECC96": ("country_us.macro.consumption.real_consumption", "US real consumption growth", "log_diff"),
    "RSAFS": ("country_us.macro.consumption.retail_sales", "US retail sales growth", "log_diff"),
    "GPDIC1": ("country_us.macro.investment.real_investment", "US real investment growth", "log_diff"),
    "GCEC1": ("country_us.macro.fiscal.real_government", "US real government spending growth", "log_diff"),
    "DSPIC96": (
        "country_us.macro.income.real_disposable_income",
        "US real disposable income growth",
        "log_diff",
    ),
    "CPIAUCSL": ("country_us.macro.inflation.headline_cpi", "US CPI inflation", "log_diff"),
    "PCEPILFE": ("country_us.macro.inflation.core_pce", "US core PCE inflation", "log_diff"),
    "UNRATE": ("country_us.macro.labor.unemployment_rate", "US unemployment rate", None),
    "PAYEMS": ("country_us.macro.labor.payrolls", "US payrolls growth", "log_diff"),
    "ICSA": ("country_us.macro.labor.initial_claims", "US initial jobless claims", "log"),
    "M1SL": ("country_us.macro.money.m1", "US M1 growth", "log_diff"),
    "POP": ("country_us.macro.demographics.population", "US population growth", "log_diff"),
    "HOUST": ("country_us.macro.housing.housing_starts", "US housing starts", None),
    "FEDFUNDS": ("country_us.rates.policy.fed_funds", "Federal funds rate", None),
    "TB3MS": ("country_us.rates.bills.tbill_3m", "3-month T-bill rate", None),
    "DGS2": ("country_us.rates.yields.y2", "2-year Treasury yield", None),
    "DGS10": ("country_us.rates.yields.y10", "10-year Treasury yield", None),
    "T10Y2Y": ("country_us.rates.spreads.term_10y2y", "10y-2y term spread", None),
    "BAA10Y": ("country_us.rates.spreads.baa_credit", "BAA credit spread", None),
    "VIXCLS": ("financial.volatility.equity.vix", "VIX", None),
    "DTWEXBGS": ("financial.fx.usd.dxy", "Broad US dollar index", "log_diff"),
    "DEXUSEU": ("financial.fx.usd.eurusd", "EUR/USD", "log_diff"),
    "DEXJPUS": ("financial.fx.usd.usdjpy", "USD/JPY", "log_diff"),
    "DCOILWTICO": ("financial.commodities.energy.wti", "WTI crude oil", "log_diff"),
}

#: statsmodels macrodata column -> (field path, meaning, transform, loss weight)
MACRODATA_COLUMNS: dict[str, tuple[str, str, str | None, float]] = {
    "realgdp": (
        "country_us.macro.output.gdp_nowcast",
        "US real GDP growth, quarterly log change",
        "log_diff",
        1.0,
    ),
    "realcons": (
        "country_us.macro.consumption.real_consumption",
        "US real consumption growth",
        "log_diff",
        1.0,
    ),
    "realinv": ("country_us.macro.investment.real_investment", "US real investment growth", "log_diff", 1.0),
    "realgovt": (
        "country_us.macro.fiscal.real_government",
        "US real government spending growth",
        "log_diff",
        0.5,
    ),
    "realdpi": (
        "country_us.macro.income.real_disposable_income",
        "US real disposable income growth",
        "log_diff",
        0.5,
    ),
    "m1": ("country_us.macro.money.m1", "US M1 growth", "log_diff", 0.5),
    "pop": ("country_us.macro.demographics.population", "US population growth", "log_diff", 0.25),
    "tbilrate": ("country_us.rates.bills.tbill_3m", "3-month T-bill rate, percent", None, 1.0),
    "realint": ("country_us.rates.real.real_rate", "Ex-post real interest rate, percent", None, 0.5),
    "infl": ("country_us.macro.inflation.headline_cpi", "US CPI inflation, annualised percent", None, 2.5),
    "unemp": ("country_us.macro.labor.unemployment_rate", "US unemployment rate, percent", None, 2.5),
}


def load_macrodata() -> pd.DataFrame:
    """statsmodels' US macro quarterly data (1959Q1-2009Q3, from FRED/BEA) with a quarterly index.

    ``infl`` and ``realint`` are 0.00 in 1959Q1 because no earlier CPI exists; they are set
    to NaN there so that the presence mask hides them.
    """
    from statsmodels.datasets import macrodata

    raw = macrodata.load_pandas().data
    idx = pd.PeriodIndex.from_fields(
        year=raw["year"].astype(int), quarter=raw["quarter"].astype(int), freq="Q"
    )
    frame = raw[list(MACRODATA_COLUMNS)].astype(float).copy()
    frame.index = idx.to_timestamp()
    frame.index.name = "date"
    frame.iloc[0, frame.columns.get_indexer(["infl", "realint"])] = np.nan
    return frame


def _read_fred_csv(path) -> pd.DataFrame:
    raw = read_csv(path, dtype=str)
    date_col = next((c for c in raw.columns if c.strip().upper() in ("DATE", "OBSERVATION_DATE")), None)
    if date_col is None:
        raise AdapterError(
            f"{path}: FRED CSV needs a DATE or observation_date column, got {list(raw.columns)}"
        )
    series = [c for c in raw.columns if c != date_col]
    if not series:
        raise AdapterError(f"{path}: FRED CSV has no series column")
    frame = numeric(raw, series, str(path), missing=(".", ""))
    frame.index = parse_dates(raw[date_col], str(path))
    return tidy(frame, str(path))


def _spec(name: str, columns: Sequence[str], table: dict) -> DatasetSpec:
    inputs, outputs = [], []
    for c in columns:
        if c not in table:
            raise AdapterError(f"series {c!r} has no schema mapping; known series: {sorted(table)}")
        entry = table[c]
        inputs.append(InputSpec(c, entry[1], entry[0], transform=entry[2]))
        outputs.append(OutputSpec(c, entry[1], entry[0], loss_weight=entry[3] if len(entry) > 3 else 1.0))
    return DatasetSpec(name, inputs, outputs)


def fred_adapter(
    paths: PathLike | Sequence[PathLike] | None = None,
    series: Sequence[str] | None = None,
    api_key: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` for FRED series.

    Source, in order: ``paths`` (FRED CSV exports, ``DATE,SERIES_ID`` or
    ``observation_date,SERIES_ID``, ``.`` for missing); else the FRED API when ``api_key``
    is given (``series`` ids, default all of :data:`FRED_SERIES`); else statsmodels'
    bundled quarterly macro data (no network). Series from several files are outer-joined
    on date.
    """
    if paths is not None:
        frames = [_read_fred_csv(p) for p in as_paths(paths, (".csv", ".txt"))]
        data = pd.concat(frames, axis=1, join="outer", sort=True).sort_index()
        if data.columns.has_duplicates:
            raise AdapterError(f"series given twice: {sorted(set(data.columns[data.columns.duplicated()]))}")
        if series is not None:
            missing = [s for s in series if s not in data.columns]
            if missing:
                raise AdapterError(f"series {missing} not found in the files")
            data = data[list(series)]
        spec = _spec("FRED", list(data.columns), FRED_SERIES)
    elif api_key:
        cols = {}
        for sid in series or list(FRED_SERIES):
            answer = http_json(
                "https://api.stlouisfed.org/fred/series/observations",
                {"series_id": sid, "api_key": api_key, "file_type": "json"},
            )
            obs = answer.get("observations") if isinstance(answer, dict) else None
            if not isinstance(obs, list):
                raise AdapterError(f"FRED API answer for {sid} has no 'observations' list")
            raw = pd.DataFrame(obs)
            if not {"date", "value"} <= set(raw.columns):
                raise AdapterError(f"FRED API observations for {sid} lack date/value")
            col = numeric(raw, ["value"], f"FRED API {sid}", missing=(".",))["value"]
            col.index = parse_dates(raw["date"], f"FRED API {sid}")
            cols[sid] = col
        data = pd.DataFrame(cols).sort_index()
        spec = _spec("FRED", list(data.columns), FRED_SERIES)
    else:
        data = load_macrodata()
        if series is not None:
            data = data[list(series)]
        spec = _spec("FRED-macrodata", list(data.columns), MACRODATA_COLUMNS)
    return finish(spec, clip_dates(data, start_date, end_date), schema)
