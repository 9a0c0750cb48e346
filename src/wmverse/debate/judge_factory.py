"""Build a judge by name (``lexical``, ``embedding`` or ``llm``).

This module imports every judge module; none of them imports it, so the judge modules
form no import cycle.
"""

from __future__ import annotations

from typing import Any

from .embedding_judge import EmbeddingJudge
from .judges import Judge
from .lexical_judge import LexicalJudge
from .llm_judge import LLMJudge

__all__ = ["JUDGES", "make_judge"]

#: Judge classes by name.
JUDGES: dict[str, type] = {"lexical": LexicalJudge, "embedding": EmbeddingJudge, "llm": LLMJudge}


def make_judge(name: str = "embedding", **kwargs: Any) -> Judge:
    """Build a judge by name: ``lexical``, ``embedding`` (default) or ``llm``.

    Keyword arguments go to the judge's constructor; unknown names raise ``ValueError``.
    """
    key = name.strip().lower()
    if key not in JUDGES:
        raise ValueError(f"unknown judge {name!r}; use lexical, embedding or llm")
    return JUDGES[key](**kwargs)
