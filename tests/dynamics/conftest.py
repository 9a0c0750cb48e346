"""Fixtures for the dynamics tests."""

from __future__ import annotations

import pytest

from wmverse.dynamics.testing import linear_transitions


@pytest.fixture
def transitions():
    return linear_transitions(200, seed=0)
