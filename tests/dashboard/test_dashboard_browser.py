"""The served dashboard in a real headless Chromium (Playwright; nothing downloaded: Debian's chromium).

The page is served by ``serve()`` on a free port against the miniature run store. Screenshots go to the
test's folder; ``WMVERSE_SAVE_SCREENSHOT=1`` also writes the wide one to ``docs/dashboard.png``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wmverse.dashboard.app import serve
from wmverse.store import RunStore, Transition

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
WIDE = {"width": 1600, "height": 1000}
NARROW = {"width": 420, "height": 900}

#: what overflows the window: the page's width beyond it, and the panels whose box leaves it
_OVERFLOW = """() => {
  const w = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll('.wm-panel, .wm-side, .wm-toolbar')) {
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > w + 0.5) out.push([el.className, r.left, r.right]);
  }
  return {scroll: document.scrollingElement.scrollWidth, inner: w, outside: out};
}"""


def _graph_js(stat: str) -> str:
    return f"document.querySelector('[data-stat=\"{stat}\"] .js-plotly-plot')"


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _open(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    page.wmverse_requests = []
    page.on("request", lambda request: page.wmverse_requests.append(request.url))
    page.goto(url)
    page.wait_for_selector(".wm-agents label", timeout=30_000)
    page.wait_for_selector("[data-stat='val_accuracy'] .main-svg", timeout=30_000)
    return page


def _check_fits(page, png: Path) -> None:
    """Screenshot the page and check nothing overflows it horizontally."""
    page.wait_for_timeout(400)  # plotly's responsive resize after a viewport change
    page.screenshot(path=str(png), full_page=True)
    fit = page.evaluate(_OVERFLOW)
    assert fit["scroll"] <= fit["inner"], fit
    assert not fit["outside"], fit


def test_sidebar_agent_view_and_live_epoch(browser, store_path, mini, tmp_path):
    with RunStore.open(store_path) as store:
        live_run = mini.fill_run(store, finished=False)  # a second run, still running
    url, stop = serve(store_path, port=0)
    try:
        page = _open(browser, url, WIDE)
        side = page.inner_text(".wm-side")
        for text in (
            "#2 training",
            "#1 training",
            "running",
            "Survival",
            "Comfort",
            "LearnerLeworld",
            "tendency",
        ):
            assert text in side
        _check_fits(page, tmp_path / "dashboard-wide.png")
        if os.environ.get("WMVERSE_SAVE_SCREENSHOT") == "1":
            (REPO / "docs").mkdir(exist_ok=True)
            page.screenshot(path=str(REPO / "docs" / "dashboard.png"))

        page.locator(".wm-agents label", has_text="Survival").click()
        page.wait_for_selector("#wm-back", timeout=10_000)
        assert page.inner_text("#wm-agent-state") == "idle"
        content = page.inner_text("#wm-content")
        assert "validation significant at epoch 5" in content and "pro · score 0.80" in content
        assert "now: idle" in page.locator(".wm-panel .gtitle").first.text_content()
        _check_fits(page, tmp_path / "dashboard-agent.png")

        page.locator(".wm-agents label", has_text="LearnerLeworld").click()
        page.wait_for_function(
            "document.querySelector('#wm-agent-state')?.textContent === 'ready'", timeout=10_000
        )
        with RunStore.open(store_path) as store:  # the learner moves while the page is open
            store.add_transitions(
                live_run, [Transition("LearnerLeworld", "ready", "training", "train", mini.T0 + 999)]
            )
        page.wait_for_function(
            "[...document.querySelectorAll('.gtitle')].some(t => t.textContent.includes('now: training'))",
            timeout=3_000,
        )

        page.click("#wm-back")
        page.wait_for_selector("[data-stat='val_accuracy'] .main-svg", timeout=10_000)
        page.evaluate("window.__wmverse_marker = 42")  # gone if the page reloads
        assert 6 not in page.evaluate(f"{_graph_js('val_accuracy')}.data[0].x")
        with RunStore.open(store_path) as store:
            store.add_points(live_run, mini.epoch_points(mini.EPOCHS + 1))
        start = time.monotonic()
        page.wait_for_function(
            f"{_graph_js('val_accuracy')}.data[0].x.includes(6)", timeout=2_000, polling=50
        )
        assert time.monotonic() - start < 2.0
        assert page.evaluate("window.__wmverse_marker") == 42

        page.set_viewport_size(NARROW)
        _check_fits(page, tmp_path / "dashboard-narrow.png")
        base = url.rstrip("/")
        assert all(u.startswith(base) for u in page.wmverse_requests), page.wmverse_requests  # no CDN
    finally:
        stop()


def test_two_runs_overlaid_in_one_figure(browser, store_path, mini, tmp_path):
    with RunStore.open(store_path) as store:
        mini.fill_run(store, run_shift=0.05)
    url, stop = serve(store_path, port=0)
    try:
        page = _open(browser, url, WIDE)
        page.locator(".wm-runs label", has_text="#1 training").click()
        legend = "[...document.querySelectorAll('[data-stat=\"val_accuracy\"] g.legend text.legendtext')].map(t => t.textContent)"
        page.wait_for_function(f"{legend}.length === 2", timeout=10_000)
        names = page.evaluate(legend)
        assert sorted(names) == ["run 1 · world", "run 2 · world"]
        assert "2 runs overlaid" in page.inner_text("#wm-world")
        _check_fits(page, tmp_path / "overlay-wide.png")
        page.set_viewport_size(NARROW)
        _check_fits(page, tmp_path / "overlay-narrow.png")
        page.fill("#wm-search", "accur")  # the search box narrows the panels to matching stats
        page.wait_for_function(
            "[...document.querySelectorAll('#wm-content [data-stat]')].map(e => e.dataset.stat).join() === 'val_accuracy'",
            timeout=10_000,
        )
    finally:
        stop()
