"""German inflation and long-term interest rate: statsmodels' bundled quarterly data (no network).

The data (JMulTi's ``e6``, Lütkepohl & Krätzig) covers West Germany until 1990 and Germany
afterwards, 1972Q2-1998Q4: ``Dp`` the quarterly log change of the GDP deflator and ``R`` the
nominal long-term interest rate (a fraction). Its fields live under ``country_de``: no field
overlaps the US macro data or the equities, which makes it one arm of the zero-overlap
experiment (:mod:`wmverse.canvas.quality`).
"""

from __future__ import annotations

import pandas as pd

from wmverse.canvas.adapters._common import finish
from wmverse.canvas.schema import Schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec

#: statsmodels column -> (field path, semantic type)
GERMAN_COLUMNS: dict[str, tuple[str, str]] = {
    "Dp": (
        "country_de.macro.inflation.gdp_deflator",
        "German inflation, quarterly log change of the GDP deflator",
    ),
    "R": ("country_de.rates.yields.long_rate", "German nominal long-term interest rate, fraction"),
}


def load_german_macro() -> pd.DataFrame:
    """The bundled quarterly frame (columns ``Dp``, ``R``) on a quarter-start DatetimeIndex."""
    from statsmodels.datasets import interest_inflation

    raw = interest_inflation.load_pandas().data
    idx = pd.PeriodIndex.from_fields(
        year=raw["year"].astype(int), quarter=raw["quarter"].astype(int), freq="Q"
    )
    frame = raw[list(GERMAN_COLUMNS)].astype(float).copy()
    frame.index = idx.to_timestamp()
    frame.index.name = "date"
    return frame


def german_macro_adapter(schema: Schema | None = None) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` for the bundled German inflation / long rate data."""
    data = load_german_macro()
    inputs = [
        InputSpec(k, meaning, path, frequency_hint="quarterly")
        for k, (path, meaning) in GERMAN_COLUMNS.items()
    ]
    outputs = [OutputSpec(k, meaning, path) for k, (path, meaning) in GERMAN_COLUMNS.items()]
    return finish(DatasetSpec("Germany-macro", inputs, outputs), data, schema)
