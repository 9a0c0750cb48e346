"""Typed configuration and result of one in-process world run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Scripts in a world folder that are runners, not nodes: never loaded.
SKIPPED_SCRIPTS: frozenset[str] = frozenset({"run_synch.py", "run_asynch.py"})


@dataclass
class RuntimeConfig:
    """How to run a world folder on the synthetic clock."""

    seed: int = 0
    """Seeds random/numpy/torch and the interaction ids; same seed -> same run."""
    max_steps: int = 20_000
    """Ticks after which the run stops (exit 0) if the world has not finished by itself."""
    tick_ms: float = 100.0
    """Synthetic milliseconds per tick (every node runs one cycle per tick)."""
    out_dir: Path | None = None
    """Where the dashboard and node files go; default ``<world>/out``."""
    epoch_s: float = 1_700_000_000.0
    """Synthetic wall time (seconds since 1970) at tick 0."""
    strict: bool = True
    """An exception inside an @action stops the run (exit 1); False: log it and go on, as unaiverse does."""
    wire: bool = True
    """Encode/decode every message with Msg.to_bytes/from_bytes, as on the network."""
    world_requests: bool = False
    """False (as live): an agent accepts interactions only from agents it knows, never from its world's node,
    as unaiverse 0.1.31's Node does (node.py:2375); a world drives its agents through an agent (the training
    world's master). True relaxes that rule for worlds written against it: agents then know their world's
    node as a peer and serve its requests, which a live run would refuse. In-process runs only: a process that
    joins a hub (run_asynch's children, joiners over the network) always applies the live rule."""
    quiet: bool = False
    """Do not print the transition lines (they are still collected in the result)."""
    skip_scripts: frozenset[str] = field(default_factory=lambda: SKIPPED_SCRIPTS)
    """File names never loaded as node scripts (run_demo*.py are skipped too)."""
    db: str | None = None
    """The run store this run is recorded in: a SQLAlchemy URL or a SQLite file; None: env ``WMVERSE_DB``,
    else ``<world folder>/runs.db``; ``"none"``: the run is not recorded."""
    checkpoint_every_s: float = 0.0
    """Simulated seconds between two checkpoints of the whole run (0: none, except at a graceful stop)."""
    resume: bool = False
    """Resume from the newest checkpoint that verifies (none: start fresh and say so)."""
    keep: int = 3
    """How many checkpoints are kept (the newest)."""
    checkpoint_dir: Path | None = None
    """Where checkpoints go; default ``<out>/checkpoints``."""

    def __post_init__(self) -> None:
        if not self.checkpoint_every_s >= 0:
            raise ValueError(
                f"checkpoint_every_s must be >= 0 simulated seconds, got {self.checkpoint_every_s}"
            )
        if type(self.keep) is not int or self.keep < 1:
            raise ValueError(f"keep must be an integer >= 1 (checkpoints kept), got {self.keep!r}")
        if self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive, got {self.max_steps}")
        if not self.tick_ms > 0:
            raise ValueError(f"tick_ms must be positive, got {self.tick_ms}")


@dataclass
class RunResult:
    """What a run produced."""

    exit_code: int
    """0: finished or reached max_steps; 1: a script failed; 2: bad world folder."""
    steps: int
    """Ticks executed."""
    sim_seconds: float
    """Synthetic seconds elapsed."""
    ended_by: str
    """'world' (the world said it is done), 'max_steps', 'cycles' or 'max_time' (the world node's
    ``run(cycles=..., max_time=...)``), 'interrupted' (Ctrl-C), or 'error'."""
    transitions: list[str]
    """Every user-facing log line (HSM welcome/state/transition messages), as '[t] node: msg'."""
    error: str | None = None
    """The failure message (names script, file and line) when exit_code != 0."""
    stats_db: Path | None = None
    """The world's stats SQLite file, if it has one."""
    dashboard: Path | None = None
    """The dashboard HTML written at the end, if any."""
    summary: str | None = None
    """What ``world.summary()`` returned."""
    nodes: list[str] = field(default_factory=list)
    """Node names in scheduling order (agents, then the world)."""
    messages: int = 0
    """Messages delivered by the router."""
    load_wall_s: float = 0.0
    """Real seconds spent loading the scripts (building the nodes)."""
    loop_wall_s: float = 0.0
    """Real seconds spent ticking (from the first tick to the end, hooks excluded)."""
    run_id: int | None = None
    """The run's id in the run store (None: not recorded)."""
    store: str | None = None
    """The run store's URL (password hidden), when the run was recorded."""
    checkpoint: Path | None = None
    """The last checkpoint written or resumed from (None: none)."""
