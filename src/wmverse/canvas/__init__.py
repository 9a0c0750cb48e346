"""The canvas world model (seed 002): heterogeneous datasets on one typed canvas, masked
training, diffusion, and sequential or fork-join DAG curricula.

Imports are light: submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FieldDef": "schema",
    "PeriodClass": "schema",
    "Schema": "schema",
    "BoundSchema": "schema",
    "SchemaError": "schema",
    "default_schema": "schema",
    "DatasetSpec": "specs",
    "InputSpec": "specs",
    "OutputSpec": "specs",
    "SpecError": "specs",
    "fred_adapter": "adapters",
    "yahoo_finance_adapter": "adapters",
    "german_macro_adapter": "adapters",
    "pmi_adapter": "adapters",
    "earnings_adapter": "adapters",
    "news_adapter": "adapters",
    "tabular_adapter": "adapters",
    "AdapterError": "adapters",
    "HeterogeneousDataset": "data",
    "build_mixed_dataloader": "data",
    "masked_canvas_loss": "losses",
    "CanvasModelConfig": "model",
    "CanvasWorldModel": "model",
    "FieldEncoder": "model",
    "FieldDecoder": "model",
    "CanvasBackbone": "model",
    "MaskedCanvasTrainer": "trainer",
    "TrainerConfig": "trainer",
    "CosineNoiseSchedule": "diffusion",
    "DiffusionWorldModelTrainer": "diffusion",
    "DiffusionConfig": "diffusion",
    "CurriculumTrainer": "curriculum",
    "CurriculumConfig": "curriculum",
    "PhaseConfig": "curriculum",
    "default_curriculum": "curriculum",
    "DAGCurriculumTrainer": "dag",
    "DAGNode": "dag",
    "STANDARD_DAG": "dag",
    "join_states": "dag",
    "fork_state": "dag",
    "build_curriculum": "planner",
    "DatasetProfile": "planner",
    "PlannerError": "planner",
    "BackboneUnavailableError": "cogvideox",
    "run_macro_forecast": "forecast",
    "ForecastConfig": "forecast",
    "canvas_quality": "quality",
    "run_zero_overlap": "quality",
    "QualityConfig": "quality",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wmverse.canvas' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wmverse.canvas.{_EXPORTS[name]}"), name)
