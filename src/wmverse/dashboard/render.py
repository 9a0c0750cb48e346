"""Self-contained HTML for a plotly figure: plotly.js is inlined, so the page renders with no network.

unaiverse's own renderer (``stats_html_renderer.render_plotly_html``) points a ``<script src>`` at a CDN,
which leaves the dashboard blank offline. Here the exact plotly.js that the installed ``plotly`` package
bundles (plotly 5.24.1 -> plotly.js 2.35.2, the version unaiverse's charts are written for) is embedded.
"""

from __future__ import annotations

import functools
import html
import json
import re

__all__ = ["PLOTLY_JS_VERSION", "plotly_js", "render_offline_html"]

#: plotly.js major.minor the dashboards are written for (UIPlot uses string titles, plotly.js 2.x).
PLOTLY_JS_VERSION = "2.35"


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped inside the installed ``plotly`` package (about 4.5 MB of JavaScript).

    Raises ``RuntimeError`` if the bundled version is not plotly.js 2.35.x.
    """
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    m = re.search(r"plotly\.js v(\d+\.\d+)\.\d+", js[:2000])
    if m is None or m.group(1) != PLOTLY_JS_VERSION:
        found = m.group(0) if m else "an unknown version"
        raise RuntimeError(
            f"the installed plotly bundles {found}; the dashboard needs plotly.js "
            f"{PLOTLY_JS_VERSION}.x (install plotly==5.24.1)"
        )
    return js


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; background: {background}; color: #C8CDD3; font-family: sans-serif; }}
#plot {{ width: 100vw; height: {height}px; }}
#status {{ position: fixed; bottom: 2px; right: 6px; font-size: 10px; color: #677385; }}
</style>
<script>{plotly_js}</script>
</head>
<body>
<div id="plot" data-panels="{n_panels}"></div>
<div id="status">rendering</div>
<script>
var DASH = {figure_json};
Plotly.newPlot('plot', DASH.data, DASH.layout, {{responsive: true, displaylogo: false}}).then(function () {{
  var s = document.getElementById('status');
  s.textContent = 'rendered ' + DASH.data.length + ' traces';
  s.setAttribute('data-rendered', '1');
}});
</script>
</body>
</html>
"""


def render_offline_html(
    figure_json: str | dict, title: str = "World dashboard", n_panels: int = 0, background: str = "#0E0F14"
) -> str:
    """A complete HTML document drawing ``figure_json`` ({"data": [...], "layout": {...}}) with inlined plotly.js.

    ``n_panels`` is written as ``data-panels`` on the plot div (tests compare it with what rendered). A
    figure without ``data``/``layout`` raises ``ValueError``. ``</script>`` inside the JSON is escaped.
    """
    fig = json.loads(figure_json) if isinstance(figure_json, str) else figure_json
    if not isinstance(fig, dict) or "data" not in fig or "layout" not in fig:
        raise ValueError("figure_json must be a plotly figure with 'data' and 'layout' keys")
    height = int(fig["layout"].get("height", 900))
    payload = json.dumps(fig, sort_keys=True).replace("</", "<\\/")
    return _TEMPLATE.format(
        title=html.escape(title),
        plotly_js=plotly_js(),
        figure_json=payload,
        n_panels=int(n_panels),
        height=height,
        background=background,
    )
