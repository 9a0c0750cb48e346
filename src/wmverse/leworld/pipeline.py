"""The full three-phase pipeline, with the Evaluator's two baselines trained alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from .config import BLMConfig, MemoryConfig, SLMConfig, TrainingConfig
from .data import StateTransitionDataset
from .evaluate import Evaluator
from .populate import MemoryPopulator
from .system import LeWorldSystem
from .trainers import Phase1Trainer, Phase2Trainer, Phase3Trainer

Log = Callable[[str], None]

#: memory of the demo preset: 128 x 128 addresses of 32 bits, reads of up to 64 words
DEMO_MEMORY = MemoryConfig(num_words=16384, word_size=32, max_read_range=64)


def make_datasets(
    system: LeWorldSystem, config: TrainingConfig, num_train: int, num_val: int, difficulty: str
) -> tuple[StateTransitionDataset, StateTransitionDataset]:
    """Train and held-out datasets over ``system.memory`` (seeds derived from ``config.seed``)."""
    common = dict(
        seq_length=config.sequence_length,
        state_dim=config.state_dim,
        char_dim=config.char_dim,
        memory=system.memory,
        difficulty=difficulty,
        layout=config.data_layout,
    )
    train = StateTransitionDataset(num_train, seed=config.seed * 2 + 1, **common)
    val = StateTransitionDataset(num_val, seed=config.seed * 2 + 2, **common)
    return train, val


def train_phases(
    system: LeWorldSystem,
    config: TrainingConfig,
    train: StateTransitionDataset,
    *,
    log: Log = print,
    name: str = "leworld",
) -> list[dict]:
    """Run phases 1-3 for the configured epochs, logging one line per epoch; returns the history."""
    history: list[dict] = []
    for phase, trainer_cls, epochs in (
        (1, Phase1Trainer, config.phase1_epochs),
        (2, Phase2Trainer, config.phase2_epochs),
        (3, Phase3Trainer, config.phase3_epochs),
    ):
        trainer = trainer_cls(system, config, train)
        for _ in range(epochs):
            t0 = time.perf_counter()
            metrics = trainer.train_epoch()
            metrics.update(phase=phase, seconds=time.perf_counter() - t0)
            history.append(metrics)
            shown = ", ".join(
                f"{k}={v:.4g}" for k, v in metrics.items() if k not in ("phase", "epoch", "seconds", "lr")
            )
            log(
                f"[{name}] phase {phase} epoch {metrics['epoch']}/{epochs}: {shown} ({metrics['seconds']:.1f}s)"
            )
    return history


def run_training(
    system: LeWorldSystem,
    train_config: TrainingConfig,
    num_train_sequences: int = 1000,
    num_val_sequences: int = 200,
    *,
    difficulty: str = "medium",
    baselines: bool = True,
    n_eval_steps: int = 5,
    log: Log = print,
) -> dict:
    """Populate the memory (structured patterns), generate data, train the three phases,
    train the baselines alike (memory-free, oracle) and evaluate on held-out sequences.

    Returns the :meth:`Evaluator.evaluate` result plus ``history`` (per-epoch metrics per model).
    """
    if (
        train_config.state_dim != system.slm_config.state_dim
        or train_config.char_dim != system.slm_config.char_dim
    ):
        raise ValueError(
            "mismatched dimensions: TrainingConfig state_dim/char_dim "
            f"({train_config.state_dim}/{train_config.char_dim}) differ from the system's SLMs "
            f"({system.slm_config.state_dim}/{system.slm_config.char_dim})"
        )
    log(
        f"[setup] populating memory ({system.memory_config.num_words} x {system.memory_config.word_size} bits)"
    )
    MemoryPopulator.structured_patterns(system.memory, seed=train_config.seed)
    train, val = make_datasets(system, train_config, num_train_sequences, num_val_sequences, difficulty)
    log(
        f"[setup] {difficulty}: {len(train)} training and {len(val)} held-out sequences of {train_config.sequence_length} steps"
    )
    history = {"leworld": train_phases(system, train_config, train, log=log)}
    others: dict[str, LeWorldSystem] = {}
    if baselines:
        for mode, name in (("zero", "memory_free"), ("oracle", "oracle")):
            other = LeWorldSystem(
                system.memory_config,
                system.slm_config,
                system.blm_config,
                read_mode=mode,
                seed=train_config.seed,
            )
            other.memory.memory.copy_(system.memory.memory)
            history[name] = train_phases(other, train_config, train, log=log, name=name)
            others[name] = other
    result = Evaluator.evaluate(system, val, n_eval_steps, **others)
    result["history"] = history
    log(Evaluator.format_table(result))
    return result


def default_system(
    config: TrainingConfig, *, memory: MemoryConfig | None = None, n_slms: int = 3
) -> LeWorldSystem:
    """A LeWorldSystem whose sizes match ``config`` (state_dim, char_dim) and its seed."""
    slm = SLMConfig(state_dim=config.state_dim, char_dim=config.char_dim)
    blm = BLMConfig(state_dim=config.state_dim, n_slms=n_slms)
    return LeWorldSystem(memory or MemoryConfig(), slm, blm, seed=config.seed)


def demo_config(difficulty: str, seed: int = 0, *, preset: str = "demo", **overrides) -> TrainingConfig:
    """The ``demo`` (or ``routed``) preset with a char_dim large enough for ``difficulty``'s address codes."""
    config = TrainingConfig.preset(preset, seed=seed, **overrides)
    if difficulty == "hard" and config.char_dim < 69 and "char_dim" not in overrides:
        config = replace(config, char_dim=72)
    return config
