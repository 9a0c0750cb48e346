"""Typed configuration of the training world (``worlds/training``).

The world's training settings are the debate library's own :class:`wmverse.debate.TrainConfig` (same fields,
same defaults, same validation), plus what only the world needs: where the data and the outputs live and
the significance level of the validation badge. :meth:`TrainingWorldConfig.from_env` builds it from
``WMVERSE_*`` environment variables, so ``run_synch.py`` (and tests) set the seed, output folder, epochs and
judge without editing the world's scripts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from wmverse.debate import TrainConfig

__all__ = ["DEFAULT_WORLD_FOLDER", "DEFAULT_JUDGE", "WORLD_MAX_EPOCHS", "TrainingWorldConfig"]

#: Folder of the training world (``worlds/training``) in the repository.
DEFAULT_WORLD_FOLDER = Path(__file__).resolve().parents[1]

#: Judge of the world's default run (all-MiniLM-L6-v2, offline; a 10-epoch run takes ~25 s on 2 cores).
DEFAULT_JUDGE = "embedding"

#: Max epochs of the world's default run. The library keeps the seed's 10; with the seed's learning-rate
#: decay and threshold the sample's allocations settle (delta < 0.005 for ``patience`` epochs) at about
#: epoch 24 with seed 0, so the world gives training room to converge.
WORLD_MAX_EPOCHS = 30

_WORLD_JUDGES = ("lexical", "embedding")


@dataclass(frozen=True)
class TrainingWorldConfig:
    """Everything that decides what the training world does; same config -> same run."""

    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(judge=DEFAULT_JUDGE, max_epochs=WORLD_MAX_EPOCHS)
    )
    """Debate training settings (epochs, learning rate, convergence, bounds, split, seed, judge)."""
    significance: float = 0.01
    """p-value below which held-out validation earns the 'validation significant' badge."""
    observations_path: Path = DEFAULT_WORLD_FOLDER / "data" / "observations.json"
    """Observation file in the seed's JSON format (or a JSON list of strings)."""
    labels_path: Path | None = DEFAULT_WORLD_FOLDER / "data" / "labels.json"
    """Gold labels ``{id: tendency}``, read by the validator only; None reports agreement instead."""
    out_dir: Path = DEFAULT_WORLD_FOLDER / "out"
    """Folder of the stats database and the dashboard."""

    def __post_init__(self) -> None:
        if not 0.0 < self.significance < 1.0:
            raise ValueError(f"significance must be in (0, 1), got {self.significance}")
        if self.train.judge not in _WORLD_JUDGES:
            raise ValueError(
                f"the training world's judge must be one of {_WORLD_JUDGES}, got {self.train.judge!r}"
            )
        if not 0.0 < self.train.validation_split < 1.0:
            raise ValueError("the training world needs a held-out split: validation_split in (0, 1)")

    @property
    def seed(self) -> int:
        """The run's seed (split, agents' proposal noise)."""
        return self.train.seed

    @property
    def stats_db_path(self) -> Path:
        """The world's SQLite stats database."""
        return Path(self.out_dir) / "world_stats.db"

    @property
    def dashboard_path(self) -> Path:
        """Where the self-contained dashboard is written at the end of a run."""
        return Path(self.out_dir) / "dashboard.html"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> TrainingWorldConfig:
        """Build a config from environment variables (unset ones keep their defaults).

        ``WMVERSE_SEED``, ``WMVERSE_EPOCHS`` (max epochs), ``WMVERSE_MIN_EPOCHS``, ``WMVERSE_JUDGE``,
        ``WMVERSE_OUT`` or ``WMVERSE_OUT_DIR`` (output folder), ``WMVERSE_OBSERVATIONS``,
        ``WMVERSE_LABELS`` (empty: no labels), and ``WMVERSE_TRAIN_<FIELD>`` for any other TrainConfig field
        (e.g. ``WMVERSE_TRAIN_CONVERGENCE_THRESHOLD=0.05``). A malformed value raises ``ValueError`` naming
        the variable.
        """
        env = os.environ if environ is None else environ
        train_kw: dict[str, object] = {"judge": DEFAULT_JUDGE, "max_epochs": WORLD_MAX_EPOCHS}
        sources = [(f"WMVERSE_TRAIN_{f.name.upper()}", f.name, f.type) for f in fields(TrainConfig)]
        sources += [
            ("WMVERSE_SEED", "seed", "int"),
            ("WMVERSE_EPOCHS", "max_epochs", "int"),
            ("WMVERSE_MIN_EPOCHS", "min_epochs", "int"),
        ]
        casts = {"int": int, "float": float, "str": str}
        for var, key, typ in sources:
            raw = env.get(var, "")
            if raw != "":
                cast = casts.get(str(typ), str)
                try:
                    train_kw[key] = cast(raw)
                except ValueError:
                    raise ValueError(f"{var} must be {cast.__name__}, got {raw!r}") from None
        if env.get("WMVERSE_JUDGE"):
            train_kw["judge"] = env["WMVERSE_JUDGE"].strip().lower()
        if "max_epochs" in train_kw and "min_epochs" not in train_kw:
            train_kw["min_epochs"] = min(TrainConfig.min_epochs, int(train_kw["max_epochs"]))
        try:
            train = TrainConfig(**train_kw)
        except ValueError as e:
            raise ValueError(f"bad WMVERSE_* training setting: {e}") from None
        kw: dict[str, object] = {"train": train}
        out = env.get("WMVERSE_OUT") or env.get("WMVERSE_OUT_DIR")
        if out:
            kw["out_dir"] = Path(out)
        if env.get("WMVERSE_OBSERVATIONS"):
            kw["observations_path"] = Path(env["WMVERSE_OBSERVATIONS"])
        if "WMVERSE_LABELS" in env:
            kw["labels_path"] = Path(env["WMVERSE_LABELS"]) if env["WMVERSE_LABELS"] else None
        return cls(**kw)

    def with_train(self, **changes) -> TrainingWorldConfig:
        """A copy whose TrainConfig has ``changes`` (validated again)."""
        return replace(self, train=replace(self.train, **changes))
