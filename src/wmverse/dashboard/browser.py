"""Open a dashboard in a real headless Chromium, offline, and read back what it rendered.

Used by the tests and handy to check a dashboard without a display: :func:`dump_dom` returns the DOM after
the page's scripts ran (plotly draws its SVG panels into it), :func:`screenshot` writes a PNG. Chromium runs
with a fresh profile, no sandbox, no GPU and every background network feature off; the page is a local
file, so a page that needs the network renders nothing.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "chromium_command", "dump_dom", "measure_panels", "screenshot", "BrowserError"]

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


def dump_dom(
    html_path: str | Path,
    budget_ms: int = 15000,
    timeout: float = 90.0,
    window_size: tuple[int, int] | None = None,
) -> str:
    """The page's DOM after its scripts ran (``--dump-dom`` with a virtual time budget of ``budget_ms``);
    ``window_size`` (width, height) in CSS pixels, Chromium's default when None."""
    size = [f"--window-size={window_size[0]},{window_size[1]}"] if window_size else []
    return _run([f"--virtual-time-budget={budget_ms}", *size, "--dump-dom"], html_path, timeout).stdout


#: Runs in the page once every panel is drawn (``window.dashReady``): the boxes (left, top, right, bottom in
#: CSS px) of each panel and of what plotly drew in it, written as JSON into ``<pre id="wmverse-measure">``.
_PROBE = """<script>
(function () {
  function box(el) {
    if (!el) return null;
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return null;
    return [r.left, r.top, r.right, r.bottom];
  }
  function texts(sec, sel) {
    return Array.prototype.map.call(sec.querySelectorAll(sel), function (e) { return e.textContent; })
      .filter(function (t) { return t.trim().length > 0; });
  }
  function unique(xs) {
    return xs.filter(function (x, i) { return xs.indexOf(x) === i; }).sort();
  }
  window.dashReady.then(function () {
    var out = Array.prototype.map.call(document.querySelectorAll('section.panel'), function (sec) {
      var legend = sec.querySelector('g.legend');
      return {
        position: sec.getAttribute('data-position'),
        empty: sec.getAttribute('data-empty') === 'true',
        panel: box(sec),
        title: texts(sec, '.g-gtitle text').join(' '),
        title_box: box(sec.querySelector('.g-gtitle text')),
        legend: legend ? box(legend.querySelector('rect.bg')) : null,
        legend_entries: texts(sec, 'g.legend g.traces text.legendtext'),
        plot_area: box(sec.querySelector('.cartesianlayer .bg, .nsewdrag')),
        x_titles: texts(sec, '.g-xtitle text'),
        y_titles: texts(sec, '.g-ytitle text, .g-y2title text'),
        axis_title_boxes: Array.prototype.map.call(
          sec.querySelectorAll('.g-xtitle text, .g-ytitle text, .g-y2title text'), box),
        tick_boxes: Array.prototype.map.call(sec.querySelectorAll('g.xtick text, g.ytick text, g.y2tick text'), box)
          .filter(function (b) { return b !== null; }),
        annotations: Array.prototype.map.call(sec.querySelectorAll('g.annotation text'), function (e) {
          var lines = e.querySelectorAll('tspan.line');
          return lines.length ? Array.prototype.map.call(lines, function (l) { return l.textContent; }).join('\\n')
            : e.textContent;
        }),
        grid_colors: unique(Array.prototype.map.call(sec.querySelectorAll('.gridlayer path'),
          function (e) { return getComputedStyle(e).stroke; })),
        fonts: unique(Array.prototype.map.call(sec.querySelectorAll('svg text'),
          function (e) { return getComputedStyle(e).fontFamily; })),
        tables: sec.querySelectorAll('g.table').length,
        traces: sec.querySelectorAll('g.trace').length
      };
    });
    var pre = document.createElement('pre');
    pre.id = 'wmverse-measure';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>
"""


def measure_panels(
    html_path: str | Path,
    width: int = 1600,
    height: int = 1150,
    budget_ms: int = 15000,
    timeout: float = 90.0,
) -> list[dict]:
    """Open a dashboard page (``render_offline_html``) at ``width`` x ``height`` and return, per panel, what
    the browser laid out: ``position``, ``empty``, boxes ``panel``, ``title_box``, ``legend``, ``plot_area``
    (``[left, top, right, bottom]`` in CSS px, ``None`` when not drawn), and the drawn texts ``title``,
    ``legend_entries``, ``x_titles``, ``y_titles``, ``annotations`` (lines joined by ``\\n``), the boxes ``axis_title_boxes`` and ``tick_boxes``, the distinct
    ``grid_colors`` and ``fonts`` (computed CSS) of its SVG, plus counts of ``tables`` and ``traces``.

    The page is copied with a measuring script appended; the original file is not touched. Raises
    :class:`BrowserError` when the page never finished drawing.
    """
    page = Path(html_path).read_text("utf-8")
    if "</body>" not in page:
        raise BrowserError(f"{html_path} is not a dashboard page (no </body>)")
    probed = page.replace("</body>", _PROBE + "</body>", 1)
    with tempfile.TemporaryDirectory(prefix="wmverse-measure-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(probed, encoding="utf-8")
        dom = dump_dom(copy, budget_ms=budget_ms, timeout=timeout, window_size=(width, height))
    m = re.search(r'<pre id="wmverse-measure">(.*?)</pre>', dom, re.S)
    if m is None:
        raise BrowserError("the dashboard never finished drawing (no measurements came back)")
    return json.loads(html_lib.unescape(m.group(1)))


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
