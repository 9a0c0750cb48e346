"""Fixtures for the dynamics tests."""

from __future__ import annotations

import pytest
import torch

from wmverse.dynamics.testing import linear_transitions


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread (two oversubscribe a busy 2-core machine);
    the previous setting is restored so other packages' tests are unaffected."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def transitions():
    return linear_transitions(200, seed=0)
