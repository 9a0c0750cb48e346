"""Sequential three-phase curriculum: independent domains, coupled domains, full integration.

A *phase* trains one shared :class:`CanvasWorldModel` on sub-canvases: each group of
domains (schema path patterns) is one sub-canvas (its positions only), and the phase
cycles through its groups step by step. Sources that have no field in a group are left
out of that group's loader. ``run_phase(i)`` is the step-wise API (one phase per call,
returning a metrics dict); ``run()`` runs them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from wmverse.canvas.data import Source, build_mixed_dataloader
from wmverse.canvas.model import CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import BoundSchema, Schema, SchemaError, default_schema
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig, cycle

#: layer pairs that drive each other (used to couple domains in phase 2)
CAUSAL_ADJACENCY: tuple[tuple[str, str], ...] = (
    ("country_us.macro", "country_us.rates"),
    ("country_de.macro", "country_de.rates"),
    ("country_us.rates", "country_de.rates"),
    ("country_us.macro", "business.pmi"),
    ("country_us.rates", "financial.equities"),
    ("financial.equities", "financial.volatility"),
    ("financial.equities", "corporate.earnings"),
    ("financial.equities", "news.flow"),
    ("financial.fx", "financial.commodities"),
    ("financial.commodities", "financial.crypto"),
    ("country_us.rates", "financial.fx"),
)


@dataclass
class PhaseConfig:
    """One curriculum phase."""

    domains: list[str]
    """Schema patterns (layers, prefixes or globs) the phase covers."""
    canvas_size: int | None = None
    """Most positions per sub-canvas; larger groups are split into chunks of this size."""
    n_steps: int = 100
    """Optimiser steps in the phase (shared by its groups round-robin)."""
    independent: bool = False
    """True: every domain is its own sub-canvas; False: all domains on one canvas."""
    groups: list[list[str]] | None = None
    """Explicit sub-canvases (lists of patterns); overrides ``independent``."""
    name: str = ""
    """Label used in metrics."""


@dataclass
class CurriculumConfig:
    """A sequence of phases and the shared training settings."""

    phases: list[PhaseConfig]
    """Phases in order."""
    batch_size: int = 32
    """Windows per step."""
    window: int = 8
    """Time steps per window."""
    seed: int = 0
    """Seeds the model's initial weights, masking and sampling."""
    model: CanvasModelConfig = field(default_factory=CanvasModelConfig)
    """Network size."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """Optimisation settings (its seed is replaced by ``seed``)."""
    source_weights: dict[str, float] | None = None
    """Dataset name -> how often its windows are drawn relative to the others (1 when not given)."""


def bind_sources(sources: Sequence[Source], schema: Schema | None = None) -> BoundSchema:
    """A canvas of exactly the fields the sources provide, in schema order."""
    schema = schema or default_schema()
    wanted = {s.field_path for spec, _ in sources for s in spec.input_specs}
    return schema.bind([p for p in schema.paths if p in wanted])


def phase_groups(phase: PhaseConfig, bound: BoundSchema) -> list[list[int]]:
    """Canvas positions of each sub-canvas of ``phase`` (groups with no bound field are dropped)."""
    if phase.groups is not None:
        pattern_groups = phase.groups
    elif phase.independent:
        pattern_groups = [[d] for d in phase.domains]
    else:
        pattern_groups = [list(phase.domains)]
    out: list[list[int]] = []
    for pats in pattern_groups:
        try:
            pos = bound.positions_for(pats)
        except SchemaError:
            continue
        size = phase.canvas_size or len(pos)
        out.extend(pos[i : i + size] for i in range(0, len(pos), size))
    return out


def layers_on(bound: BoundSchema) -> list[str]:
    """Layers present on the canvas, in canvas order."""
    out: list[str] = []
    for f in bound.fields:
        if f.layer not in out:
            out.append(f.layer)
    return out


def default_curriculum(
    bound: BoundSchema, n_steps: Sequence[int] = (100, 80, 200), **kwargs
) -> CurriculumConfig:
    """The rule-based three phases: each layer alone; causally adjacent layers in pairs
    (consecutive layers when no known pair is present); everything on one canvas."""
    layers = layers_on(bound)
    pairs = [[a, b] for a, b in CAUSAL_ADJACENCY if a in layers and b in layers]
    if not pairs:
        pairs = [layers[i : i + 2] for i in range(0, len(layers), 2)]
    phases = [
        PhaseConfig(domains=layers, independent=True, n_steps=n_steps[0], name="independent"),
        PhaseConfig(domains=layers, groups=pairs, n_steps=n_steps[1], name="coupling"),
        PhaseConfig(domains=layers, n_steps=n_steps[2], name="integration"),
    ]
    return CurriculumConfig(phases=phases, **kwargs)


def sources_for(sources: Sequence[Source], bound: BoundSchema, positions: Sequence[int]) -> list[Source]:
    """The sources that provide at least one field at ``positions``."""
    paths = {bound.fields[i].path for i in positions}
    return [(spec, data) for spec, data in sources if any(s.field_path in paths for s in spec.input_specs)]


def train_positions(
    trainer: MaskedCanvasTrainer,
    sources: Sequence[Source],
    groups: Sequence[Sequence[int]],
    n_steps: int,
    batch_size: int,
    window: int,
    seed: int,
    progress: bool = False,
    desc: str = "canvas",
    source_weights: dict[str, float] | None = None,
    start: int = 0,
    stop: int | None = None,
    losses: dict[str, list[float]] | None = None,
) -> dict[str, float]:
    """Train ``trainer`` on steps ``start``..``stop`` (default: all ``n_steps``) of a phase cycling over
    sub-canvases ``groups``; mean metrics per group over the phase's steps so far.

    A phase trained in parts (0..k, then k..n) trains exactly as in one go: the loaders are rebuilt from
    ``seed`` and the batches of the earlier steps drawn again and skipped. ``losses`` (per metric, the
    losses of the phase's earlier steps) is extended in place, so the means cover the whole phase so far."""
    from tqdm.auto import tqdm

    bound = trainer.bound
    iters, ids, names = [], [], []
    for g in groups:
        srcs = sources_for(sources, bound, g)
        if not srcs:
            continue
        loader = build_mixed_dataloader(
            bound, srcs, batch_size=batch_size, window=window, seed=seed, source_weights=source_weights
        )
        iters.append(cycle(loader))
        ids.append(torch.as_tensor(list(g)))
        names.append(
            bound.fields[g[0]].layer
            if len({bound.fields[i].layer for i in g}) == 1
            else "+".join(sorted({bound.fields[i].layer for i in g}))
        )
    if not iters:
        return {"loss": float("nan"), "skipped": 1.0}
    stop = n_steps if stop is None else stop
    if not 0 <= start <= stop <= n_steps:
        raise ValueError(f"steps {start}..{stop} are not within the phase's {n_steps}")
    for step in range(start):  # the batches the phase's earlier parts trained on
        next(iters[step % len(iters)])
    trainer.source_names = None
    sums: dict[str, list[float]] = {} if losses is None else losses
    for step in tqdm(range(start, stop), desc=desc, disable=not progress, leave=False):
        k = step % len(iters)
        m = trainer.step(next(iters[k]), ids[k])
        sums.setdefault("loss", []).append(m["loss"])
        sums.setdefault(f"loss/{names[k]}", []).append(m["loss"])
    return {key: sum(v) / len(v) for key, v in sums.items()}


class CurriculumTrainer:
    """Runs a :class:`CurriculumConfig` on one shared model; ``run_phase(i)`` is one world action."""

    def __init__(
        self,
        config: CurriculumConfig,
        sources: Sequence[Source],
        bound: BoundSchema | None = None,
        model: CanvasWorldModel | None = None,
        progress: bool = False,
    ) -> None:
        if not config.phases:
            raise ValueError("a curriculum needs at least one phase")
        self.config, self.sources, self.progress = config, list(sources), progress
        self.bound = bound or bind_sources(self.sources)
        self.model = model or CanvasWorldModel(self.bound, config.model, seed=config.seed)
        tcfg = TrainerConfig(**{**config.trainer.__dict__, "seed": config.seed})
        self.trainer = MaskedCanvasTrainer(self.bound, model=self.model, config=tcfg)
        self.next_phase = 0
        self.history: list[dict[str, float]] = []
        #: Steps of ``next_phase`` already trained (a phase asked in parts) and their losses, per metric.
        self.phase_step = 0
        self.phase_losses: dict[str, list[float]] = {}

    def run_phase(self, i: int | None = None, steps: int | None = None) -> dict[str, float]:
        """Train phase ``i`` (the next one when None), or only its next ``steps`` steps; returns the metrics of
        the phase so far (``phase``, ``loss``, ``loss/<group>``). A phase run in parts trains exactly as in one
        go; it is done (``next_phase`` moves on, ``history`` gets its metrics) when its last step ran, and
        until then only it may run (ValueError)."""
        i = self.next_phase if i is None else i
        if not 0 <= i < len(self.config.phases):
            raise IndexError(f"phase {i} out of range (0..{len(self.config.phases) - 1})")
        if self.phase_step and i != self.next_phase:
            raise ValueError(f"phase {self.next_phase} is part-way ({self.phase_step} steps): run it first")
        if steps is not None and steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        ph = self.config.phases[i]
        start = self.phase_step if i == self.next_phase else 0
        stop = ph.n_steps if steps is None else min(ph.n_steps, start + steps)
        groups = phase_groups(ph, self.bound)
        if not start:
            self.phase_losses = {}
        metrics = train_positions(
            self.trainer,
            self.sources,
            groups,
            ph.n_steps,
            self.config.batch_size,
            self.config.window,
            seed=self.config.seed + 1000 * i,
            progress=self.progress,
            desc=f"phase {i} {ph.name}",
            source_weights=self.config.source_weights,
            start=start,
            stop=stop,
            losses=self.phase_losses,
        )
        metrics = {"phase": float(i), "n_groups": float(len(groups)), **metrics}
        if stop < ph.n_steps:
            self.next_phase, self.phase_step = i, stop
            return metrics
        self.history.append(metrics)
        self.next_phase, self.phase_step, self.phase_losses = i + 1, 0, {}
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """A copy of the curriculum's position (``next_phase``, ``phase_step`` and ``phase_losses`` of a phase
        part-way, ``history``) and of its trainer's state (:meth:`MaskedCanvasTrainer.state_dict`: model,
        optimiser, generator). A phase's loaders are rebuilt from ``seed + 1000 * phase`` at each run, so no
        loader position needs keeping."""
        return {
            "next_phase": self.next_phase,
            "phase_step": self.phase_step,
            "phase_losses": {k: list(v) for k, v in self.phase_losses.items()},
            "history": [dict(m) for m in self.history],
            "trainer": self.trainer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured (same curriculum, sources and model config)."""
        self.trainer.load_state_dict(state["trainer"])
        self.next_phase = int(state["next_phase"])
        self.phase_step = int(state.get("phase_step", 0))
        self.phase_losses = {k: [float(x) for x in v] for k, v in state.get("phase_losses", {}).items()}
        self.history = [dict(m) for m in state["history"]]

    def run(self) -> list[dict[str, float]]:
        """All remaining phases in order."""
        out = []
        while self.next_phase < len(self.config.phases):
            out.append(self.run_phase())
        return out
