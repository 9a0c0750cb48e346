"""How a hub serves its world: the transport-independent settings (timeouts, lockstep, who may join)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["HubConfig"]


@dataclass
class HubConfig:
    """Where and how a hub serves its world."""

    host: str = "127.0.0.1"
    """Interface the libp2p endpoint listens on (served worlds)."""
    port: int = 0
    """TCP port; 0 picks a free one (read it back from ``Hub.address``)."""
    token: str | None = None
    """Private world: the join token (a joiner that says it is admitted)."""
    allowed_peers: frozenset[str] = field(default_factory=frozenset)
    """Private world: libp2p peer ids admitted without a token."""
    realtime: bool = False
    """Pace ticks at tick_ms real ms and let remotes join at any time (else lockstep)."""
    expected: int = 0
    """Lockstep: remotes that must register before tick 0."""
    tick_timeout_s: float = 120.0
    """A remote that does not answer a tick within this many seconds is dropped."""
    startup_timeout_s: float = 300.0
    """Lockstep: how long to wait for the expected remotes (loading scripts imports torch)."""
    max_busy_s: float = 1800.0
    """Longest a remote may keep a tick waiting by saying it is busy (a lockstep learner's long step)."""
    rejoin_window_s: float = 60.0
    """A remote (not a child of this process) that goes away may come back with the same identity within this
    many seconds; after that the run ends with exit 1 naming its agents. 0: it is simply forgotten."""
    handshake_timeout_s: float = 30.0
    """How long a new connection may take to say hello."""
    register_timeout_s: float = 90.0
    """How long a remote that is not this process's own child may take, after its welcome, to register its
    nodes (it loads its scripts meanwhile). One that stays silent is disconnected then, so an admitted peer
    holds its connection slot (one of the endpoint's ``max_pending``) for at most this long."""

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        if self.expected < 0:
            raise ValueError(f"expected must be >= 0, got {self.expected}")
        if (
            min(
                self.tick_timeout_s, self.startup_timeout_s, self.handshake_timeout_s, self.register_timeout_s
            )
            <= 0
        ):
            raise ValueError("timeouts must be positive")
        if self.max_busy_s <= 0:
            raise ValueError(f"max_busy_s must be > 0, got {self.max_busy_s}")
        if self.rejoin_window_s < 0:
            raise ValueError(f"rejoin_window_s must be >= 0, got {self.rejoin_window_s}")
        if self.token is not None and len(self.token) < 16:
            raise ValueError("a join token must have at least 16 characters")
        self.allowed_peers = frozenset(self.allowed_peers)

    @property
    def private(self) -> bool:
        """Only holders of the token or listed peers join."""
        return self.token is not None or bool(self.allowed_peers)
