"""Shared fixtures: the shipped sample, and ONE embedding judge per test session."""

from pathlib import Path

import pytest

from wmverse.debate import EmbeddingJudge, LexicalJudge, load_labels, load_observations

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "worlds" / "training" / "data" / "observations.json"
LABELS = ROOT / "worlds" / "training" / "data" / "labels.json"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module", autouse=True)
def _single_threaded_blas():
    """Small matrices on a shared 2-core machine: BLAS thread spinning costs more than it saves."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def labels_path() -> Path:
    return LABELS


@pytest.fixture(scope="session")
def sample():
    return load_observations(SAMPLE)


@pytest.fixture(scope="session")
def labels():
    return load_labels(LABELS)


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def embedding_judge(sample, embedding_cache):
    """The MiniLM model loads once per process; this judge's caches are shared by the session."""
    judge = EmbeddingJudge(cache_dir=embedding_cache)
    judge.prepare(sample.texts)
    return judge


@pytest.fixture
def lexical_judge():
    return LexicalJudge()
