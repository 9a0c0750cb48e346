"""How a remote process joins a hub: the world, the scripts, the identity, the timeouts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["JoinConfig"]


@dataclass
class JoinConfig:
    """How a remote process joins a hub."""

    address: str
    """The world: ``NAME`` (found on the local network), ``NAME@HOST:PORT/PEER_ID``, or '' with ``pipe_fd``."""
    scripts: tuple[Path, ...]
    """Agent scripts to run here (run_*.py of one world folder; they stay unchanged)."""
    rank: int | None = None
    """Canonical position among the run's processes (run_asynch gives 1, 2, ...); None: the hub picks."""
    out_dir: Path | None = None
    """Where node files go; default ``<scripts' folder>/out``."""
    echo: bool = True
    """Print this process's transition lines here too (they are always sent to the hub)."""
    strict: bool = True
    """An exception inside an @action ends this process (and a lockstep run) with exit 1."""
    connect_timeout_s: float = 30.0
    """Keep retrying the connection this long (the hub may still be starting)."""
    hub_timeout_s: float = 600.0
    """Give up when the hub sends nothing for this long."""
    pipe_fd: int | None = None
    """A socket-pair descriptor inherited from the parent (run_asynch.py's children)."""
    token: str | None = None
    """The join token of a private world."""
    identity_dir: Path | None = None
    """Where this process's libp2p key lives (the same folder, the same peer id); default
    ``OUT/.identity/<scripts>``."""
    discovery_timeout_s: float = 10.0
    """How long to look for the world by name on the local network."""
    journal_dir: Path | None = None
    """Where this process logs its hub's ticks and writes its checkpoints, so that it can be restarted and
    resume (run_asynch.py ``--restart-agents``); None: no journal."""
    checkpoint_every_s: float = 0.0
    """With a journal: simulated seconds between two checkpoints (0: none; a restart then recomputes)."""
    keep: int = 3
    """With a journal: checkpoints kept."""
    resume: bool = False
    """Ask the hub to resume this process from its journal (a lockstep hub holds its tick for it)."""
    resume_run: bool = False
    """The whole run resumes (``run_asynch.py --resume``; a served hub says so in its welcome): the hub runs
    again from tick 0 and this process with it, its learner jobs answered from its journal up to its newest
    checkpoint (where its processors are loaded and what it printed is checked), then computed again."""

    def __post_init__(self) -> None:
        if self.pipe_fd is None:
            from wmverse.runtime.discovery import parse_world

            parse_world(self.address)
        self.scripts = tuple(Path(s).resolve() for s in self.scripts)
        if not self.scripts:
            raise ValueError("give at least one agent script to run")
        for script in self.scripts:
            if not script.is_file():
                raise ValueError(f"agent script not found: {script}")
        if len({s.parent for s in self.scripts}) != 1:
            raise ValueError("the scripts of one remote process must be in one folder")
