"""LeWorld as a learner agent trains it: the system, its baselines, the data and the phase trainers.

:class:`LeWorldRunner` runs the world's requests ``run_phase(1|2|3)`` and ``evaluate``. Each phase trains
the LeWorld system AND the memory-free baseline (same architecture reading zeros, same phases, same data),
as ``wmverse.leworld.run_training`` does, so that the evaluation compares like with like. Reports:
per-epoch losses of the phase (``slm_loss``, ``blm_loss``, ``total_loss``, ``next_state_loss``,
``temperature``...); the evaluation adds held-out MSE/MAE, per-horizon MSE, SLM usage, routing entropy
(of the load shares and per input) and SLMs per input of LeWorld and of the baseline(s).

By default the data use the ``specialty`` layout (each SLM owns a third of the memory and each sequence
needs two of the three) and phase 1 is presence-aware, so the router learns to gate on, per input, only
the SLMs that have something to read (about 2 of 3 per input instead of all 3), at a held-out MSE no worse
than the dense router's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import EVALUATE, LearnerRunner, json_safe

__all__ = ["LeWorldLearnerConfig", "LeWorldRunner"]


@dataclass(frozen=True)
class LeWorldLearnerConfig:
    """Sizes of the LeWorld learner in the world (small by default: seconds on 2 cores)."""

    seed: int = 0
    """Seeds the memory content, the data, the models and the trainers."""
    difficulty: str = "medium"
    """Dataset difficulty: easy | medium | hard (relevant memory ranges per sequence)."""
    num_train: int = 256
    """Training sequences."""
    num_val: int = 64
    """Held-out sequences (evaluation only)."""
    phase_epochs: tuple[int, int, int] = (12, 6, 2)
    """Epochs of phases 1, 2 and 3 (one request per phase); the library's ``demo`` preset counts."""
    num_words: int = 256
    """Memory words (a perfect square)."""
    word_size: int = 16
    """Bits per memory word."""
    max_read_range: int = 8
    """Longest read, in words."""
    d_model: int = 32
    """Hidden width of the SLMs and the BLM."""
    state_dim: int = 16
    """World-state size."""
    char_dim: int | None = None
    """Characteristics size; None: 24, or the address codes' size plus 7 when the codes need more."""
    sequence_length: int = 6
    """Steps per sequence."""
    n_slms: int = 3
    """Small models the BLM routes over."""
    oracle: bool = False
    """Also train the oracle baseline (reads the true ranges) and report the share of the gap closed."""
    eval_horizon: int = 3
    """Open-loop horizons of the per-horizon MSE."""
    data_layout: str = "specialty"
    """Relevant ranges: "specialty" (SLM i's third of the memory; the SLMs needed vary) or "columns" (reference)."""
    presence_aware: bool = True
    """Phase 1 teaches SLM confidence = "has a range" and distractor reads, router at 10x lr; False: reference."""
    router_top_k: int = 0
    """Most SLMs gated on per input (0: no cap)."""
    lambda_sparsity: float = 0.0
    """Weight of the routing sparsity loss (mean gate)."""
    lambda_load_balance: float = 0.0
    """Weight of the switch-style load-balancing loss."""
    phase3_info_objective: str = "paired"
    """Phase 3's info term: "paired" (trains the request through the branch with it) or "detached" (reference)."""
    phase3_use_info: bool = True
    """Phase 3 with the info-request loop (False: the ablation without it)."""

    def __post_init__(self) -> None:
        if self.difficulty not in ("easy", "medium", "hard"):
            raise ValueError(f"difficulty must be easy, medium or hard, got {self.difficulty!r}")
        if self.num_train < 1 or self.num_val < 1:
            raise ValueError("num_train and num_val must be >= 1")
        if len(self.phase_epochs) != 3 or any(int(e) < 0 for e in self.phase_epochs):
            raise ValueError(f"phase_epochs needs 3 integers >= 0, got {self.phase_epochs}")
        object.__setattr__(self, "phase_epochs", tuple(int(e) for e in self.phase_epochs))
        if self.data_layout not in ("columns", "specialty"):
            raise ValueError(f"data_layout must be columns or specialty, got {self.data_layout!r}")
        if self.char_dim is not None and self.char_dim < 1:
            raise ValueError(f"char_dim must be >= 1 or None, got {self.char_dim}")
        if not 0 <= self.router_top_k <= self.n_slms:
            raise ValueError(f"router_top_k must be in [0, n_slms={self.n_slms}], got {self.router_top_k}")
        if self.lambda_sparsity < 0 or self.lambda_load_balance < 0:
            raise ValueError("lambda_sparsity and lambda_load_balance must be >= 0")
        if self.phase3_info_objective not in ("paired", "detached"):
            raise ValueError(
                f"phase3_info_objective must be paired or detached, got {self.phase3_info_objective!r}"
            )

    def training_overrides(self) -> dict[str, Any]:
        """The ``TrainingConfig`` fields (over the ``demo`` preset) this config sets, char_dim excepted."""
        e1, e2, e3 = self.phase_epochs
        return {
            "seed": self.seed,
            "state_dim": self.state_dim,
            "sequence_length": self.sequence_length,
            "phase1_epochs": e1,
            "phase2_epochs": e2,
            "phase3_epochs": e3,
            "data_layout": self.data_layout,
            "lambda_confidence": 1.0 if self.presence_aware else 0.0,
            "router_lr_scale": 10.0 if self.presence_aware else 1.0,
            "lambda_sparsity": self.lambda_sparsity,
            "lambda_load_balance": self.lambda_load_balance,
            "phase3_info_objective": self.phase3_info_objective,
            "phase3_use_info": self.phase3_use_info,
        }


class LeWorldRunner(LearnerRunner):
    """Agent side: the LeWorld system, its memory-free (and oracle) baselines, data and phase trainers."""

    def __init__(self, config: LeWorldLearnerConfig) -> None:
        import torch

        from wmverse.leworld import (
            BLMConfig,
            LeWorldSystem,
            MemoryConfig,
            MemoryPopulator,
            SLMConfig,
            TrainingConfig,
            make_datasets,
        )
        from wmverse.leworld.quality import small_char_dim

        c = self.config = config
        mem = MemoryConfig(
            num_words=c.num_words,
            word_size=c.word_size,
            max_read_range=c.max_read_range,
            encoder_dim=32,
            encoder_hidden=64,
        )
        char_dim = c.char_dim if c.char_dim is not None else small_char_dim(c.difficulty, c.data_layout, mem)
        self.train_config = TrainingConfig.preset("demo", char_dim=char_dim, **c.training_overrides())
        slm = SLMConfig(state_dim=c.state_dim, char_dim=char_dim, d_model=c.d_model, info_dim=16)
        blm = BLMConfig(
            state_dim=c.state_dim,
            d_model=c.d_model,
            n_slms=c.n_slms,
            info_dim=16,
            router_top_k=c.router_top_k,
        )
        self.systems: dict[str, Any] = {"leworld": LeWorldSystem(mem, slm, blm, seed=c.seed)}
        MemoryPopulator.structured_patterns(self.systems["leworld"].memory, seed=c.seed)
        baselines = [("memory_free", "zero")] + ([("oracle", "oracle")] if c.oracle else [])
        for name, mode in baselines:
            other = LeWorldSystem(mem, slm, blm, read_mode=mode, seed=c.seed)
            with torch.no_grad():
                other.memory.memory.copy_(self.systems["leworld"].memory.memory)
            self.systems[name] = other
        self.train, self.val = make_datasets(
            self.systems["leworld"], self.train_config, c.num_train, c.num_val, c.difficulty
        )
        self.phases_done: list[int] = []

    def run(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if action == "run_phase":
            return self.run_phase(int(args.get("phase", 0)))
        if action == EVALUATE:
            return self.evaluate()
        raise ValueError(f"the leworld learner cannot run {action!r}")

    def run_phase(self, phase: int) -> dict[str, Any]:
        """Train every system through ``phase`` (1, 2 or 3); per-epoch metrics of LeWorld and baselines."""
        from wmverse.leworld import Phase1Trainer, Phase2Trainer, Phase3Trainer

        trainers = {1: Phase1Trainer, 2: Phase2Trainer, 3: Phase3Trainer}
        if phase not in trainers:
            raise ValueError(f"LeWorld has phases 1, 2 and 3, not {phase}")
        if phase != len(self.phases_done) + 1:
            raise ValueError(f"phase {phase} requested after phases {self.phases_done}: run them in order")
        epochs = self.config.phase_epochs[phase - 1]
        out: dict[str, Any] = {"phase": phase, "epochs": epochs}
        for name, system in self.systems.items():
            trainer = trainers[phase](system, self.train_config, self.train)
            history = [trainer.train_epoch() for _ in range(epochs)]
            key = "epochs" if name == "leworld" else f"epochs_{name}"
            out[key] = [{k: float(v) for k, v in h.items() if k != "lr"} for h in history]
        out["temperature"] = float(self.systems["leworld"].blm.router.temperature)
        last = out["epochs"][-1] if out["epochs"] else {}
        out["loss"] = float(last.get("total_loss", last.get("blm_loss", float("nan"))))
        self.phases_done.append(phase)
        return json_safe(out)

    def evaluate(self) -> dict[str, Any]:
        """Held-out metrics of LeWorld and its baselines (``Evaluator.evaluate``)."""
        from wmverse.leworld import Evaluator

        others = {k: v for k, v in self.systems.items() if k != "leworld"}
        res = Evaluator.evaluate(self.systems["leworld"], self.val, self.config.eval_horizon, **others)
        res["phases_done"] = list(self.phases_done)
        res["table"] = Evaluator.format_table(res)
        return json_safe(res)

    def state_dict(self) -> dict[str, Any]:
        """``phases_done`` and, per system (LeWorld and its baselines), ``LeWorldSystem.checkpoint_state``:
        the SLMs', BLM's and read encoder's weights, the memory bits, the router's annealed temperature
        and what the trainers set outside the weights (``use_info``, the loss weights).

        No optimiser or trainer generator outlives a request: each ``run_phase`` builds its phase's
        trainers (AdamW optimisers, a shuffling generator seeded by ``seed * 10 + phase``) and drops them
        when it returns. The memory's content and the datasets are functions of the config, rebuilt
        identically by the constructor (the memory bits are in the state anyway)."""
        return {
            "phases_done": list(self.phases_done),
            "systems": {name: system.checkpoint_state() for name, system in self.systems.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state["systems"]) != set(self.systems):
            raise ValueError(
                f"leworld state has systems {sorted(state['systems'])}, not {sorted(self.systems)}"
            )
        for name, system in self.systems.items():
            system.restore_checkpoint_state(state["systems"][name])
        self.phases_done = [int(p) for p in state["phases_done"]]

    def status(self) -> str:
        return f"leworld learner: phases done {self.phases_done}"
