"""Training loggers: console lines, a JSON log, TensorBoard, W&B (offline).

Every logger has ``on_train_start(config, info)``, ``log_epoch(metrics, validation)``,
``on_train_end(history, result)`` and ``close()``. Keys are namespaced
(``allocations/<tendency>``, ``scores/<tendency>``, ``train/...``, ``validation/...``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from .tendency import TENDENCY_ORDER

__all__ = [
    "ConsoleLogger",
    "JSONLogger",
    "MultiLogger",
    "ProgressPrinter",
    "TensorBoardLogger",
    "WandbLogger",
    "format_allocations",
    "format_p",
    "scalars",
    "significance_stars",
]


def significance_stars(p: float) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else empty."""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def format_p(p: float) -> str:
    """``0.001``-style p-value; scientific below 0.001 so tiny values do not print as 0."""
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def format_allocations(allocations: dict) -> str:
    """``survival=18.7%, meaning=10.5%, ...`` sorted from largest to smallest."""
    ordered = sorted(allocations.items(), key=lambda kv: (-kv[1], kv[0].index))
    return ", ".join(f"{t.value}={v:.1%}" for t, v in ordered)


def scalars(metrics, validation) -> dict[str, float]:
    """Flat, namespaced scalars of one epoch."""
    out: dict[str, float] = {
        "train/learning_rate": metrics.learning_rate,
        "train/delta": metrics.delta,
        "train/total_stakes": float(metrics.total_stakes),
        "train/winning_score": metrics.winning_score,
    }
    for t in TENDENCY_ORDER:
        out[f"allocations/{t.value}"] = metrics.allocations.get(t, 0.0)
        out[f"scores/{t.value}"] = metrics.scores.get(t, 0.0)
    if validation is not None:
        out[f"validation/{validation.metric}"] = validation.value
        out["validation/p_value"] = validation.p_value
    return out


class BaseLogger:
    """No-op logger; subclasses override what they need."""

    def on_train_start(self, config: Any, info: dict[str, Any]) -> None:
        """Called once before the first epoch."""

    def log_epoch(self, metrics: Any, validation: Any) -> None:
        """Called after every epoch."""

    def on_train_end(self, history: Any, result: Any) -> None:
        """Called once after the last epoch; then :meth:`close`."""
        self.close()

    def close(self) -> None:
        """Release files and runs (idempotent)."""


class ConsoleLogger(BaseLogger):
    """Console lines per epoch::

    EPOCH 1 (lr=0.150)
      Winner: SURVIVAL (score: 4.027)
      Allocations: survival=18.7%, connection=17.9%, ...
      Validation: 27.3% accuracy (p=0.001)**
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def _print(self, line: str) -> None:
        print(line, file=self.stream or sys.stdout, flush=True)

    def log_epoch(self, metrics, validation) -> None:
        self._print(f"EPOCH {metrics.epoch} (lr={metrics.learning_rate:.3f})")
        winner = metrics.winner.value.upper() if metrics.winner else "None"
        self._print(f"  Winner: {winner} (score: {metrics.winning_score:.3f})")
        self._print(f"  Allocations: {format_allocations(metrics.allocations)}")
        if validation is not None:
            self._print(
                f"  Validation: {validation.value:.1%} {validation.metric} "
                f"(p={format_p(validation.p_value)}){significance_stars(validation.p_value)}"
            )


class ProgressPrinter:
    """One progress line per epoch: ``[epoch 2/10] 0.41s delta=0.0213 calm=0/3 stakes=224``."""

    def __init__(self, max_epochs: int, stream: TextIO | None = None):
        self.max_epochs = max_epochs
        self.stream = stream

    def __call__(self, metrics, validation, tracker) -> None:
        line = (
            f"[epoch {metrics.epoch}/{self.max_epochs}] {metrics.seconds:.2f}s delta={metrics.delta:.4f} "
            f"calm={tracker.calm_epochs}/{tracker.patience} stakes={metrics.total_stakes}"
        )
        if tracker.converged:
            line += " converged"
        print(line, file=self.stream or sys.stdout, flush=True)


class JSONLogger(BaseLogger):
    """Writes ``{"config", "data", "epochs": [...], "summary"}`` to ``path``, rewritten
    atomically after every epoch so a partial run is readable."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.record: dict[str, Any] = {"config": {}, "data": {}, "epochs": [], "summary": None}

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.record, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def on_train_start(self, config, info) -> None:
        self.record["config"] = config.to_json() if hasattr(config, "to_json") else dict(config)
        self.record["data"] = dict(info)
        self._write()

    def log_epoch(self, metrics, validation) -> None:
        entry = metrics.to_json()
        entry["validation"] = validation.to_json() if validation is not None else None
        self.record["epochs"].append(entry)
        self._write()

    def on_train_end(self, history, result) -> None:
        self.record["summary"] = {
            "epochs_run": history.epochs_run,
            "converged": history.converged,
            "best_epoch": history.best_epoch,
            "winner": result.winner.value if result is not None and result.winner else None,
            "final_allocations": {t.value: v for t, v in (result.allocations if result else {}).items()},
            "validation": history.validation_results[-1].to_json() if history.validation_results else None,
        }
        self._write()


class TensorBoardLogger(BaseLogger):
    """TensorBoard event files in ``log_dir`` (``torch.utils.tensorboard.SummaryWriter``)."""

    def __init__(self, log_dir: str | Path):
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))
        self._closed = False

    def on_train_start(self, config, info) -> None:
        cfg = config.to_json() if hasattr(config, "to_json") else dict(config)
        text = "\n".join(f"    {k} = {v}" for k, v in {**cfg, **info}.items())
        self.writer.add_text("config", text, 0)

    def log_epoch(self, metrics, validation) -> None:
        for key, value in scalars(metrics, validation).items():
            self.writer.add_scalar(key, value, metrics.epoch)
        self.writer.flush()

    def close(self) -> None:
        if not self._closed:
            self.writer.close()
            self._closed = True


class WandbLogger(BaseLogger):
    """Weights & Biases in forced offline mode: never touches the network.

    The run lands in ``{dir}/wandb/offline-run-*``; ``wandb sync`` uploads it later if wanted.
    """

    def __init__(self, project: str = "wmverse-debate", run_name: str | None = None, dir: str | Path = "."):
        self.project, self.run_name, self.dir = project, run_name, Path(dir)
        self.run = None

    def on_train_start(self, config, info) -> None:
        os.environ["WANDB_MODE"] = "offline"
        os.environ.setdefault("WANDB_SILENT", "true")
        import wandb

        self.dir.mkdir(parents=True, exist_ok=True)
        cfg = config.to_json() if hasattr(config, "to_json") else dict(config)
        self.run = wandb.init(
            project=self.project,
            name=self.run_name,
            dir=str(self.dir),
            mode="offline",
            config={**cfg, **info},
            settings=wandb.Settings(silent=True, console="off"),
            reinit="finish_previous",
        )

    @property
    def run_dir(self) -> Path | None:
        """The offline run's directory (``.../wandb/offline-run-*``), once started."""
        return Path(self.run.dir).parent if self.run is not None else None

    def log_epoch(self, metrics, validation) -> None:
        if self.run is not None:
            self.run.log(scalars(metrics, validation), step=metrics.epoch)

    def on_train_end(self, history, result) -> None:
        if self.run is not None:
            self.run.summary["epochs_run"] = history.epochs_run
            self.run.summary["converged"] = history.converged
            if result is not None and result.winner is not None:
                self.run.summary["winner"] = result.winner.value
        self.close()

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


class MultiLogger(BaseLogger):
    """Fans every call out to several loggers."""

    def __init__(self, *loggers: Any):
        self.loggers = [lg for lg in loggers if lg is not None]

    def on_train_start(self, config, info) -> None:
        for lg in self.loggers:
            lg.on_train_start(config, info)

    def log_epoch(self, metrics, validation) -> None:
        for lg in self.loggers:
            lg.log_epoch(metrics, validation)

    def on_train_end(self, history, result) -> None:
        for lg in self.loggers:
            lg.on_train_end(history, result)

    def close(self) -> None:
        for lg in self.loggers:
            lg.close()
