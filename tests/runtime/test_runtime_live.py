"""``run_asynch.py WORLD --live``: the real unaiverse network; offline it ends at once with the reason."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _root_reachable() -> bool:
    try:
        socket.create_connection(("unaiverse.io", 443), timeout=3).close()
        return True
    except OSError:
        return False


def test_live_without_a_key_says_where_to_get_one(tmp_path, monkeypatch):
    from wmverse.runtime import live

    monkeypatch.delenv("NODE_KEY", raising=False)
    monkeypatch.setattr(live, "KEY_FILE", tmp_path / "no-key")
    problem = live.live_problem(None, timeout_s=1.0)
    assert problem is not None and "key" in problem and "unaiverse.io/me/security" in problem
    (tmp_path / "key").write_text("k-123\n")
    monkeypatch.setattr(live, "KEY_FILE", tmp_path / "key")
    assert live._key(None) == "k-123"


def test_live_offline_exits_within_30_s_with_the_reason():
    if _root_reachable():
        pytest.skip("this machine reaches unaiverse.io: the offline path cannot be observed here")
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_asynch.py"),
            str(ROOT / "worlds" / "training"),
            "--live",
            "--key",
            "k",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 2
    assert "cannot reach unaiverse's root server unaiverse.io:443" in done.stdout
    assert "Offline, run the world with run_synch.py" in done.stdout
