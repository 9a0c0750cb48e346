"""Fixtures of the world tests."""

import os

import pytest


@pytest.fixture(scope="module")
def chromium():
    """The real headless Chromium the dashboard tests drive: skipped where it is missing, except under
    CI=true, where its absence fails the test (CI installs Debian's chromium)."""
    from wmverse.dashboard.browser import find_chromium

    if find_chromium() is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Chromium is required under CI (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium); CI runs this test")
    return True
