"""Fixtures for the dynamics tests."""

from __future__ import annotations

import pytest
import torch

from wmverse.dynamics.testing import linear_transitions

torch.set_num_threads(1)  # tiny models: one thread is faster on a shared 2-core machine


@pytest.fixture
def transitions():
    return linear_transitions(200, seed=0)
