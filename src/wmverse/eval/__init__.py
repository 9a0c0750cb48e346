"""``wmverse eval``: every world model's trained result beside its honest baselines, over seeds.

Modules: :mod:`.harness` (one adapter per model: calls the model library's own quality harness,
seed by seed, and keeps one held-out number per seed and arm), :mod:`.stats` (mean with 95%
interval, one-sided paired tests that the trained model beats a baseline), :mod:`.report` (the
JSON report and the one combined table) and :mod:`.cli`. This package sits above the model
libraries: it imports them, none imports it.
"""

from .harness import MODELS, EvalSettings, ModelResult, run_model
from .report import build_report, format_table
from .stats import compare, summarise

__all__ = [
    "MODELS",
    "EvalSettings",
    "ModelResult",
    "build_report",
    "compare",
    "format_table",
    "run_model",
    "summarise",
]
