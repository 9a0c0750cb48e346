"""LeWorld: small models that read a bit memory, a big model that routes over them.

Seed 001 of wmverse: an artificial bit memory, SLMs that choose what to read, a BLM that
routes over the reads and predicts the next state, an info request that modulates the
SLMs at the next step, and a three-phase training procedure.
"""

from .blm import BigLeWorldModel, Router
from .config import BLMConfig, MemoryConfig, SLMConfig, TrainingConfig
from .data import StateTransitionDataset
from .evaluate import Evaluator
from .memory import ArtificialMemory, MemoryRead
from .pipeline import DEMO_MEMORY, default_system, demo_config, make_datasets, run_training, train_phases
from .populate import MemoryPopulator
from .slm import AddressHead, SmallLeWorldModel
from .system import LeWorldSystem, count_params
from .trainers import Phase1Trainer, Phase2Trainer, Phase3Trainer

__all__ = [
    "AddressHead",
    "ArtificialMemory",
    "BLMConfig",
    "DEMO_MEMORY",
    "BigLeWorldModel",
    "Evaluator",
    "LeWorldSystem",
    "MemoryConfig",
    "MemoryPopulator",
    "MemoryRead",
    "Phase1Trainer",
    "Phase2Trainer",
    "Phase3Trainer",
    "Router",
    "SLMConfig",
    "SmallLeWorldModel",
    "StateTransitionDataset",
    "TrainingConfig",
    "count_params",
    "default_system",
    "demo_config",
    "make_datasets",
    "run_training",
    "train_phases",
]
