"""The three training phases, each resumable epoch by epoch.

Every trainer takes ``(system, config, dataset=None)``; ``train_epoch(batches=None)``
runs one epoch over ``batches`` (any iterable of batch dicts) or, by default, over the
trainer's dataset shuffled by its own seeded generator, and returns the epoch's mean
metrics. ``state_dict()`` / ``load_state_dict()`` carry optimiser state, counters and the
shuffling generator, so a phase can stop and resume between epochs (one epoch = one
world action).

- Phase 1: SLMs learn to point at the relevant ranges (cross-entropy on the address
  bytes and the length); the BLM and the read encoder learn to predict the next state
  from oracle reads (zero reads for a memory-free system), with the routing terms. With
  ``lambda_confidence > 0`` phase 1 is presence-aware: an SLM whose column is empty has
  no address to learn but learns to say so through its confidence, and the BLM learns
  with the oracle's confidence and a random (distractor) read for an empty column; the
  reference teaches an empty column's SLM the null range ``[0, 1)`` instead.
- Phase 2: everything end to end (next-state + balance + diversity + entropy + routing
  sparsity + load-balancing losses), linear warm-up then cosine restarts, router
  temperature annealed every step.
- Phase 3: paired branches with and without the info request (ProactAgent style); the
  improvement of the branch with the request trains it (see :class:`Phase3Trainer`).
"""

from __future__ import annotations

import torch
from torch import Tensor, optim

from . import losses as L
from .config import TrainingConfig
from .data import StateTransitionDataset
from .system import LeWorldSystem
from .trainer_base import _adamw, _regions, _scaled_groups, _set_loss_weights, _Trainer


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
        gate = list(system.blm.gate.parameters())
        self.blm_optimizer = _adamw(
            _scaled_groups(self.blm_params, gate, config.phase1_lr, config.router_lr_scale),
            weight_decay=config.weight_decay,
        )

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

        With ``lambda_confidence > 0`` an empty column teaches no address and the loss adds
        ``lambda_confidence`` x the confidence loss (confidence = "my column has a range");
        otherwise (the reference) an empty column teaches the null range ``[0, 1)``.

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
            present = ends[:, i] > starts[:, i]
            aware = bool(self.config.lambda_confidence)
            total = total + L.address_loss(
                out["start_logits_high"], out["start_logits_low"], out["range_logits"],
                starts[:, i], ends[:, i], mc.half_space, mc.max_read_range, present=present if aware else None,
            )  # fmt: skip
            if aware:
                total = total + self.config.lambda_confidence * L.confidence_loss(out["confidence"], present)
        return total / self.system.n_slms

    def blm_loss(self, batch: dict) -> Tensor:
        """Next-state MSE of the BLM over every transition, reading the true ranges, plus the
        routing sparsity and load-balancing terms (their weights in the config).

        With ``lambda_confidence > 0`` each slot comes with the oracle's confidence (1 where
        the column has a range, 0 where not) and an empty column reads a random range (what
        an SLM with nothing to find reads in phase 2): the router then learns to gate on
        the confidence, not on an empty read no SLM can produce. Otherwise (the reference)
        the confidence is 1 and an empty column reads nothing.
        """
        self._check(batch)
        sys_ = self.system
        states = batch["states"]
        b, t, d = states.shape
        starts, ends = _regions(batch)
        n = sys_.n_slms
        present = ends[:, :n] > starts[:, :n]
        if self.config.lambda_confidence:
            mc = sys_.memory_config
            rand_start = torch.randint(
                0, mc.num_words - mc.max_read_range + 1, (b, n), generator=self.generator
            )
            rand_len = torch.randint(1, mc.max_read_range + 1, (b, n), generator=self.generator)
            starts = torch.where(present, starts[:, :n], rand_start)
            ends = torch.where(present, ends[:, :n], rand_start + rand_len)
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
        if self.config.lambda_confidence:
            conf = present.to(states.dtype).repeat_interleave(steps, 0)
        else:
            conf = states.new_ones(b * steps, n)
        hidden = states.new_zeros(b * steps, sys_.slm_config.d_model)
        fake = [{"hidden": hidden, "confidence": conf[:, i]} for i in range(n)]
        out = sys_.blm(past, current, fake, list(reads.unbind(1)))
        loss = L.next_state_loss(out["next_state"], target)
        c = self.config
        if c.lambda_sparsity:
            loss = loss + c.lambda_sparsity * L.sparsity_loss(out["router_probs"])
        if c.lambda_load_balance:
            loss = loss + c.lambda_load_balance * L.load_balance_loss(out["mask"], out["router_probs"])
        return loss

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
        _set_loss_weights(system, config)
        groups = _scaled_groups(
            list(system.parameters()),
            list(system.blm.gate.parameters()),
            config.phase2_lr,
            config.router_lr_scale,
        )
        self.optimizer = _adamw(groups, weight_decay=config.weight_decay)
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
            group["lr"] = lr * group.get("lr_scale", 1.0)
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
            "sparsity_loss": out["sparsity_loss"].item(),
            "load_balance_loss": out["load_balance_loss"].item(),
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
    Branch B is the baseline and only gives values; without the info request its
    teacher-forced steps are independent, so it runs all of them as one batch without a
    graph (:meth:`LeWorldSystem.next_state_loss_without_info`, the same number as the step
    loop). ``improvement = mse_B - mse_A`` and the objective is
    ``total_A - lambda_info_util * improvement``: with ``phase3_info_objective="paired"``
    the improvement's gradient runs through branch A into the BLM's request head, the
    FiLM projection ``info_to_slm`` and the modulated SLMs; ``"detached"`` is the
    reference's constant improvement, which trains nothing. The info modules learn at
    ``phase3_lr``, the SLMs and the rest of the BLM at 0.1x, the read encoder at 0.01x.

    ``phase3_use_info=False`` is the ablation: the same budget spent on branch B alone
    (its total loss, with a graph), and the system predicts without the request from
    then on (``system.use_info = False``, which the Evaluator follows).
    """

    phase = 3
    batch_size_field = "phase3_batch_size"

    def __init__(
        self, system: LeWorldSystem, config: TrainingConfig, dataset: StateTransitionDataset | None = None
    ):
        super().__init__(system, config, dataset)
        _set_loss_weights(system, config)
        if not config.phase3_use_info:
            system.use_info = False
        info = list(system.blm.info_request.parameters()) + list(system.info_to_slm.parameters())
        info_ids = {id(p) for p in info}
        other_blm = [p for p in system.blm.parameters() if id(p) not in info_ids]
        lr = config.phase3_lr
        gate = list(system.blm.gate.parameters())
        self.optimizer = _adamw(
            [
                {"params": info, "lr": lr},
                {"params": list(system.slms.parameters()), "lr": lr * 0.1},
                *_scaled_groups(other_blm, gate, lr * 0.1, config.router_lr_scale),
                {"params": list(system.memory.parameters()), "lr": lr * 0.01},
            ],
            weight_decay=config.weight_decay,
        )

    def _optimizers(self) -> dict[str, optim.Optimizer]:
        return {"all": self.optimizer}

    def paired_losses(self, batch: dict) -> dict[str, Tensor]:
        """Both branches and the objective (with graph; nothing is stepped)."""
        states, chars, regions = batch["states"], batch["characteristics"], _regions(batch)
        if not self.config.phase3_use_info:  # the ablation: branch B trains, branch A is not run
            out = self.system.multi_step_forward(states, chars, regions=regions, use_info=False)
            loss = out["next_state_loss"]
            return {
                "objective": out["total_loss"],
                "improvement": loss.new_zeros(()),
                "loss_with_info": loss.new_full((), float("nan")),
                "loss_without_info": loss,
            }
        with_info = self.system.multi_step_forward(states, chars, regions=regions, use_info=True)
        with torch.no_grad():  # branch B is the baseline: values only, all steps at once
            without = self.system.next_state_loss_without_info(states, chars, regions=regions)
        objective, improvement = L.paired_branch_objective(
            with_info["total_loss"],
            with_info["next_state_loss"],
            without,
            self.config.lambda_info_util,
            detached=self.config.phase3_info_objective == "detached",
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
