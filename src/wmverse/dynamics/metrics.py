"""Five Prometheus metrics of a world model, labelled by model so several models coexist.

Metric families are created once per ``CollectorRegistry`` (cached), so building many
models, or many test cases, never hits prometheus_client's duplicate-registration error.
By default they live in this package's own registry, :data:`REGISTRY`, which keeps them
out of the process-wide default registry.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

#: Registry used when none is given.
REGISTRY = CollectorRegistry()

_FAMILIES: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Counter | Gauge]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def _families(registry: CollectorRegistry) -> dict[str, Counter | Gauge]:
    with _LOCK:
        fams = _FAMILIES.get(registry)
        if fams is None:
            label = ["model"]
            fams = {
                "update_total": Counter(
                    "wm_update_total", "Real transitions consumed", label, registry=registry
                ),
                "train_loss": Gauge("wm_train_loss", "Most recent SGD loss", label, registry=registry),
                "surprise_score": Gauge(
                    "wm_surprise_score", "Most recent surprise score", label, registry=registry
                ),
                "buffer_size": Gauge("wm_buffer_size", "Replay buffer fill level", label, registry=registry),
                "rollout_steps_total": Counter(
                    "wm_rollout_steps_total", "Dream rollout steps executed", label, registry=registry
                ),
            }
            _FAMILIES[registry] = fams
        return fams


class WorldModelMetrics:
    """The five metrics bound to one model label (``wm_*{model="<name>"}``)."""

    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.model = model
        self.registry = registry if registry is not None else REGISTRY
        fams = _families(self.registry)
        self.update_total = fams["update_total"].labels(model=model)
        self.train_loss = fams["train_loss"].labels(model=model)
        self.surprise_score = fams["surprise_score"].labels(model=model)
        self.buffer_size = fams["buffer_size"].labels(model=model)
        self.rollout_steps_total = fams["rollout_steps_total"].labels(model=model)

    def value(self, metric: str) -> float | None:
        """Current sample value of ``wm_<metric>`` for this model (None if absent)."""
        name = f"wm_{metric}"
        return self.registry.get_sample_value(name, {"model": self.model})


@dataclass
class MetricsServer:
    """A running /metrics endpoint; ``close()`` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(
    port: int = 0, addr: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> MetricsServer:
    """Serve ``registry`` (default :data:`REGISTRY`) over HTTP; port 0 picks a free port."""
    server, thread = start_http_server(
        port, addr=addr, registry=registry if registry is not None else REGISTRY
    )
    return MetricsServer(server, thread)
