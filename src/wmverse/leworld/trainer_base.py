"""What the three phase trainers share: the resumable epoch loop, loss weights, optimiser groups.

:class:`_Trainer` runs one epoch over given batches or over its dataset shuffled by its own
seeded generator, and carries optimiser state, counters and that generator in
``state_dict()`` so a phase can stop and resume between epochs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, optim

from .config import TrainingConfig
from .data import StateTransitionDataset
from .system import LeWorldSystem


def _regions(batch: dict) -> tuple[Tensor, Tensor]:
    return batch["relevant_starts"], batch["relevant_ends"]


def _set_loss_weights(system: LeWorldSystem, config: TrainingConfig) -> None:
    system.loss_weights.update(
        balance=config.lambda_balance,
        diversity=config.lambda_diversity,
        entropy=config.lambda_entropy,
        sparsity=config.lambda_sparsity,
        load_balance=config.lambda_load_balance,
    )


def _scaled_groups(params, gate: list, lr: float, scale: float) -> list[dict]:
    """Param groups: the router's gate network at ``lr * scale``, the rest of ``params`` at ``lr``
    (each group keeps its ``lr_scale`` so that schedules can rescale it)."""
    gate_ids = {id(p) for p in gate}
    rest = [p for p in params if id(p) not in gate_ids]
    inside = [p for p in params if id(p) in gate_ids]
    groups = [{"params": rest, "lr": lr, "lr_scale": 1.0}]
    if inside:
        groups.append({"params": inside, "lr": lr * scale, "lr_scale": scale})
    return groups


def _adamw(params, **kwargs) -> optim.AdamW:
    """AdamW on its multi-tensor (foreach) kernels: the same numbers as the per-tensor loop PyTorch
    picks on CPU by default, in far fewer operator calls (the models have many small tensors)."""
    return optim.AdamW(params, foreach=True, **kwargs)


class _Trainer:
    phase = 0
    batch_size_field = "phase1_batch_size"

    def __init__(
        self, system: LeWorldSystem, config: TrainingConfig, dataset: StateTransitionDataset | None = None
    ) -> None:
        self.system, self.config, self.dataset = system, config, dataset
        self.generator = torch.Generator().manual_seed(config.seed * 10 + self.phase)
        self.epoch = 0
        self.global_step = 0

    def _optimizers(self) -> dict[str, optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: dict) -> dict[str, float]:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        return None

    def train_epoch(self, batches: Iterable[dict] | None = None) -> dict[str, float]:
        """One epoch; returns the mean of every per-step metric plus ``epoch``."""
        if batches is None:
            if self.dataset is None:
                raise ValueError("train_epoch needs batches or a trainer built with a dataset")
            batches = self.dataset.batches(
                getattr(self.config, self.batch_size_field), shuffle=True, generator=self.generator
            )
        self.system.train()
        sums: dict[str, float] = {}
        n = 0
        for batch in batches:
            for key, value in self.train_step(batch).items():
                sums[key] = sums.get(key, 0.0) + float(value)
            n += 1
        if n == 0:
            raise ValueError("train_epoch got no batches")
        self.epoch += 1
        self.on_epoch_end()
        metrics = {key: value / n for key, value in sums.items()}
        metrics["epoch"] = self.epoch
        return metrics

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "generator": self.generator.get_state(),
            "optimizers": {k: o.state_dict() for k, o in self._optimizers().items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self.generator.set_state(state["generator"])
        for key, opt in self._optimizers().items():
            opt.load_state_dict(state["optimizers"][key])
