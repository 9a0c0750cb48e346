"""Small synthetic sources for tests and examples: a tiny model config and random-walk datasets on real
schema fields, grouped like the FRED, Yahoo and news adapters' fields (no file, no network)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import CanvasModelConfig
from .specs import DatasetSpec, InputSpec, OutputSpec

__all__ = ["FRED_LIKE", "NEWS_LIKE", "SMALL", "YAHOO_LIKE", "make_source"]

#: A canvas model small enough for a unit test (d=16, one layer, two heads).
SMALL = CanvasModelConfig(d_model=16, n_layers=1, n_heads=2, dropout=0.1)

#: Field paths like the FRED adapter's, the Yahoo adapter's and the news adapter's.
FRED_LIKE = ["country_us.macro.output.gdp_nowcast", "country_us.macro.inflation.headline_cpi"]
YAHOO_LIKE = ["financial.volatility.equity.vix", "country_us.rates.yields.y10"]
NEWS_LIKE = ["news.flow.tone.sentiment", "news.flow.volume.count"]


def make_source(
    name: str, paths: list[str], n: int = 40, seed: int = 0, freq: str = "MS"
) -> tuple[DatasetSpec, pd.DataFrame]:
    """A dataset named ``name`` with one seeded random walk per field path, ``n`` dates from 2000-01."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2000-01-01", periods=n, freq=freq)
    data = pd.DataFrame({f"c{i}": rng.standard_normal(n).cumsum() for i in range(len(paths))}, index=idx)
    inputs = [InputSpec(f"c{i}", p, p) for i, p in enumerate(paths)]
    return DatasetSpec(name, inputs, [OutputSpec(s.key, s.semantic_type, s.field_path) for s in inputs]), data
