"""Open a dashboard in a real headless Chromium, offline, and read back what it rendered.

Used by the tests and handy to check a dashboard without a display: :func:`dump_dom` returns the DOM after
the page's scripts ran (plotly draws its SVG panels into it), :func:`screenshot` writes a PNG. Chromium runs
with a fresh profile, no sandbox, no GPU and every background network feature off; the page is a local
file, so a page that needs the network renders nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "chromium_command", "dump_dom", "screenshot", "BrowserError"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(RuntimeError):
    """Chromium is missing or failed."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``WMVERSE_CHROMIUM`` wins), or None."""
    env = os.environ.get("WMVERSE_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_command(profile_dir: str, extra: list[str]) -> list[str]:
    """The headless command line (fresh profile, offline-friendly flags)."""
    exe = find_chromium()
    if exe is None:
        raise BrowserError("no Chromium found (apt-get install chromium, or set WMVERSE_CHROMIUM)")
    return [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile_dir}",
        *extra,
    ]


def _run(extra: list[str], html_path: str | Path, timeout: float) -> subprocess.CompletedProcess:
    url = Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="wmverse-chromium-") as profile:
        cmd = chromium_command(profile, [*extra, url])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise BrowserError(f"Chromium did not finish within {timeout} s") from e
    if proc.returncode != 0:
        raise BrowserError(f"Chromium exited with {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def dump_dom(html_path: str | Path, budget_ms: int = 15000, timeout: float = 90.0) -> str:
    """The page's DOM after its scripts ran (``--dump-dom`` with a virtual time budget of ``budget_ms``)."""
    return _run([f"--virtual-time-budget={budget_ms}", "--dump-dom"], html_path, timeout).stdout


def screenshot(
    html_path: str | Path,
    png_path: str | Path,
    width: int = 1600,
    height: int = 1150,
    budget_ms: int = 15000,
    timeout: float = 90.0,
) -> Path:
    """Render the page and write a PNG screenshot; returns its path."""
    png = Path(png_path).resolve()
    _run(
        [f"--virtual-time-budget={budget_ms}", f"--window-size={width},{height}", f"--screenshot={png}"],
        html_path,
        timeout,
    )
    if not png.is_file() or png.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot at {png}")
    return png
