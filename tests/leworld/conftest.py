"""Small shared configurations for the LeWorld tests, served by the ``lw`` fixture."""

from types import SimpleNamespace

import pytest

from wmverse.leworld import (
    BLMConfig,
    LeWorldSystem,
    MemoryConfig,
    MemoryPopulator,
    SLMConfig,
    StateTransitionDataset,
    TrainingConfig,
)

MEM = MemoryConfig(num_words=1024, word_size=16, max_read_range=16, encoder_dim=8, encoder_hidden=16)
SLM = SLMConfig(state_dim=8, char_dim=32, d_model=16, n_layers=1, info_dim=4)
BLM = BLMConfig(state_dim=8, d_model=16, n_slms=3, info_dim=4)


def train_config(**overrides) -> TrainingConfig:
    base = dict(
        state_dim=8,
        char_dim=32,
        sequence_length=5,
        phase1_batch_size=16,
        phase2_batch_size=16,
        phase3_batch_size=16,
        phase1_lr=3e-3,
        phase2_lr=3e-3,
        phase3_lr=3e-3,
        phase2_warmup_steps=0,
        phase1_epochs=2,
        phase2_epochs=2,
        phase3_epochs=1,
    )
    return TrainingConfig(**{**base, **overrides})


def system(seed: int = 0, read_mode: str = "slm") -> LeWorldSystem:
    s = LeWorldSystem(MEM, SLM, BLM, read_mode=read_mode, seed=seed)
    MemoryPopulator.structured_patterns(s.memory, seed=0)
    return s


def dataset(
    s: LeWorldSystem, n: int = 32, difficulty: str = "medium", seed: int = 0
) -> StateTransitionDataset:
    return StateTransitionDataset(n, 5, 8, 32, s.memory, difficulty, seed=seed)


@pytest.fixture
def lw() -> SimpleNamespace:
    return SimpleNamespace(
        MEM=MEM, SLM=SLM, BLM=BLM, train_config=train_config, system=system, dataset=dataset
    )


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small ops: one thread avoids contention on the shared 2-core machine (restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
