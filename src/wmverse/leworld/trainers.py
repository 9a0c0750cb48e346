"""The three training phases, each resumable epoch by epoch.

Every trainer takes ``(system, config, dataset=None)``; ``train_epoch(batches=None)``
runs one epoch over ``batches`` (any iterable of batch dicts) or, by default, over the
trainer's dataset shuffled by its own seeded generator, and returns the epoch's mean
metrics. ``state_dict()`` / ``load_state_dict()`` carry optimiser state, counters and the
shuffling generator, so a phase can stop and resume between epochs (one epoch = one
world action).

- Phase 1: SLMs learn to point at the relevant ranges (cross-entropy on the address
  bytes and the length); the BLM and the read encoder learn to predict the next state
  from oracle reads (zero reads for a memory-free system).
- Phase 2: everything end to end (next-state + balance + diversity + entropy losses),
  linear warm-up then cosine restarts, router temperature annealed every step.
- Phase 3: paired branches with and without the info request (ProactAgent style).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, optim

from . import losses as L
from .config import TrainingConfig
from .data import StateTransitionDataset
from .system import LeWorldSystem


def _regions(batch: dict) -> tuple[Tensor, Tensor]:
    return batch["relevant_starts"], batch["relevant_ends"]


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


class Phase1Trainer(_Trainer):
    """Pre-train the SLMs (address supervision) and the BLM (oracle reads) separately."""

    phase = 1
    batch_size_field = "phase1_batch_size"

    def __init__(
        self, system: LeWorldSystem, config: TrainingConfig, dataset: StateTransitionDataset | None = None
    ):
        super().__init__(system, config, dataset)
        self.slm_optimizer = _adamw(
            system.slms.parameters(), lr=config.phase1_lr, weight_decay=config.weight_decay
        )
        self.blm_params = list(system.blm.parameters()) + list(system.memory.parameters())
        self.blm_optimizer = _adamw(self.blm_params, lr=config.phase1_lr, weight_decay=config.weight_decay)

    def _optimizers(self) -> dict[str, optim.Optimizer]:
        return {"slm": self.slm_optimizer, "blm": self.blm_optimizer}

    def _check(self, batch: dict) -> None:
        if batch["relevant_starts"].shape[1] < self.system.n_slms:
            raise ValueError(
                f"phase 1 pairs SLM i with relevant range i: {self.system.n_slms} SLMs but only "
                f"{batch['relevant_starts'].shape[1]} range columns"
            )

    def slm_loss(self, batch: dict, generator: torch.Generator | None = None) -> Tensor:
        """Mean over SLMs of the address loss at a random consecutive pair of each sequence.

        (A random pair rather than always the first: the SLMs then learn for every step.)
        """
        self._check(batch)
        states, chars = batch["states"], batch["characteristics"]
        b, t = states.shape[:2]
        idx = torch.randint(1, t, (b,), generator=generator or self.generator)
        rows = torch.arange(b)
        past, current = states[rows, idx - 1], states[rows, idx]
        starts, ends = _regions(batch)
        mc = self.system.memory_config
        total = states.new_zeros(())
        x = self.system.slms[0].trunk_input(past, current, chars)  # the same for every SLM
        for i, slm in enumerate(self.system.slms):
            out = slm.from_input(x)
            total = total + L.address_loss(
                out["start_logits_high"], out["start_logits_low"], out["range_logits"],
                starts[:, i], ends[:, i], mc.half_space, mc.max_read_range,
            )  # fmt: skip
        return total / self.system.n_slms

    def blm_loss(self, batch: dict) -> Tensor:
        """Next-state MSE of the BLM over every transition, reading the true ranges."""
        self._check(batch)
        sys_ = self.system
        states = batch["states"]
        b, t, d = states.shape
        starts, ends = _regions(batch)
        n = sys_.n_slms
        if sys_.read_mode == "zero":
            reads = states.new_zeros(b, n, sys_.memory_config.encoder_dim)
        else:
            reads = sys_.memory.read(starts[:, :n], ends[:, :n]).encoded
        steps = t - 1
        past_idx = torch.clamp(torch.arange(steps) - 1, min=0)
        past = states[:, past_idx].reshape(b * steps, d)
        current = states[:, :-1].reshape(b * steps, d)
        target = states[:, 1:].reshape(b * steps, d)
        reads = reads.unsqueeze(1).expand(b, steps, n, -1).reshape(b * steps, n, -1)
        fake = [
            {
                "hidden": states.new_zeros(b * steps, sys_.slm_config.d_model),
                "confidence": states.new_ones(b * steps),
            }
            for _ in range(n)
        ]
        out = sys_.blm(past, current, fake, list(reads.unbind(1)))
        return L.next_state_loss(out["next_state"], target)

    def train_slms_step(self, batch: dict) -> dict[str, float]:
        self.slm_optimizer.zero_grad()
        loss = self.slm_loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.system.slms.parameters(), self.config.grad_clip)
        self.slm_optimizer.step()
        return {"slm_loss": loss.item()}

    def train_blm_step(self, batch: dict) -> dict[str, float]:
        self.blm_optimizer.zero_grad()
        loss = self.blm_loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.blm_params, self.config.grad_clip)
        self.blm_optimizer.step()
        return {"blm_loss": loss.item()}

    def train_step(self, batch: dict) -> dict[str, float]:
        self.global_step += 1
        return {**self.train_slms_step(batch), **self.train_blm_step(batch)}


class Phase2Trainer(_Trainer):
    """End-to-end joint training with the auxiliary losses and router annealing."""

    phase = 2
    batch_size_field = "phase2_batch_size"

    def __init__(
        self, system: LeWorldSystem, config: TrainingConfig, dataset: StateTransitionDataset | None = None
    ):
        super().__init__(system, config, dataset)
        system.loss_weights.update(
            balance=config.lambda_balance, diversity=config.lambda_diversity, entropy=config.lambda_entropy
        )
        self.optimizer = _adamw(system.parameters(), lr=config.phase2_lr, weight_decay=config.weight_decay)
        self.restart_period = max(1, config.phase2_epochs // 3)
        self.steps_per_epoch: int | None = None

    def _optimizers(self) -> dict[str, optim.Optimizer]:
        return {"all": self.optimizer}

    def current_lr(self) -> float:
        """Warm-up x cosine-with-restarts learning rate at the current step."""
        frac = 0.0
        if self.steps_per_epoch:
            frac = (self.global_step % self.steps_per_epoch) / self.steps_per_epoch
        factor = L.warmup_factor(self.global_step, self.config.phase2_warmup_steps)
        return (
            self.config.phase2_lr * factor * L.cosine_restart_factor(self.epoch + frac, self.restart_period)
        )

    def train_step(self, batch: dict) -> dict[str, float]:
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad()
        out = self.system.multi_step_forward(
            batch["states"], batch["characteristics"], regions=_regions(batch)
        )
        loss = out["total_loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.system.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.global_step += 1
        temperature = self.system.blm.router.anneal_temperature(
            self.global_step, self.config.temp_anneal_rate, self.config.temp_min
        )
        return {
            "total_loss": loss.item(),
            "next_state_loss": out["next_state_loss"].item(),
            "balance_loss": out["balance_loss"].item(),
            "diversity_loss": out["diversity_loss"].item(),
            "entropy_loss": out["entropy_loss"].item(),
            "temperature": temperature,
            "lr": lr,
        }

    def on_epoch_end(self) -> None:
        if self.steps_per_epoch is None:
            self.steps_per_epoch = max(1, self.global_step)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "steps_per_epoch": self.steps_per_epoch}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.steps_per_epoch = state["steps_per_epoch"]


class Phase3Trainer(_Trainer):
    """Paired-branch refinement of the info request.

    Branch A runs the full info-request loop, branch B cuts it (``use_info=False``).
    Branch B only gives values, and without the info request its teacher-forced steps are
    independent, so it runs all of them as one batch without a graph
    (:meth:`LeWorldSystem.next_state_loss_without_info`, the same number as the step loop).
    ``improvement = (mse_B - mse_A).detach()`` and the objective is
    ``total_A - lambda_info_util * improvement``. The info modules learn at ``phase3_lr``,
    the SLMs and the rest of the BLM at 0.1x, the read encoder at 0.01x.
    """

    phase = 3
    batch_size_field = "phase3_batch_size"

    def __init__(
        self, system: LeWorldSystem, config: TrainingConfig, dataset: StateTransitionDataset | None = None
    ):
        super().__init__(system, config, dataset)
        info = list(system.blm.info_request.parameters()) + list(system.info_to_slm.parameters())
        info_ids = {id(p) for p in info}
        other_blm = [p for p in system.blm.parameters() if id(p) not in info_ids]
        lr = config.phase3_lr
        self.optimizer = _adamw(
            [
                {"params": info, "lr": lr},
                {"params": list(system.slms.parameters()), "lr": lr * 0.1},
                {"params": other_blm, "lr": lr * 0.1},
                {"params": list(system.memory.parameters()), "lr": lr * 0.01},
            ],
            weight_decay=config.weight_decay,
        )

    def _optimizers(self) -> dict[str, optim.Optimizer]:
        return {"all": self.optimizer}

    def paired_losses(self, batch: dict) -> dict[str, Tensor]:
        """Both branches and the objective (with graph; nothing is stepped)."""
        states, chars, regions = batch["states"], batch["characteristics"], _regions(batch)
        with_info = self.system.multi_step_forward(states, chars, regions=regions, use_info=True)
        with torch.no_grad():  # branch B only sets the detached improvement: values, all steps at once
            without = self.system.next_state_loss_without_info(states, chars, regions=regions)
        objective, improvement = L.paired_branch_objective(
            with_info["total_loss"], with_info["next_state_loss"], without, self.config.lambda_info_util
        )
        return {
            "objective": objective,
            "improvement": improvement,
            "loss_with_info": with_info["next_state_loss"],
            "loss_without_info": without,
        }

    def train_step(self, batch: dict) -> dict[str, float]:
        self.optimizer.zero_grad()
        parts = self.paired_losses(batch)
        parts["objective"].backward()
        torch.nn.utils.clip_grad_norm_(self.system.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.global_step += 1
        return {
            "loss_with_info": parts["loss_with_info"].item(),
            "loss_without_info": parts["loss_without_info"].item(),
            "improvement": parts["improvement"].item(),
            "total_loss": parts["objective"].item(),
        }
