"""Dataset declarations: which columns a dataset provides (inputs) and where it teaches (outputs).

A dataset is a pair ``(DatasetSpec, data)`` where ``data`` is a :class:`pandas.DataFrame`
indexed by a sorted, unique :class:`pandas.DatetimeIndex` whose columns are the specs'
``key``s. :meth:`DatasetSpec.validate` checks both against a schema and raises
:class:`SpecError` with a message naming the offending key or path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wmverse.canvas.schema import PeriodClass, Schema, SchemaError

NAN_POLICIES = ("mask", "error", "ffill", "zero")
"""``mask``: missing values become absent positions (presence 0); ``error``: any NaN is an
error; ``ffill``: carry the last value forward (leading NaNs stay masked); ``zero``: fill 0."""


class SpecError(ValueError):
    """A dataset declaration does not match the schema or its data."""


def _log_diff(s: pd.Series) -> pd.Series:
    if (s.dropna() <= 0).any():
        raise SpecError(f"transform 'log_diff' needs positive values, column {s.name!r} has some <= 0")
    return np.log(s).diff()


#: named transforms usable in ``InputSpec.transform``; callables are accepted too
TRANSFORMS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "identity": lambda s: s,
    "diff": lambda s: s.diff(),
    "log": lambda s: np.log(s.where(s > 0)),
    "log_diff": _log_diff,
    "pct_change": lambda s: s.pct_change() * 100.0,
    "log1p": lambda s: np.log1p(s.clip(lower=0)),
}


@dataclass
class InputSpec:
    """A column the dataset provides to the canvas."""

    key: str
    """Column name in the dataset's DataFrame."""
    semantic_type: str
    """What the column means, in words."""
    field_path: str
    """Schema field the column is placed on."""
    transform: str | Callable[[pd.Series], pd.Series] | None = None
    """Applied to the raw column before normalisation (name from ``TRANSFORMS`` or callable)."""
    encoder: Any = None
    """Optional ``nn.Module`` mapping ``(..., 1) -> (..., d_model)`` that replaces the field's linear encoder."""
    frequency_hint: PeriodClass | str | None = None
    """Sampling period of the column; validation checks the data's spacing against it."""
    nan_policy: str = "mask"
    """One of ``NAN_POLICIES``."""

    def apply_transform(self, s: pd.Series) -> pd.Series:
        t = self.transform
        if t is None:
            return s
        fn = TRANSFORMS[t] if isinstance(t, str) else t
        out = fn(s)
        if not isinstance(out, pd.Series) or len(out) != len(s):
            raise SpecError(f"transform of {self.key!r} must return a Series of the same length")
        return out


@dataclass
class OutputSpec:
    """A field where the model predicts and receives gradient from this dataset."""

    key: str
    """Column name holding the target (usually an InputSpec key)."""
    semantic_type: str
    """What the target means."""
    field_path: str
    """Schema field predicted."""
    loss_weight: float = 1.0
    """Multiplier of this field's squared error in the canvas loss (>= 0)."""
    decoder: Any = None
    """Optional ``nn.Module`` mapping ``(..., d_model) -> (..., 1)`` that replaces the linear decoder."""
    loss_fn: Callable[..., Any] | None = None
    """Optional elementwise loss ``(pred, target) -> tensor`` replacing the squared error."""


@dataclass
class DatasetSpec:
    """A named dataset: its input and output modalities."""

    name: str
    """Human-readable dataset name (unique within a mixture)."""
    input_specs: list[InputSpec] = field(default_factory=list)
    """Columns placed on the canvas."""
    output_specs: list[OutputSpec] = field(default_factory=list)
    """Columns that teach; when empty, every input is also an output with weight 1."""

    def outputs(self) -> list[OutputSpec]:
        """Declared outputs, or one unit-weight output per input when none are declared."""
        if self.output_specs:
            return list(self.output_specs)
        return [OutputSpec(s.key, s.semantic_type, s.field_path) for s in self.input_specs]

    def validate(self, schema: Schema, data: pd.DataFrame | None = None) -> None:
        """Raise :class:`SpecError` on the first problem found.

        Checks: non-empty inputs; unique keys; field paths known to ``schema``; one input per
        field path; outputs refer to known paths, non-negative finite weights; NaN policy
        and frequency hint names; and, when ``data`` is given, a sorted unique
        DatetimeIndex, every key present, numeric dtypes, the NaN policy and the hint.
        """
        if not self.input_specs:
            raise SpecError(f"dataset {self.name!r} declares no input_specs")
        seen: set[str] = set()
        paths: set[str] = set()
        for s in self.input_specs:
            if s.key in seen:
                raise SpecError(f"dataset {self.name!r}: duplicate input key {s.key!r}")
            seen.add(s.key)
            if s.field_path not in schema:
                try:
                    schema[s.field_path]
                except SchemaError as exc:
                    raise SpecError(f"dataset {self.name!r}, input {s.key!r}: {exc}") from None
            if s.field_path in paths:
                raise SpecError(f"dataset {self.name!r}: two inputs map to field {s.field_path!r}")
            paths.add(s.field_path)
            if s.nan_policy not in NAN_POLICIES:
                raise SpecError(f"input {s.key!r}: nan_policy {s.nan_policy!r} not in {NAN_POLICIES}")
            if isinstance(s.transform, str) and s.transform not in TRANSFORMS:
                raise SpecError(
                    f"input {s.key!r}: unknown transform {s.transform!r}; known: {sorted(TRANSFORMS)}"
                )
            if s.frequency_hint is not None:
                try:
                    PeriodClass.parse(s.frequency_hint)
                except SchemaError as exc:
                    raise SpecError(f"input {s.key!r}: {exc}") from None
        out_keys: set[str] = set()
        for o in self.output_specs:
            if o.key in out_keys:
                raise SpecError(f"dataset {self.name!r}: duplicate output key {o.key!r}")
            out_keys.add(o.key)
            if o.field_path not in schema:
                raise SpecError(
                    f"dataset {self.name!r}, output {o.key!r}: unknown field path {o.field_path!r}"
                )
            if o.key not in seen:
                raise SpecError(f"dataset {self.name!r}: output {o.key!r} has no input column of that key")
            if not np.isfinite(o.loss_weight) or o.loss_weight < 0:
                raise SpecError(f"output {o.key!r}: loss_weight must be finite and >= 0, got {o.loss_weight}")
        if data is not None:
            self._validate_data(data)

    def _validate_data(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise SpecError(
                f"dataset {self.name!r}: data must be a pandas DataFrame, got {type(data).__name__}"
            )
        if not isinstance(data.index, pd.DatetimeIndex):
            raise SpecError(f"dataset {self.name!r}: data must be indexed by a DatetimeIndex")
        if not data.index.is_monotonic_increasing or data.index.has_duplicates:
            raise SpecError(f"dataset {self.name!r}: the time index must be sorted and unique")
        for s in self.input_specs:
            if s.key not in data.columns:
                raise SpecError(f"dataset {self.name!r}: column {s.key!r} missing from data")
            col = data[s.key]
            if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
                raise SpecError(
                    f"dataset {self.name!r}: column {s.key!r} has dtype {col.dtype}, expected a numeric dtype"
                )
            if s.nan_policy == "error" and col.isna().any():
                raise SpecError(
                    f"dataset {self.name!r}: column {s.key!r} has {int(col.isna().sum())} NaN values "
                    "and nan_policy='error'"
                )
            if s.frequency_hint is not None and len(data) >= 3:
                want = PeriodClass.parse(s.frequency_hint).days
                got = float(np.median(np.diff(data.index.as_unit("ns").asi8)) / 86400e9)
                if not (want / 3.0 <= got <= want * 3.0):
                    raise SpecError(
                        f"dataset {self.name!r}: column {s.key!r} is hinted {PeriodClass.parse(s.frequency_hint).name.lower()}"
                        f" ({want:g} days) but rows are {got:g} days apart"
                    )


def apply_nan_policy(values: np.ndarray, policy: str) -> np.ndarray:
    """Fill a 1-D float array per ``policy`` (``mask`` and ``error`` leave NaNs for the presence mask)."""
    if policy == "zero":
        return np.nan_to_num(values, nan=0.0)
    if policy == "ffill":
        return pd.Series(values).ffill().to_numpy()
    return values
