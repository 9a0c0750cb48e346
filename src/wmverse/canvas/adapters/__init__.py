"""Adapters: each maps one real-world source to schema field paths and returns ``(DatasetSpec, data)``.

Every adapter reads local files in its source's own export format without a network,
calls the source's online API only when given a key (or ``online=True``), and otherwise
falls back to real data bundled with installed packages where any exists
(statsmodels' US macro data for FRED, vega_datasets' stock closes for Yahoo). The German
inflation / long-rate adapter reads statsmodels' bundled data only.
"""

from wmverse.canvas.adapters._common import AdapterError
from wmverse.canvas.adapters.earnings import earnings_adapter
from wmverse.canvas.adapters.fred import fred_adapter, load_macrodata
from wmverse.canvas.adapters.germany import german_macro_adapter, load_german_macro
from wmverse.canvas.adapters.news import news_adapter
from wmverse.canvas.adapters.pmi import pmi_adapter
from wmverse.canvas.adapters.tabular import tabular_adapter
from wmverse.canvas.adapters.yahoo import yahoo_finance_adapter

__all__ = [
    "AdapterError",
    "earnings_adapter",
    "fred_adapter",
    "german_macro_adapter",
    "load_german_macro",
    "load_macrodata",
    "news_adapter",
    "pmi_adapter",
    "tabular_adapter",
    "yahoo_finance_adapter",
]
