"""Text -> fixed vectors for field descriptions and dataset ``semantic_type`` strings.

Signed feature hashing of lowercase words, L2-normalised: texts that share words get
similar vectors without any vocabulary or download, so "US CPI inflation" and "German
GDP deflator inflation" start close while "AAPL log return" starts elsewhere. The same
function serves the schema's field descriptions (:func:`wmverse.canvas.model.semantic_vectors`)
and the per-dataset semantic types that :class:`~wmverse.canvas.data.HeterogeneousDataset`
attaches to every sample.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

SEMANTIC_TYPE_DIM = 32
"""Width of the hashed ``semantic_type`` vector carried by every sample (``(N, SEMANTIC_TYPE_DIM)``)."""


def words(text: str) -> list[str]:
    """Lowercase alphanumeric words; dots and underscores separate words (field paths read as words)."""
    return re.findall(r"[a-z0-9]+", text.replace(".", " ").replace("_", " ").lower())


def hash_texts(texts: Sequence[str], dim: int) -> np.ndarray:
    """(len(texts), dim) float32: signed hashing of each text's words, L2-normalised (empty text -> 0)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        for w in words(text):
            h = zlib.crc32(w.encode())
            out[i, h % dim] += 1.0 if (h >> 20) & 1 else -1.0
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norm, 1e-12)
