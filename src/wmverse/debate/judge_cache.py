"""One prepared judge per (judge name, training corpus) in a process.

Judges are deterministic and read-only once prepared, and the embedding judge loads a
sentence model, so everything hosted in one process (a world and its agents) can share
them. The key includes a fingerprint of the training texts because the lexical judge fits
its IDF on the first corpus it is prepared with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from .judge_factory import make_judge
from .judges import Judge

__all__ = ["clear_judge_cache", "corpus_fingerprint", "shared_judge"]

_CACHE: dict[tuple[str, str], Judge] = {}
_LOCK = threading.Lock()


def corpus_fingerprint(texts: Sequence[str]) -> str:
    """A short stable hash of ``texts`` (order matters)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def shared_judge(name: str, train_texts: Sequence[str]) -> Judge:
    """The judge ``name`` prepared on ``train_texts`` (built once per process and corpus)."""
    key = (name.strip().lower(), corpus_fingerprint(train_texts))
    with _LOCK:
        judge = _CACHE.get(key)
        if judge is None:
            judge = make_judge(key[0])
            judge.prepare(list(train_texts))
            _CACHE[key] = judge
    return judge


def clear_judge_cache() -> None:
    """Forget every cached judge (tests; a long-lived process switching corpora)."""
    with _LOCK:
        _CACHE.clear()
