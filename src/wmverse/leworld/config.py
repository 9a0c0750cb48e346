"""Typed configurations of LeWorld: memory, small models (SLMs), big model (BLM), training.

Every config validates itself in ``__post_init__`` and raises ``ValueError`` with a
message that names the offending field. Cross-config consistency (the SLMs and the BLM
agree on the state size, ...) is checked by :class:`~wmverse.leworld.system.LeWorldSystem`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

#: phase 3's info term: with a gradient through the branch with the request, or the reference's detached one
PHASE3_INFO_OBJECTIVES = ("paired", "detached")
#: what the ``routed`` preset adds to ``demo``: specialty data, presence-aware phase 1, a faster router
ROUTED = {"data_layout": "specialty", "lambda_confidence": 1.0, "router_lr_scale": 10.0}
#: where a sequence's relevant ranges lie (see :mod:`~wmverse.leworld.data`)
DATA_LAYOUTS = ("columns", "specialty")


def _positive(name: str, value: int | float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class MemoryConfig:
    """A bit memory of ``num_words x word_size`` addressed by a (high, low) pair."""

    #: number of words; must be a perfect square: an address is ``high * half_space + low``
    num_words: int = 65536
    #: bits per word
    word_size: int = 32
    #: longest range (in words) one read may cover
    max_read_range: int = 128
    #: width of the encoding of what was read
    encoder_dim: int = 64
    #: hidden width of the read encoder
    encoder_hidden: int = 128

    def __post_init__(self) -> None:
        for name in ("num_words", "word_size", "max_read_range", "encoder_dim", "encoder_hidden"):
            _positive(name, getattr(self, name))
        half = math.isqrt(self.num_words)
        if half * half != self.num_words or half < 2:
            raise ValueError(
                f"num_words must be a perfect square >= 4 (address = high * half_space + low), got {self.num_words}"
            )
        if self.max_read_range > self.num_words:
            raise ValueError(
                f"max_read_range ({self.max_read_range}) goes past the memory (num_words={self.num_words})"
            )

    @property
    def half_space(self) -> int:
        """Number of values of each address byte (256 for 65536 words)."""
        return math.isqrt(self.num_words)


@dataclass(frozen=True)
class SLMConfig:
    """One small LeWorld model: (past, current, characteristics) -> address range."""

    #: size of a world state
    state_dim: int = 64
    #: size of the static per-sequence characteristics
    char_dim: int = 64
    #: hidden width (the BLM sees this hidden state)
    d_model: int = 128
    #: number of hidden layers of the trunk
    n_layers: int = 2
    #: size of the BLM's info request that modulates the SLM
    info_dim: int = 32

    def __post_init__(self) -> None:
        for name in ("state_dim", "char_dim", "d_model", "n_layers", "info_dim"):
            _positive(name, getattr(self, name))


@dataclass(frozen=True)
class BLMConfig:
    """The big LeWorld model: routes over the SLMs and predicts the next state."""

    #: size of a world state (must equal the SLMs')
    state_dim: int = 64
    #: hidden width
    d_model: int = 128
    #: number of SLMs the router chooses among
    n_slms: int = 3
    #: size of the info request sent to the SLMs at the next step (must equal the SLMs')
    info_dim: int = 32
    #: router temperature before annealing
    temperature_init: float = 1.0
    #: most SLMs gated on per input (the k highest gates above 0.5); 0: no cap
    router_top_k: int = 0

    def __post_init__(self) -> None:
        if self.n_slms < 1:
            raise ValueError(f"n_slms must be at least 1 (LeWorld routes over SLMs), got {self.n_slms}")
        for name in ("state_dim", "d_model", "info_dim", "temperature_init"):
            _positive(name, getattr(self, name))
        if not 0 <= self.router_top_k <= self.n_slms:
            raise ValueError(f"router_top_k must be in [0, n_slms={self.n_slms}], got {self.router_top_k}")


@dataclass(frozen=True)
class TrainingConfig:
    """Full training configuration: learning rates, epochs and batch sizes of the three phases, loss
    weights, router annealing, data sizes and the seed (defaults: the ``"seed"`` preset)."""

    #: phase 1 learning rate
    phase1_lr: float = 1e-3
    #: phase 1 epochs
    phase1_epochs: int = 50
    #: phase 1 batch size
    phase1_batch_size: int = 32
    #: phase 2 learning rate
    phase2_lr: float = 3e-4
    #: phase 2 epochs (also sets the cosine restart period: epochs // 3)
    phase2_epochs: int = 100
    #: phase 2 batch size
    phase2_batch_size: int = 16
    #: phase 2 linear learning-rate warm-up, in optimiser steps
    phase2_warmup_steps: int = 500
    #: phase 3 learning rate (info-request modules; the rest gets 0.1x, the memory 0.01x)
    phase3_lr: float = 1e-4
    #: phase 3 epochs
    phase3_epochs: int = 50
    #: phase 3 batch size
    phase3_batch_size: int = 16
    #: AdamW weight decay
    weight_decay: float = 0.01
    #: gradient-norm clip
    grad_clip: float = 1.0
    #: size of a world state
    state_dim: int = 64
    #: size of the characteristics (64, not the reference's 32: they encode the relevant addresses)
    char_dim: int = 64
    #: timesteps per sequence
    sequence_length: int = 20
    #: weight of the routing-balance loss
    lambda_balance: float = 0.01
    #: weight of the address-diversity loss
    lambda_diversity: float = 0.001
    #: weight of the routing-entropy loss
    lambda_entropy: float = 0.01
    #: weight of the info-request utility (phase 3 paired branches)
    lambda_info_util: float = 0.1
    #: weight of the routing sparsity loss (mean gate: pushes unneeded SLMs off), phases 2 and 3
    lambda_sparsity: float = 0.0
    #: > 0: presence-aware phase 1 (SLM confidence loss "my column has a range" at this weight); 0: reference
    lambda_confidence: float = 0.0
    #: weight of the switch-style load-balancing loss (n * sum_i load_i * gate_share_i), phases 2 and 3
    lambda_load_balance: float = 0.0
    #: learning-rate multiplier of the router's gate network in every phase (weak straight-through gradient)
    router_lr_scale: float = 1.0
    #: phase 3's info term: "paired" (gradient through the branch with the request), "detached" (reference)
    phase3_info_objective: str = "paired"
    #: phase 3 trains with the info-request loop (False: the ablation, phase 3 on the branch without it)
    phase3_use_info: bool = True
    #: relevant ranges: "columns" (range k in column k) or "specialty" (each SLM owns a third of the memory)
    data_layout: str = "columns"
    #: router temperature decay per phase-2 step: T = max(temp_min, T0 * exp(-rate * step))
    temp_anneal_rate: float = 3e-5
    #: floor of the router temperature
    temp_min: float = 0.1
    #: seed of shuffling and of everything else the trainers draw
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "phase1_lr",
            "phase2_lr",
            "phase3_lr",
            "phase1_batch_size",
            "phase2_batch_size",
            "phase3_batch_size",
            "grad_clip",
            "state_dim",
            "char_dim",
            "temp_min",
        ):
            _positive(name, getattr(self, name))
        _positive("router_lr_scale", self.router_lr_scale)
        for name in ("phase1_epochs", "phase2_epochs", "phase3_epochs", "phase2_warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.sequence_length < 2:
            raise ValueError(f"sequence_length must be >= 2 (one transition), got {self.sequence_length}")
        for name in (
            "lambda_balance",
            "lambda_diversity",
            "lambda_entropy",
            "lambda_info_util",
            "lambda_sparsity",
            "lambda_load_balance",
            "lambda_confidence",
            "weight_decay",
            "temp_anneal_rate",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.phase3_info_objective not in PHASE3_INFO_OBJECTIVES:
            raise ValueError(
                f"phase3_info_objective must be one of {PHASE3_INFO_OBJECTIVES}, got {self.phase3_info_objective!r}"
            )
        if self.data_layout not in DATA_LAYOUTS:
            raise ValueError(f"data_layout must be one of {DATA_LAYOUTS}, got {self.data_layout!r}")

    @classmethod
    def preset(cls, name: str, **overrides) -> TrainingConfig:
        """Named presets: ``"seed"`` (the reference defaults above), ``"demo"`` (small, fast phases) and
        ``"routed"`` (``demo`` on specialty data with presence-aware phase 1: the router then gates on,
        per input, only the SLMs that input needs; the world's learner runs it)."""
        demo = {
            "phase1_epochs": 12,
            "phase2_epochs": 6,
            "phase3_epochs": 2,
            "phase1_batch_size": 32,
            "phase2_batch_size": 32,
            "phase3_batch_size": 32,
            "phase1_lr": 3e-3,
            "phase2_lr": 1e-3,
            "phase3_lr": 3e-4,
            "phase2_warmup_steps": 20,
            "sequence_length": 10,
            "temp_anneal_rate": 3e-3,
        }
        presets = {
            "seed": {},
            "demo": demo,
            "routed": {**demo, **ROUTED},
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(presets)}")
        return replace(cls(), **{**presets[name], **overrides})
