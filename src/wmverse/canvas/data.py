"""Heterogeneous datasets on one canvas: values, a presence mask and per-field loss weights.

Each source ``(DatasetSpec, DataFrame)`` keeps its own time axis. Its columns are
transformed (``InputSpec.transform``), filled per NaN policy, z-scored with statistics of
the *training span only* (rows up to ``fit_until``; no leakage into held-out periods) and
placed at their fields' canvas positions. A sample is a window of ``window`` consecutive
rows of one source:

``values (T, N)`` float32 (0 where absent), ``presence (T, N)`` float32 in {0, 1},
``loss_weight (N,)`` (the dataset's OutputSpec weights, 0 for fields it does not teach),
``source (,)`` int64 index into ``dataset.sources``, ``end_time (,)`` int64 ns timestamp of
the last row, ``semantic_type (N, SEMANTIC_TYPE_DIM)`` the hashed ``InputSpec.semantic_type``
of the dataset's column at each position (0 rows where the dataset has no column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler, default_collate

from wmverse.canvas.schema import BoundSchema, Schema, default_schema
from wmverse.canvas.semantics import SEMANTIC_TYPE_DIM, hash_texts
from wmverse.canvas.specs import DatasetSpec, SpecError, apply_nan_policy

Source = tuple[DatasetSpec, pd.DataFrame]


@dataclass
class SourceArrays:
    """One source laid out on the canvas (all rows, before windowing)."""

    spec: DatasetSpec
    """The source's declaration."""
    index: pd.DatetimeIndex
    """Row timestamps."""
    values: np.ndarray
    """(L, N) normalised values, 0 where absent."""
    presence: np.ndarray
    """(L, N) 1 where a value exists."""
    loss_weight: np.ndarray
    """(N,) output loss weights."""
    mean: np.ndarray
    """(N,) training-span means of the transformed columns (0 for absent fields)."""
    std: np.ndarray
    """(N,) training-span standard deviations (1 for absent fields)."""
    semantic_type: np.ndarray
    """(N, SEMANTIC_TYPE_DIM) hashed ``semantic_type`` of the column at each position (0 where none)."""


def lay_out(
    bound: BoundSchema, spec: DatasetSpec, data: pd.DataFrame, fit_until: pd.Timestamp | None
) -> SourceArrays:
    """Transform, normalise (fit on rows <= ``fit_until``) and place one source on the canvas."""
    n = bound.n_fields
    length = len(data)
    values = np.zeros((length, n), dtype=np.float64)
    presence = np.zeros((length, n), dtype=np.float32)
    mean, std = np.zeros(n), np.ones(n)
    semantic = np.zeros((n, SEMANTIC_TYPE_DIM), dtype=np.float32)
    fit_rows = np.ones(length, dtype=bool) if fit_until is None else np.asarray(data.index <= fit_until)
    if fit_rows.sum() < 2:
        raise SpecError(f"dataset {spec.name!r}: fewer than 2 rows before fit_until={fit_until}")
    for s in spec.input_specs:
        if s.field_path not in bound.index:
            continue  # the projection drops fields that are not on this canvas
        pos = bound.index[s.field_path]
        col = s.apply_transform(data[s.key].astype(float)).to_numpy(dtype=np.float64)
        col = apply_nan_policy(col, s.nan_policy)
        ok = np.isfinite(col)
        train = col[ok & fit_rows]
        if train.size >= 2:
            mean[pos], std[pos] = train.mean(), max(train.std(), 1e-6)
        values[:, pos] = np.where(ok, (col - mean[pos]) / std[pos], 0.0)
        presence[:, pos] = ok
        semantic[pos] = hash_texts([s.semantic_type], SEMANTIC_TYPE_DIM)[0]
    weight = np.zeros(n, dtype=np.float32)
    for o in spec.outputs():
        if o.field_path in bound.index:
            weight[bound.index[o.field_path]] = o.loss_weight
    return SourceArrays(
        spec, pd.DatetimeIndex(data.index), values.astype(np.float32), presence, weight, mean, std, semantic
    )


class HeterogeneousDataset(Dataset):
    """Windows of several sources on one bound canvas (see the module doc for the sample layout)."""

    def __init__(
        self,
        bound: BoundSchema,
        sources: Sequence[Source],
        window: int = 8,
        fit_until: str | pd.Timestamp | None = None,
        end_between: tuple[str | pd.Timestamp | None, str | pd.Timestamp | None] = (None, None),
        stats_from: HeterogeneousDataset | None = None,
        schema: Schema | None = None,
    ) -> None:
        """``end_between`` keeps windows whose last row lies in ``[lo, hi]``; ``stats_from`` reuses
        another dataset's normalisation (use the training set's for a held-out set); specs are
        validated against ``schema`` (the default schema when None)."""
        if not sources:
            raise SpecError("HeterogeneousDataset needs at least one source")
        if window < 1:
            raise SpecError(f"window must be >= 1, got {window}")
        names = [s.name for s, _ in sources]
        if len(set(names)) != len(names):
            raise SpecError(f"source names must be unique, got {names}")
        self.bound, self.window = bound, window
        cut = None if fit_until is None else pd.Timestamp(fit_until)
        self.sources: list[SourceArrays] = []
        for k, (spec, data) in enumerate(sources):
            spec.validate(schema or default_schema(), data)
            arr = lay_out(bound, spec, data, cut)
            if stats_from is not None:
                arr = _renormalise(arr, stats_from.sources[k])
            self.sources.append(arr)
        lo, hi = (None if t is None else pd.Timestamp(t) for t in end_between)
        items: list[tuple[int, int]] = []
        for k, arr in enumerate(self.sources):
            ends = np.arange(window - 1, len(arr.index))
            stamp = arr.index[ends]
            keep = np.ones(len(ends), dtype=bool)
            if lo is not None:
                keep &= np.asarray(stamp >= lo)
            if hi is not None:
                keep &= np.asarray(stamp <= hi)
            keep &= arr.presence[ends].sum(axis=1) > 0
            items.extend((k, int(e) - window + 1) for e in ends[keep])
        if not items:
            raise SpecError("no window fits the sources and the requested span")
        self.items = np.asarray(items, dtype=np.int64)
        self._values = [torch.from_numpy(a.values) for a in self.sources]
        self._presence = [torch.from_numpy(a.presence) for a in self.sources]
        self._weights = [torch.from_numpy(a.loss_weight) for a in self.sources]
        self._stamps = [torch.from_numpy(a.index.as_unit("ns").asi8.astype(np.int64)) for a in self.sources]
        self._semantic = [torch.from_numpy(a.semantic_type) for a in self.sources]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        k, start = (int(v) for v in self.items[i])
        sl = slice(start, start + self.window)
        return {
            "values": self._values[k][sl],
            "presence": self._presence[k][sl],
            "loss_weight": self._weights[k],
            "source": torch.tensor(k),
            "end_time": self._stamps[k][start + self.window - 1],
            "semantic_type": self._semantic[k],
        }

    def stacked(self) -> dict[str, torch.Tensor]:
        """Every window at once, keys as a sample's with a leading batch axis."""
        return default_collate([self[i] for i in range(len(self))])

    def source_counts(self) -> np.ndarray:
        """Number of windows per source."""
        return np.bincount(self.items[:, 0], minlength=len(self.sources))

    def denormalise(self, source: int, values: np.ndarray) -> np.ndarray:
        """Map normalised canvas values ``(..., N)`` of ``source`` back to transformed units."""
        arr = self.sources[source]
        return values * arr.std + arr.mean


def _renormalise(arr: SourceArrays, ref: SourceArrays) -> SourceArrays:
    raw = arr.values * arr.std + arr.mean
    vals = np.where(arr.presence > 0, (raw - ref.mean) / ref.std, 0.0).astype(np.float32)
    return SourceArrays(
        arr.spec, arr.index, vals, arr.presence, arr.loss_weight, ref.mean, ref.std, arr.semantic_type
    )


def build_mixed_dataloader(
    bound: BoundSchema,
    sources: Sequence[Source],
    batch_size: int = 32,
    window: int = 8,
    seed: int = 0,
    balance: str = "uniform",
    fit_until: str | pd.Timestamp | None = None,
    end_between: tuple[str | pd.Timestamp | None, str | pd.Timestamp | None] = (None, None),
    num_samples: int | None = None,
    schema: Schema | None = None,
    source_weights: Mapping[str, float] | None = None,
) -> DataLoader:
    """A shuffling loader over a :class:`HeterogeneousDataset` of ``sources``.

    ``balance="uniform"`` draws every source equally often whatever its length;
    ``"proportional"`` draws windows uniformly. ``source_weights`` (dataset name -> weight,
    1 for names not given) then multiplies each source's share. Sampling uses its own
    generator seeded by ``seed``: the same seed gives the same batches.
    """
    if balance not in ("uniform", "proportional"):
        raise SpecError(f"balance must be 'uniform' or 'proportional', got {balance!r}")
    ds = HeterogeneousDataset(
        bound, sources, window=window, fit_until=fit_until, end_between=end_between, schema=schema
    )
    counts = ds.source_counts().astype(np.float64)
    per_item = 1.0 / counts[ds.items[:, 0]] if balance == "uniform" else np.ones(len(ds))
    if source_weights:
        w = np.array([float(source_weights.get(a.spec.name, 1.0)) for a in ds.sources])
        if not (np.isfinite(w).all() and (w >= 0).all() and (w[counts > 0] > 0).any()):
            raise SpecError(f"source_weights must be finite, >= 0 and not all 0, got {dict(source_weights)}")
        per_item = per_item * w[ds.items[:, 0]]
    gen = torch.Generator().manual_seed(seed)
    sampler = WeightedRandomSampler(
        torch.as_tensor(per_item, dtype=torch.double), num_samples or len(ds), replacement=True, generator=gen
    )
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, drop_last=False)
