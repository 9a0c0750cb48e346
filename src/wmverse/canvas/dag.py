"""Fork-join DAG curriculum: nodes train projections of the canvas; forks copy weights, joins average.

A node with no parent starts from the shared initial weights; with one parent it starts
from a copy of the parent's trained weights (fork); with several it starts from their
average over parameters whose name and shape match (join; others come from the first
parent). Nodes of one tier are independent and run in parallel: in local spawned
processes by default, on a Ray cluster when ``ray_address`` is given. Every node's seed
derives from the trainer seed and the node's name, and every node trains with one
thread, so results do not depend on the executor or on scheduling order.
"""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import torch

from wmverse.canvas.curriculum import bind_sources, sources_for, train_positions
from wmverse.canvas.data import Source
from wmverse.canvas.model import CanvasModelConfig, CanvasWorldModel
from wmverse.canvas.schema import BoundSchema, SchemaError
from wmverse.canvas.trainer import MaskedCanvasTrainer, TrainerConfig


@dataclass(frozen=True)
class DAGNode:
    """One training node of the DAG."""

    name: str
    """Unique node name."""
    domains: tuple[str, ...]
    """Schema patterns forming the node's canvas projection."""
    parents: tuple[str, ...] = ()
    """Nodes whose weights this one starts from (fork: one, join: several)."""
    n_steps: int = 100
    """Optimiser steps."""


def _n(name: str, domains: Sequence[str], parents: Sequence[str] = ()) -> DAGNode:
    return DAGNode(name, tuple(domains), tuple(parents))


#: 12 nodes in 4 tiers: 6 foundation domains -> 3 cross-domain -> 2 complex -> 1 integration
STANDARD_DAG: tuple[DAGNode, ...] = (
    _n(
        "real_economy",
        [
            "country_us.macro.output",
            "country_us.macro.consumption",
            "country_us.macro.investment",
            "country_us.macro.fiscal",
            "country_us.macro.income",
        ],
    ),
    _n(
        "prices_labor",
        [
            "country_us.macro.inflation",
            "country_us.macro.labor",
            "country_us.macro.money",
            "country_us.macro.demographics",
            "country_us.macro.housing",
            "country_de.macro",
        ],
    ),
    _n("rates", ["country_us.rates", "country_de.rates"]),
    _n("equities", ["financial.equities", "financial.volatility"]),
    _n("fx_commodities", ["financial.fx", "financial.commodities", "financial.crypto"]),
    _n("business_signals", ["business.pmi", "corporate.earnings", "news.flow"]),
    _n("macro", ["country_us.macro", "country_de.macro"], ["real_economy", "prices_labor"]),
    _n(
        "rates_markets",
        ["country_us.rates", "country_de.rates", "financial.equities", "financial.volatility"],
        ["rates", "equities"],
    ),
    _n(
        "global_signals",
        [
            "financial.fx",
            "financial.commodities",
            "financial.crypto",
            "business.pmi",
            "corporate.earnings",
            "news.flow",
        ],
        ["fx_commodities", "business_signals"],
    ),
    _n(
        "macro_finance",
        ["country_us", "country_de", "financial.equities", "financial.volatility"],
        ["macro", "rates_markets"],
    ),
    _n(
        "markets_signals",
        ["country_us.rates", "financial", "business", "corporate", "news"],
        ["rates_markets", "global_signals"],
    ),
    _n(
        "integration",
        ["country_us", "country_de", "financial", "business", "corporate", "news"],
        ["macro_finance", "markets_signals"],
    ),
)


def with_steps(nodes: Sequence[DAGNode], n_steps: int) -> list[DAGNode]:
    """The same DAG with every node's ``n_steps`` replaced."""
    return [DAGNode(n.name, n.domains, n.parents, n_steps) for n in nodes]


def tiers(nodes: Sequence[DAGNode]) -> list[list[str]]:
    """Topological levels: tier k holds nodes whose deepest parent is in tier k-1.

    Raises ``ValueError`` on duplicate names, unknown parents or cycles."""
    by_name = {n.name: n for n in nodes}
    if len(by_name) != len(nodes):
        raise ValueError("DAG node names must be unique")
    for n in nodes:
        for p in n.parents:
            if p not in by_name:
                raise ValueError(f"node {n.name!r} has unknown parent {p!r}")
    level: dict[str, int] = {}
    remaining = list(nodes)
    while remaining:
        ready = [n for n in remaining if all(p in level for p in n.parents)]
        if not ready:
            raise ValueError(f"the DAG has a cycle among {[n.name for n in remaining]}")
        for n in ready:
            level[n.name] = 1 + max((level[p] for p in n.parents), default=-1)
        remaining = [n for n in remaining if n.name not in level]
    out: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for n in nodes:
        out[level[n.name]].append(n.name)
    return out


def fork_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An independent copy of a parent's weights for one branch."""
    return {k: v.detach().clone() for k, v in state.items()}


def join_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Average floating-point tensors whose name and shape match in every state; everything
    else (missing somewhere, other shape, integer buffers) is taken from the first state."""
    if not states:
        raise ValueError("join_states needs at least one state")
    out = fork_state(states[0])
    for k, v in out.items():
        if not v.is_floating_point():
            continue
        if all(k in s and s[k].shape == v.shape for s in states[1:]):
            out[k] = torch.stack([s[k].to(v.dtype) for s in states]).mean(0)
    return out


def node_seed(seed: int, name: str) -> int:
    """Stable per-node seed (crc32 of the name; independent of Python's hash randomisation)."""
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**31)


def build_model(
    bound: BoundSchema,
    cfg: CanvasModelConfig,
    seed: int,
    backbone: str = "canvas",
    pretrained_model_id: str | None = None,
) -> CanvasWorldModel:
    """The node model: the from-scratch canvas backbone, or the CogVideoX graft."""
    if backbone == "canvas":
        return CanvasWorldModel(bound, cfg, seed=seed)
    if backbone == "cogvideox":
        from wmverse.canvas.cogvideox import CogVideoXGraft

        graft = CogVideoXGraft(cfg.d_model, pretrained_model_id or "THUDM/CogVideoX-2b")
        return CanvasWorldModel(bound, cfg, seed=seed, backbone=graft)
    raise ValueError(f"backbone must be 'canvas' or 'cogvideox', got {backbone!r}")


def train_node_job(job: dict) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Train one node from ``job`` (picklable; run in this or another process). Returns ``(state, metrics)``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model(
            job["bound"], job["model_cfg"], job["seed"], job["backbone"], job["pretrained_model_id"]
        )
        model.load_state_dict(job["state"])
        tcfg = TrainerConfig(**{**job["trainer_cfg"].__dict__, "seed": job["seed"]})
        trainer = MaskedCanvasTrainer(job["bound"], model=model, config=tcfg)
        metrics = train_positions(
            trainer,
            job["sources"],
            [job["positions"]],
            job["n_steps"],
            job["batch_size"],
            job["window"],
            seed=job["seed"],
            progress=job["progress"],
            desc=job["name"],
        )
        return {k: v.detach().clone() for k, v in model.state_dict().items()}, metrics
    finally:
        torch.set_num_threads(threads)


@dataclass
class DAGTrainerState:
    """What the DAG trainer has produced so far."""

    states: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """Trained weights per finished node."""
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """Metrics per finished node."""


class DAGCurriculumTrainer:
    """Runs a DAG of :class:`DAGNode`; ``run_node`` / ``run_tier`` are the step-wise API."""

    def __init__(
        self,
        nodes: Sequence[DAGNode],
        data_sources: Sequence[Source],
        bound: BoundSchema | None = None,
        model_config: CanvasModelConfig | None = None,
        trainer_config: TrainerConfig | None = None,
        batch_size: int = 32,
        window: int = 8,
        seed: int = 0,
        executor: str = "process",
        max_workers: int | None = None,
        ray_address: str | None = None,
        backbone: str = "canvas",
        pretrained_model_id: str | None = None,
        device: str = "cpu",
        progress: bool = False,
    ) -> None:
        """``executor``: ``process`` (spawned local processes), ``serial`` (this process) or
        ``ray`` (implied by ``ray_address``). Only ``device="cpu"`` is supported here."""
        if device != "cpu":
            raise ValueError(f"only device='cpu' is supported, got {device!r}")
        if ray_address is not None:
            executor = "ray"
        if executor not in ("process", "serial", "ray"):
            raise ValueError(f"executor must be 'process', 'serial' or 'ray', got {executor!r}")
        self.nodes = {n.name: n for n in nodes}
        self.tier_names = tiers(list(nodes))
        self.sources = list(data_sources)
        self.bound = bound or bind_sources(self.sources)
        self.model_cfg = model_config or CanvasModelConfig()
        self.trainer_cfg = trainer_config or TrainerConfig()
        self.batch_size, self.window, self.seed = batch_size, window, seed
        self.executor, self.max_workers, self.ray_address = executor, max_workers, ray_address
        self.backbone, self.pretrained_model_id, self.progress = backbone, pretrained_model_id, progress
        self.initial = build_model(
            self.bound, self.model_cfg, seed, backbone, pretrained_model_id
        ).state_dict()
        self.result = DAGTrainerState()

    def start_state(self, name: str) -> dict[str, torch.Tensor]:
        """Weights node ``name`` starts from: shared init, a fork of its parent, or a join of its parents."""
        node = self.nodes[name]
        missing = [p for p in node.parents if p not in self.result.states]
        if missing:
            raise RuntimeError(f"node {name!r} needs its parents {missing} trained first")
        if not node.parents:
            return fork_state(self.initial)
        if len(node.parents) == 1:
            return fork_state(self.result.states[node.parents[0]])
        return join_states([self.result.states[p] for p in node.parents])

    def _job(self, name: str) -> dict | None:
        node = self.nodes[name]
        try:
            positions = self.bound.positions_for(list(node.domains))
        except SchemaError:
            positions = []
        if not positions or not sources_for(self.sources, self.bound, positions):
            return None
        return {
            "name": name,
            "bound": self.bound,
            "model_cfg": self.model_cfg,
            "trainer_cfg": self.trainer_cfg,
            "state": self.start_state(name),
            "sources": sources_for(self.sources, self.bound, positions),
            "positions": positions,
            "n_steps": node.n_steps,
            "batch_size": self.batch_size,
            "window": self.window,
            "seed": node_seed(self.seed, name),
            "backbone": self.backbone,
            "pretrained_model_id": self.pretrained_model_id,
            "progress": self.progress,
        }

    def _finish(
        self, name: str, state: dict[str, torch.Tensor], metrics: dict[str, float]
    ) -> dict[str, float]:
        self.result.states[name] = state
        node = self.nodes[name]
        kind = "join" if len(node.parents) > 1 else "fork" if node.parents else "root"
        out = {"tier": float(next(i for i, t in enumerate(self.tier_names) if name in t)), **metrics}
        out[f"start/{kind}"] = 1.0
        self.result.metrics[name] = out
        return out

    def run_node(self, name: str) -> dict[str, float]:
        """Train one node in this process (its parents must be done); returns its metrics.

        A node none of whose fields any source provides passes its start weights through
        (metrics ``skipped = 1``)."""
        if name not in self.nodes:
            raise KeyError(f"unknown DAG node {name!r}")
        job = self._job(name)
        if job is None:
            return self._finish(name, self.start_state(name), {"loss": float("nan"), "skipped": 1.0})
        state, metrics = train_node_job(job)
        return self._finish(name, state, metrics)

    def run_tier(self, k: int) -> dict[str, dict[str, float]]:
        """Train every node of tier ``k``, in parallel per the executor; ``{node: metrics}``."""
        names = self.tier_names[k]
        jobs = {n: self._job(n) for n in names}
        todo = [n for n in names if jobs[n] is not None]
        if self.executor == "serial" or len(todo) <= 1:
            results = [train_node_job(jobs[n]) for n in todo]
        elif self.executor == "ray":
            results = _run_ray([jobs[n] for n in todo], self.ray_address)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=self.max_workers or min(len(todo), 2), mp_context=ctx
            ) as pool:
                results = list(pool.map(train_node_job, [jobs[n] for n in todo]))
        out = {}
        for n, (state, metrics) in zip(todo, results, strict=True):
            out[n] = self._finish(n, state, metrics)
        for n in names:
            if jobs[n] is None:
                out[n] = self._finish(n, self.start_state(n), {"loss": float("nan"), "skipped": 1.0})
        return out

    def run(self) -> dict[str, dict[str, float]]:
        """All tiers in order; ``{node: metrics}``."""
        for k in range(len(self.tier_names)):
            self.run_tier(k)
        return dict(self.result.metrics)

    def final_model(self) -> CanvasWorldModel:
        """A model holding the weights of the last tier's (first) node."""
        model = build_model(self.bound, self.model_cfg, self.seed, self.backbone, self.pretrained_model_id)
        model.load_state_dict(self.result.states[self.tier_names[-1][0]])
        return model


def _run_ray(jobs: list[dict], address: str | None) -> list:
    try:
        import ray
    except ImportError:
        raise RuntimeError("executor='ray' needs Ray: pip install 'wmverse[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address)
    remote = ray.remote(train_node_job)
    return ray.get([remote.remote(j) for j in jobs])
