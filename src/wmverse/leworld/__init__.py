"""LeWorld: small models that read a bit memory, a big model that routes over them.

An artificial bit memory (:class:`ArtificialMemory`), small models (SLMs) that choose
which range of it to read, a big model (BLM) that routes over the reads and predicts the
next state, an info request from the BLM that modulates the SLMs at the next step, and
three training phases (:mod:`.trainers`); :class:`Evaluator` compares the result with a
memory-free and an oracle baseline of the same architecture, and :func:`leworld_quality`
does so over seeds with an interval and a paired test (:mod:`.quality`).

This package implements wmverse's seed 001 (LeWorld). Where it departs from that seed's
reference code, the module that departs says how and why; "the reference" in these
docstrings means that code.
"""

from .blm import BigLeWorldModel, Router
from .config import BLMConfig, MemoryConfig, SLMConfig, TrainingConfig
from .data import StateTransitionDataset
from .evaluate import Evaluator
from .memory import ArtificialMemory, MemoryRead
from .pipeline import DEMO_MEMORY, default_system, demo_config, make_datasets, run_training, train_phases
from .populate import MemoryPopulator
from .quality import format_ablation, format_quality, info_request_ablation, leworld_quality, small_run
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
    "format_ablation",
    "format_quality",
    "info_request_ablation",
    "leworld_quality",
    "make_datasets",
    "run_training",
    "small_run",
    "train_phases",
]
