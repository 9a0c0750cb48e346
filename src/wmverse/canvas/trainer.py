"""Masked canvas training: hide some present values (and the whole last time step), predict
them, and pay the masked loss only where ground truth exists."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import default_collate

from wmverse.canvas.data import HeterogeneousDataset
from wmverse.canvas.losses import masked_canvas_loss
from wmverse.canvas.model import HIDDEN, OBSERVED, CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import BoundSchema


@dataclass
class TrainerConfig:
    """Optimisation and masking of :class:`MaskedCanvasTrainer`."""

    lr: float = 1e-3
    """AdamW learning rate (when the trainer builds the optimiser)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    mask_ratio: float = 0.15
    """Fraction of present context positions hidden at random each step."""
    forecast_prob: float = 1.0
    """Probability that a sample's whole last time step is hidden (one-step-ahead forecasting)."""
    loss_on: str = "hidden"
    """``hidden``: loss on hidden present positions; ``all``: on every present position (the seed's formula)."""
    grad_clip: float = 1.0
    """Max gradient norm (0 disables)."""
    seed: int = 0
    """Seed of the trainer's own masking generator."""


def cycle(loader: Iterable) -> Iterator:
    """Endless iteration over a loader (re-iterating restarts its seeded sampler sequence)."""
    while True:
        yield from loader


class MaskedCanvasTrainer:
    """Core loop: ``step(batch) -> metrics``; ``train(loader, n_steps)``; ``evaluate(dataset)``.

    Pass a ready ``model`` or the parts (``backbone``; ``encoder``/``decoder`` replace the
    default ones). Metrics carry ``loss`` and ``loss/<dataset name>`` for every dataset in the batch.
    """

    def __init__(
        self,
        bound_schema: BoundSchema,
        model: CanvasWorldModel | None = None,
        backbone: nn.Module | None = None,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        config: TrainerConfig | None = None,
        model_config: CanvasModelConfig | None = None,
        source_names: list[str] | None = None,
        custom_losses: dict[tuple[int, int], Callable] | None = None,
    ) -> None:
        """``custom_losses`` maps ``(source index, canvas position)`` to an elementwise loss
        ``(pred, target) -> tensor`` (see :func:`custom_losses_from_dataset`)."""
        self.bound = bound_schema
        self.config = config or TrainerConfig()
        if model is None:
            model = CanvasWorldModel(bound_schema, model_config, seed=self.config.seed, backbone=backbone)
            if encoder is not None:
                model.encoder = encoder
            if decoder is not None:
                model.decoder = decoder
        self.model = model
        self.optimizer = optimizer or torch.optim.AdamW(
            model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.gen = torch.Generator().manual_seed(self.config.seed)
        self.source_names = source_names
        self.custom_losses = dict(custom_losses or {})
        self.steps_done = 0
        if self.config.loss_on not in ("hidden", "all"):
            raise ValueError(f"loss_on must be 'hidden' or 'all', got {self.config.loss_on!r}")

    def make_state(self, presence: torch.Tensor) -> torch.Tensor:
        """Visible/hidden states for a batch: random context masking plus the hidden last step."""
        cfg = self.config
        keep = torch.rand(presence.shape, generator=self.gen) >= cfg.mask_ratio
        forecast = torch.rand(presence.shape[0], generator=self.gen) < cfg.forecast_prob
        keep[:, -1, :] &= ~forecast[:, None]
        visible = (presence > 0) & keep
        return torch.where(visible, OBSERVED, HIDDEN)

    def _loss(
        self, batch: dict, field_ids: torch.Tensor | None, state: torch.Tensor
    ) -> tuple[torch.Tensor, dict]:
        values, presence = batch["values"], batch["presence"]
        weight, semantic = batch["loss_weight"], batch.get("semantic_type")
        if field_ids is not None:
            values, presence, weight = (
                values[..., field_ids],
                presence[..., field_ids],
                weight[..., field_ids],
            )
            semantic = None if semantic is None else semantic[:, field_ids]
        pred = self.model(values, state, field_ids, semantic_type=semantic)
        target_mask = presence if self.config.loss_on == "all" else presence * (state == HIDDEN)
        err = (pred - torch.where(presence > 0, values, torch.zeros_like(values))) ** 2
        if self.custom_losses:
            ids = field_ids.tolist() if field_ids is not None else list(range(self.bound.n_fields))
            for (src, pos), fn in self.custom_losses.items():
                if pos in ids:
                    j = ids.index(pos)
                    rows = batch["source"] == src
                    err[rows, :, j] = fn(pred[rows, :, j], values[rows, :, j])
        w = weight[:, None, :]
        loss = masked_canvas_loss(pred, values, target_mask, w, elementwise=err, normalize=True)
        # per-dataset weighted means, vectorised with bincount over the batch's source ids
        num = (err * target_mask * w).sum(dim=(1, 2)).detach()
        den = (target_mask * w).sum(dim=(1, 2))
        src = batch["source"]
        k = int(src.max()) + 1
        per_num = torch.bincount(src, weights=num, minlength=k)
        per_den = torch.bincount(src, weights=den, minlength=k)
        metrics = {"loss": float(loss.detach())}
        for s in torch.nonzero(per_den > 0).flatten().tolist():
            name = self.source_names[s] if self.source_names else str(s)
            metrics[f"loss/{name}"] = float(per_num[s] / per_den[s])
        return loss, metrics

    def step(self, batch: dict, field_ids: torch.Tensor | None = None) -> dict[str, float]:
        """One optimiser step on ``batch`` (restricted to canvas positions ``field_ids``)."""
        self.model.train()
        presence = batch["presence"] if field_ids is None else batch["presence"][..., field_ids]
        state = self.make_state(presence)
        # dropout draws from torch's global generator: fork it and seed it from ours, so that
        # training depends on the trainer's seed only, not on whatever ran before
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=self.gen)))
            loss, metrics = self._loss(batch, field_ids, state)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if self.config.grad_clip > 0:
            metrics["grad_norm"] = float(
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            )
        self.optimizer.step()
        self.steps_done += 1
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """A copy of what later steps depend on: the model's weights, the optimiser's state, the
        masking generator (which also seeds dropout), ``steps_done`` and ``source_names``."""
        return copy.deepcopy(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.gen.get_state(),
                "steps_done": self.steps_done,
                "source_names": None if self.source_names is None else list(self.source_names),
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured (a trainer built with the same schema and model)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.gen.set_state(state["generator"].clone())
        self.steps_done = int(state["steps_done"])
        names = state["source_names"]
        self.source_names = None if names is None else list(names)

    def train(
        self,
        loader: Iterable,
        n_steps: int,
        field_ids: torch.Tensor | None = None,
        progress: bool = False,
        desc: str = "canvas",
    ) -> dict[str, float]:
        """``n_steps`` steps cycling over ``loader``; returns the mean of each metric over the run."""
        from tqdm.auto import tqdm

        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        it = cycle(loader)
        bar = tqdm(range(n_steps), desc=desc, disable=not progress, leave=False)
        for _ in bar:
            m = self.step(next(it), field_ids)
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
            bar.set_postfix(loss=f"{m['loss']:.3f}")
        return {k: sums[k] / counts[k] for k in sums}

    @torch.no_grad()
    def forecast(
        self,
        values: torch.Tensor,
        presence: torch.Tensor,
        field_ids: torch.Tensor | None = None,
        semantic_type: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the last time step of ``(B, T, n)`` windows from the earlier ones (eval mode).

        Pass the windows' ``semantic_type`` (``(B, n, SEMANTIC_TYPE_DIM)``, a sample's key) when the
        model was trained with it, as :meth:`evaluate` does."""
        self.model.eval()
        state = torch.where(presence > 0, OBSERVED, HIDDEN)
        state[:, -1, :] = HIDDEN
        return self.model(values, state, field_ids, semantic_type=semantic_type)[:, -1, :]

    @torch.no_grad()
    def evaluate(self, dataset: HeterogeneousDataset, batch_size: int = 256) -> dict[str, float]:
        """One-step-ahead normalised RMSE on the last step of every window, per dataset and overall."""
        preds, targets, pres, srcs = [], [], [], []
        for i in range(0, len(dataset), batch_size):
            b = default_collate([dataset[j] for j in range(i, min(len(dataset), i + batch_size))])
            v, p = b["values"], b["presence"]
            preds.append(self.forecast(v, p, semantic_type=b["semantic_type"]))
            targets.append(v[:, -1])
            pres.append(p[:, -1] * (b["loss_weight"] > 0).float())
            srcs.append(b["source"])
        pred, tgt, pr, src = (torch.cat(x) for x in (preds, targets, pres, srcs))
        se = ((pred - tgt) ** 2 * pr).sum(1)
        out = {"rmse": float((se.sum() / pr.sum().clamp_min(1)).sqrt())}
        for k, arr in enumerate(dataset.sources):
            rows = src == k
            if rows.any():
                out[f"rmse/{arr.spec.name}"] = float((se[rows].sum() / pr[rows].sum().clamp_min(1)).sqrt())
        return out


def custom_losses_from_dataset(dataset: HeterogeneousDataset) -> dict[tuple[int, int], Callable]:
    """``(source index, canvas position) -> OutputSpec.loss_fn`` for every custom loss on the canvas."""
    out: dict[tuple[int, int], Callable] = {}
    for k, arr in enumerate(dataset.sources):
        for o in arr.spec.output_specs:
            if o.loss_fn is not None and o.field_path in dataset.bound.index:
                out[(k, dataset.bound.index[o.field_path])] = o.loss_fn
    return out


def source_names(dataset: HeterogeneousDataset) -> list[str]:
    return [a.spec.name for a in dataset.sources]
