"""A world folder as local processes (run_asynch.py), and a world served alone for agents to join (run_w.py).

:func:`run_processes` runs ``run_w.py`` in this process with a :class:`~wmverse.runtime.hub.Hub`, and every
other ``run_*.py`` in its own child process joined to it (:mod:`wmverse.runtime.remote`) through an
anonymous socket pair made before the child starts (no port: nobody else can reach the run). Children are
forked from this process once unaiverse is imported (they skip its import time) or, with
``start_method='spawn'``, started as fresh interpreters. A child never outlives this process: it gets
SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``), and every child still running when the run ends
is terminated.

:func:`serve_world` runs only ``run_w.py`` and serves its world over unaiverse's libp2p layer
(:mod:`wmverse.runtime.p2p`), announced by name on the local network (:mod:`wmverse.runtime.discovery`),
private by default (a join token is printed), until the world is finished (or Ctrl-C, which still writes
the stats database and the dashboard).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wmverse.runtime.channels import PipeChannel
from wmverse.runtime.children import START_METHODS, Child, Supervisor, start_child
from wmverse.runtime.config import RunResult, RuntimeConfig
from wmverse.runtime.hub import Hub, HubConfig
from wmverse.runtime.threads import THREADS_VAR, configure_threads, threads_for

#: Seconds a child may take to exit after the hub ended the run before it is terminated.
EXIT_GRACE_S = 10.0


def run_processes(
    world_folder: str | Path,
    config: RuntimeConfig | None = None,
    *,
    realtime: bool = False,
    start_method: str = "fork",
    tick_timeout_s: float = 120.0,
    write: Callable[[str], None] | None = None,
    restarts: int = 0,
    processes: int = 0,
) -> RunResult:
    """Runs ``run_w.py`` here with a hub and each other ``run_*.py`` in its own child process.

    ``processes`` > 0: the agent scripts in at most that many child processes instead, in contiguous runs of
    script order as even as they come (``group_scripts``), so that a world of hundreds of agents uses the
    machine's cores without an interpreter per agent. Each script's nodes get the ids they would have in a
    process of their own, so the run (transitions, summary, stats rows) is the one of a process per script.

    ``restarts`` (lockstep only): how many times an agent process killed by a signal is started again; each
    keeps a journal (``OUT/agents/``) and checkpoints every ``config.checkpoint_every_s``, and a restarted one
    replays it and resumes at the tick the hub holds, so that the run ends as if nothing happened.
    ``config.checkpoint_every_s`` alone also keeps the journals, and ``config.resume`` resumes a whole run
    that was killed (lockstep only): the world runs again here from tick 0, every agent process with it,
    each answering its learner jobs from its journal up to its newest checkpoint (then computing again), so
    that the run ends as the uninterrupted one, having recomputed only what came after the checkpoints.

    Contract: the same result as :func:`~wmverse.runtime.runner.run_world` (exit 0 when the world finished
    or max_steps ticks ran), and exit 1 when a child failed, naming its script (and the file and line of
    the failure when the child could report it). No child outlives the call.
    """
    from wmverse.runtime.runner import prepare_folder, run_world

    config = config or RuntimeConfig()
    if not isinstance(processes, int) or processes < 0:
        raise ValueError(f"processes must be an integer >= 0 (0: one per agent script), got {processes!r}")
    if start_method not in START_METHODS:
        raise ValueError(f"start method must be one of {START_METHODS}, got {start_method!r}")
    prepared = prepare_folder(world_folder, config)
    if isinstance(prepared, RunResult):
        return prepared
    folder, scripts, out_dir = prepared
    if start_method == "fork":
        import wmverse.runtime.node  # noqa: F401 - unaiverse imported once, before forking
        from wmverse.runtime.warmup import warm_imports

        warm_imports(folder, scripts)  # the libraries the world and its agents import: once, not per process

    # every process of the run shares the cores: the children inherit this process's share
    groups = group_scripts(scripts[1:], processes)
    os.environ[THREADS_VAR] = str(threads_for(len(groups) + 1))
    configure_threads()
    pairs = [socket.socketpair() for _ in groups]
    mine_fds = [mine.fileno() for mine, _ in pairs]  # open in this process until the run ends
    children: list[Child] = []
    supervisor = Supervisor(children, out_dir, 0 if realtime else restarts, config)
    if config.resume and not realtime:
        (write or print)(
            "resuming the run: the world runs again from tick 0, each agent process replays its journal "
            f"({out_dir / 'agents'}) up to its newest checkpoint"
        )
    pipes = []
    try:
        for rank, (group, (mine, theirs)) in enumerate(zip(groups, pairs, strict=True), start=1):
            # a child keeps only its own end: not this process's ends, nor later children's
            others = mine_fds + [later.fileno() for _, later in pairs[rank:]]
            journal = supervisor.journal(group, rank)
            children.append(start_child(group, rank, theirs, out_dir, start_method, others, journal))
            theirs.close()
            pipes.append(PipeChannel.from_fd(mine.detach(), f"{children[-1].label} (pid {children[-1].pid})"))
        hub = Hub(
            HubConfig(
                realtime=realtime, expected=0 if realtime else len(children), tick_timeout_s=tick_timeout_s
            ),
            pipes=pipes,
            watch=None
            if realtime
            else supervisor.watch,  # realtime: a dead child is a lost peer, reported at the end
        )
        if supervisor.restarts > 0:
            hub.restarter = supervisor.restart
        result = run_world(folder, config, write, driver=hub)
        ended = result.exit_code == 0 and result.ended_by != "interrupted"
        for child in children:
            if not ended or child.wait(EXIT_GRACE_S) is None:
                child.terminate()
                child.wait(EXIT_GRACE_S)
        failed = [c for c in children if c.returncode not in (0, None)] if ended else []
        if result.exit_code == 0 and failed:
            result.exit_code = 1
            result.error = "; ".join(
                f"agent process {c.label} (pid {c.pid}) exited with code {c.returncode}" for c in failed
            )
        result.nodes = result.nodes or hub.node_names()
        return result
    finally:
        for child in children:
            child.terminate()
        for child in children:
            if child.wait(EXIT_GRACE_S) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                child.wait(EXIT_GRACE_S)
        for chan in pipes + supervisor.pipes:
            chan.close()
        for mine, theirs in pairs:
            mine.close()
            theirs.close()


def group_scripts(scripts: list[Path], processes: int) -> list[tuple[Path, ...]]:
    """The agent scripts by process: one each (``processes`` 0 or at least their number), else contiguous
    runs of script order, the first ones one script longer when they do not divide evenly."""
    if processes <= 0 or processes >= len(scripts):
        return [(script,) for script in scripts]
    size, extra = divmod(len(scripts), processes)
    groups, start = [], 0
    for i in range(processes):
        end = start + size + (1 if i < extra else 0)
        groups.append(tuple(scripts[start:end]))
        start = end
    return groups


@dataclass
class ServeOptions:
    """How run_w.py serves its world on the network."""

    host: str = "0.0.0.0"
    """Interface the world's libp2p node listens on."""
    port: int = 7070
    """Its TCP port (0: a free one)."""
    public: bool = False
    """Admit anyone to the roles the world offers; else only the token's holders and ``allowed_peers``."""
    token: str | None = None
    """The join token of a private world (None: a fresh random one, printed)."""
    allowed_peers: tuple[str, ...] = ()
    """libp2p peer ids admitted to a private world without the token."""
    lockstep: int = 0
    """Wait for this many agent processes, then tick in lockstep (deterministic); 0: realtime."""
    announce: bool = True
    """Announce the world on the local network (mDNS) so that joiners need only its name."""
    identity_dir: Path | None = None
    """Where the world's libp2p key lives (default ``WORLD_FOLDER/.identity/world``): same key, same peer id."""
    max_message_mb: float = 16.0
    """Largest message accepted or sent, in megabytes."""
    tick_timeout_s: float = 30.0
    """An agent that does not answer a tick (nor say it is busy) within this many seconds is dropped."""
    rejoin_window_s: float = 60.0
    """A dropped agent may come back with the same identity within this many seconds (else the run ends)."""
    register_timeout_s: float = 90.0
    """An admitted agent process must register its nodes within this many seconds of its welcome (it loads its
    scripts meanwhile), else it is disconnected and its connection slot freed."""

    def __post_init__(self) -> None:
        import ipaddress

        from wmverse.runtime.p2p import check_peer_id

        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise ValueError(
                f"host must be an IP address to listen on (e.g. 0.0.0.0), got {self.host!r}"
            ) from None
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        if self.public and (self.token is not None or self.allowed_peers):
            raise ValueError("a public world admits anyone: --public takes no --token or --allow")
        if self.token is not None and len(self.token) < 16:
            raise ValueError("a join token needs at least 16 characters")
        self.allowed_peers = tuple(check_peer_id(p) for p in self.allowed_peers)
        if self.lockstep < 0:
            raise ValueError(f"lockstep must be >= 0 agent processes, got {self.lockstep}")
        for name in ("max_message_mb", "tick_timeout_s", "rejoin_window_s", "register_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def _advertised_host(host: str) -> str:
    """The address joiners dial: ``host`` itself, or this machine's address on the default route."""
    if host not in ("0.0.0.0", "::"):
        return host
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        return probe.getsockname()[0]
    return "127.0.0.1"


def serve_world(
    world_folder: str | Path,
    config: RuntimeConfig | None = None,
    options: ServeOptions | None = None,
    *,
    write: Callable[[str], None] | None = None,
) -> RunResult:
    """Runs only ``run_w.py`` and serves its world over unaiverse's libp2p layer (see the module doc)."""
    import dataclasses
    import secrets

    from wmverse.runtime.channels import Limits
    from wmverse.runtime.p2p import P2PEndpoint
    from wmverse.runtime.runner import run_world

    options = options or ServeOptions()
    config = config or RuntimeConfig()
    if config.epoch_s == RuntimeConfig.epoch_s and not options.lockstep:  # live: real timestamps
        config = dataclasses.replace(config, epoch_s=time.time())
    write = write or (lambda line: print(line, flush=True))
    # a printed token never starts with '-' (argparse would take `--token -x...` for an option)
    token = None if options.public else (options.token or "wm" + secrets.token_urlsafe(24))
    folder = Path(world_folder).resolve()
    identity = options.identity_dir or folder / ".identity" / "world"
    limits = Limits(max_message_bytes=int(options.max_message_mb * 1024 * 1024))
    endpoint = P2PEndpoint(identity, options.host, options.port, limits).start()
    shown = _advertised_host(options.host)
    hub = Hub(
        HubConfig(
            realtime=not options.lockstep,
            expected=options.lockstep,
            tick_timeout_s=options.tick_timeout_s,
            rejoin_window_s=options.rejoin_window_s,
            register_timeout_s=options.register_timeout_s,
            token=token,
            allowed_peers=frozenset(options.allowed_peers),
        ),
        endpoint=endpoint,
    )
    announcers: list = []

    def on_start(hub: Hub) -> None:
        from wmverse.runtime.discovery import WorldAddress, WorldAnnouncer
        from wmverse.runtime.hub_admission import world_code_hash

        for node in hub._worlds():
            where = WorldAddress(
                node.node_name,
                endpoint.peer_id,
                shown,
                endpoint.tcp_port,
                private=token is not None,
                code_hash=world_code_hash(hub.runtime.world_folder),
            )
            secret = f" --token {token}" if token else ""
            write(
                f"agents join with: wmverse runtime join --world {node.node_name}{secret} WORLD_FOLDER/run_<agent>.py"
            )
            write(f"  (without multicast: --world {where})")
            if options.announce:
                try:
                    announcers.append(WorldAnnouncer(where).start())
                except (ValueError, OSError) as exc:
                    write(f"run_w: not announced on the local network ({exc}); joiners use --world {where}")

    hub.on_start = on_start
    if config.resume:
        write(
            "resuming the run: the world runs again from tick 0, its joiners come back with the ranks they had "
            "(OUT/ranks.json) and those with a journal replay it up to their newest checkpoint"
            + (
                ""
                if options.token or options.public
                else "; a fresh token: give --token TOKEN of the killed run"
            )
        )
    try:
        return run_world(world_folder, config, write, driver=hub)
    finally:
        for announcer in announcers:
            announcer.close()
