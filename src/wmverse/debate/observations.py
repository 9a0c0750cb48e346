"""Observations (atomic facts about a person), their ordered store, and strict file loading.

Two file formats are accepted:

* an object ``{"source", "count", "observations": [{"id", "content", "source_id",
  "timestamp", "embedding", "metadata"}]}``;
* a plain JSON list of strings (ids ``obs-0001``..., ``source_id`` = the file's stem).

Loading is all-or-nothing: every problem in the file is collected and reported in one
:class:`ObservationFileError` that names the file, the entry and what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .tendency import Tendency, parse_tendency

__all__ = [
    "MAX_CONTENT_CHARS",
    "Observation",
    "ObservationFileError",
    "ObservationStore",
    "load_labels",
    "load_observations",
]

#: Longest accepted observation text (typical observations are ~280 bytes).
MAX_CONTENT_CHARS = 2000
_FIELDS = ("id", "content", "source_id", "timestamp", "embedding", "metadata")
_REQUIRED = ("id", "content", "source_id", "timestamp")
_MAX_REPORTED = 25


class ObservationFileError(ValueError):
    """A bad observation or labels file; ``problems`` lists every issue found."""

    def __init__(self, path: str | Path, problems: Sequence[str]):
        self.path = str(path)
        self.problems = list(problems)
        shown = self.problems[:_MAX_REPORTED]
        more = len(self.problems) - len(shown)
        lines = [f"{self.path}: {len(self.problems)} problem(s), nothing was loaded:"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Observation:
    """One atomic fact. ``metadata`` may hold a gold ``tendency`` that only validation reads."""

    id: str
    content: str
    source_id: str = ""
    timestamp: str | None = None
    embedding: tuple[float, ...] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object form of this observation (as in observation files)."""
        return {
            "id": self.id,
            "content": self.content,
            "source_id": self.source_id,
            "timestamp": self.timestamp,
            "embedding": list(self.embedding) if self.embedding is not None else None,
            "metadata": dict(self.metadata),
        }


class ObservationStore:
    """An ordered collection of observations with unique ids.

    ``len``, iteration (in order), ``store[id]`` (or ``store[i]`` for the i-th) and
    ``id in store`` are supported. Stores are immutable after construction.
    """

    def __init__(self, observations: Iterable[Observation] = (), source: str = ""):
        self._items: list[Observation] = list(observations)
        self._index: dict[str, int] = {}
        for i, obs in enumerate(self._items):
            if not isinstance(obs, Observation):
                raise TypeError(f"ObservationStore holds Observation objects, got {type(obs).__name__}")
            if obs.id in self._index:
                raise ValueError(
                    f"duplicate observation id {obs.id!r} (entries {self._index[obs.id]} and {i})"
                )
            self._index[obs.id] = i
        self.source = source

    @classmethod
    def from_texts(cls, texts: Iterable[str], source: str = "texts", prefix: str = "obs") -> ObservationStore:
        """A store of raw strings with generated ids ``{prefix}-0001``..."""
        items = [
            Observation(id=f"{prefix}-{i:04d}", content=t, source_id=source) for i, t in enumerate(texts, 1)
        ]
        return cls(items, source=source)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._items)

    def __contains__(self, obs_id: object) -> bool:
        return obs_id in self._index

    def __getitem__(self, key: str | int) -> Observation:
        if isinstance(key, str):
            try:
                return self._items[self._index[key]]
            except KeyError:
                raise KeyError(f"no observation with id {key!r}") from None
        return self._items[key]

    def __repr__(self) -> str:
        return f"ObservationStore(n={len(self)}, source={self.source!r})"

    @property
    def ids(self) -> list[str]:
        """Observation ids, in order."""
        return [o.id for o in self._items]

    @property
    def texts(self) -> list[str]:
        """Observation contents, in order."""
        return [o.content for o in self._items]

    def position(self, obs_id: str) -> int:
        """Row of ``obs_id`` in this store (the row of score matrices built over it)."""
        return self._index[obs_id]

    def subset(self, ids: Iterable[str]) -> ObservationStore:
        """A new store holding ``ids`` in this store's order."""
        wanted = set(ids)
        return ObservationStore([o for o in self._items if o.id in wanted], source=self.source)

    def split(self, fraction: float, seed: int = 0) -> tuple[ObservationStore, ObservationStore]:
        """Random (train, validation) split holding out ``round(fraction * n)`` observations.

        Same ``seed`` -> same split. Both parts keep the original order. For ``0 < fraction < 1``
        and at least two observations each part gets at least one observation.
        """
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
        n = len(self)
        n_val = int(round(fraction * n))
        if fraction > 0 and n >= 2:
            n_val = min(max(n_val, 1), n - 1)
        order = np.random.default_rng(seed).permutation(n)
        val_rows = set(order[:n_val].tolist())
        train = [o for i, o in enumerate(self._items) if i not in val_rows]
        val = [o for i, o in enumerate(self._items) if i in val_rows]
        return ObservationStore(train, self.source), ObservationStore(val, self.source)

    def to_json(self) -> dict[str, Any]:
        """The observation-file object (``source``, ``count``, ``observations``)."""
        return {"source": self.source, "count": len(self), "observations": [o.to_json() for o in self._items]}

    def save(self, path: str | Path) -> None:
        """Write the store as an observation-file object."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ObservationFileError(path, ["file not found; pass the path of an existing JSON file"])
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ObservationFileError(path, [f"not UTF-8 text ({exc.reason}); save the file as UTF-8"]) from None
    except json.JSONDecodeError as exc:
        raise ObservationFileError(
            path, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; fix the syntax there"]
        ) from None


def _check_content(where: str, content: Any, max_chars: int, problems: list[str]) -> None:
    if not isinstance(content, str):
        problems.append(f"{where}: 'content' must be a string, got {type(content).__name__}")
    elif not content.strip():
        problems.append(f"{where}: 'content' is empty; write the observed fact or remove the entry")
    elif len(content) > max_chars:
        problems.append(
            f"{where}: 'content' has {len(content)} characters (limit {max_chars}); "
            "split it into atomic observations"
        )


def _parse_entry(i: int, entry: Any, max_chars: int, problems: list[str]) -> Observation | None:
    where = f"observations[{i}]"
    if not isinstance(entry, dict):
        problems.append(
            f"{where}: expected an object with fields {', '.join(_FIELDS)}, got {type(entry).__name__}"
        )
        return None
    if isinstance(entry.get("id"), str):
        where = f"observations[{i}] (id {entry['id']!r})"
    before = len(problems)
    for key in _REQUIRED:
        if key not in entry:
            problems.append(f"{where}: missing field '{key}'; add it (required: {', '.join(_REQUIRED)})")
    for key in entry:
        if key not in _FIELDS:
            problems.append(f"{where}: unknown field {key!r}; allowed fields are {', '.join(_FIELDS)}")
    obs_id = entry.get("id")
    if "id" in entry and (not isinstance(obs_id, str) or not obs_id.strip()):
        problems.append(f"{where}: 'id' must be a non-empty string, got {obs_id!r}")
    if "content" in entry:
        _check_content(where, entry["content"], max_chars, problems)
    if "source_id" in entry and not isinstance(entry["source_id"], str):
        problems.append(f"{where}: 'source_id' must be a string, got {type(entry['source_id']).__name__}")
    ts = entry.get("timestamp")
    if ts is not None:
        if not isinstance(ts, str):
            problems.append(
                f"{where}: 'timestamp' must be an ISO 8601 string or null, got {type(ts).__name__}"
            )
        else:
            try:
                datetime.fromisoformat(ts.replace("Z", "+00:00"))
            except ValueError:
                problems.append(
                    f"{where}: 'timestamp' {ts!r} is not ISO 8601; use e.g. '2025-01-31T08:00:00Z'"
                )
    emb = entry.get("embedding")
    if emb is not None and (
        not isinstance(emb, list)
        or not emb
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in emb)
    ):
        problems.append(f"{where}: 'embedding' must be null or a non-empty list of numbers")
    meta = entry.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        problems.append(f"{where}: 'metadata' must be an object or null, got {type(meta).__name__}")
    if len(problems) > before:
        return None
    return Observation(
        id=obs_id,
        content=entry["content"],
        source_id=entry["source_id"],
        timestamp=ts,
        embedding=tuple(float(x) for x in emb) if emb is not None else None,
        metadata=dict(meta or {}),
    )


def load_observations(path: str | Path, max_content_chars: int = MAX_CONTENT_CHARS) -> ObservationStore:
    """Load and validate an observation file (object with an observations list, or a JSON list of strings).

    Raises :class:`ObservationFileError` listing every problem; nothing is half-loaded.
    """
    path = Path(path)
    data = _read_json(path)
    problems: list[str] = []
    items: list[Observation] = []
    if isinstance(data, list):
        for i, text in enumerate(data):
            if not isinstance(text, str):
                problems.append(
                    f"entry [{i}]: a plain list must hold strings only, got {type(text).__name__}"
                )
                continue
            _check_content(f"entry [{i}]", text, max_chars=max_content_chars, problems=problems)
            items.append(Observation(id=f"obs-{i + 1:04d}", content=text, source_id=path.stem))
        source = path.stem
    elif isinstance(data, dict):
        obs = data.get("observations")
        if not isinstance(obs, list):
            raise ObservationFileError(
                path,
                ["top level must have an 'observations' list (or the file must be a JSON list of strings)"],
            )
        source = data.get("source", path.stem)
        if not isinstance(source, str):
            problems.append(f"'source' must be a string, got {type(source).__name__}")
        count = data.get("count")
        if count is not None and count != len(obs):
            problems.append(f"'count' is {count!r} but there are {len(obs)} observations; correct 'count'")
        seen: dict[str, int] = {}
        for i, entry in enumerate(obs):
            parsed = _parse_entry(i, entry, max_content_chars, problems)
            if parsed is None:
                continue
            if parsed.id in seen:
                problems.append(
                    f"observations[{i}] (id {parsed.id!r}): duplicate id, first used by "
                    f"observations[{seen[parsed.id]}]; give each observation a unique id"
                )
                continue
            seen[parsed.id] = i
            items.append(parsed)
    else:
        raise ObservationFileError(
            path, [f"top level must be an object or a list of strings, got {type(data).__name__}"]
        )
    if not problems and not items:
        problems.append("the file holds no observations; add at least one")
    if problems:
        raise ObservationFileError(path, problems)
    return ObservationStore(items, source=source if isinstance(source, str) else path.stem)


def load_labels(path: str | Path) -> dict[str, Tendency]:
    """Load gold labels ``{observation_id: tendency_name}``; used for validation only."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ObservationFileError(path, ['labels must be a JSON object {"observation id": "tendency"}'])
    problems: list[str] = []
    labels: dict[str, Tendency] = {}
    for key, value in data.items():
        try:
            labels[key] = parse_tendency(value)
        except ValueError as exc:
            problems.append(f"label for {key!r}: {exc}")
    if not labels and not problems:
        problems.append("the labels file is empty")
    if problems:
        raise ObservationFileError(path, problems)
    return labels
