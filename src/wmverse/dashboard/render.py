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
from typing import Any

from .theme import DashTheme

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
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; background: {background}; color: {text}; font-family: {font}; }}
header {{ padding: 10px 16px 2px; }}
header h1 {{ margin: 0; font-size: 18px; font-weight: 600; }}
#dash {{ display: grid; grid-template-columns: repeat({columns}, minmax(0, 1fr)); gap: 12px; padding: 10px 16px 24px; }}
.panel {{ height: {panel_height}px; min-width: 0; background: {panel_background}; border: 1px solid {panel_border};
  border-radius: 6px; overflow: hidden; }}
.panel > .plot {{ width: 100%; height: 100%; }}
/* narrower windows (the world's sidebar): two columns, then one; panels in the order they were added */
@media (max-width: 1399px) {{
  #dash {{ grid-template-columns: repeat(2, minmax(0, 1fr)); }}
  .panel {{ grid-column: auto !important; grid-row: auto !important; }}
}}
@media (max-width: 899px) {{
  #dash {{ grid-template-columns: minmax(0, 1fr); padding: 8px; gap: 8px; }}
}}
#status {{ position: fixed; bottom: 2px; right: 6px; font-size: 10px; color: {muted}; }}
</style>
<script>{plotly_js}</script>
</head>
<body>
<header><h1>{title}</h1></header>
<main id="dash" data-panels="{n_panels}">
{sections}
</main>
<div id="status">rendering</div>
<script>
var DASH = {figure_json};
var CONFIG = {{responsive: true, displaylogo: false, displayModeBar: false}};
window.dashReady = Promise.all(DASH.panels.map(function (p, i) {{
  return Plotly.newPlot('plot-' + i, p.data, p.layout, CONFIG);
}})).then(function () {{
  var n = DASH.panels.reduce(function (acc, p) {{ return acc + p.data.length; }}, 0);
  var s = document.getElementById('status');
  s.textContent = 'rendered ' + n + ' traces in ' + DASH.panels.length + ' panels';
  s.setAttribute('data-rendered', '1');
}});
</script>
</body>
</html>
"""

_SECTION = (
    '<section class="panel" id="panel-{i}" data-position="{position}" data-empty="{empty}" '
    'style="grid-column: {column}; grid-row: {row};"><div class="plot" id="plot-{i}"></div></section>'
)


def _as_dashboard(fig: dict[str, Any]) -> dict[str, Any]:
    """A plain figure ({"data", "layout"}) as a one-panel dashboard spanning the whole width."""
    layout = dict(fig["layout"])
    title = layout.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return {
        "layout": {
            "title": str(title or "dashboard"),
            "columns": 1,
            "panel_height": int(layout.get("height", 900)),
        },
        "panels": [
            {"position": "main", "column": 1, "row": 1, "title": str(title or ""), "empty": False, **fig}
        ],
    }


def render_offline_html(figure_json: str | dict, title: str = "World dashboard", n_panels: int = 0) -> str:
    """A complete HTML document drawing a dashboard with inlined plotly.js (no network needed).

    ``figure_json`` is :meth:`SidebarDash.to_dict` (``{"layout", "panels"}``: one plotly figure per panel,
    laid out on a CSS grid: three columns on a wide screen, two below 1400 px, one below 900 px) or a plain plotly figure
    (``{"data", "layout"}``, drawn as a single panel). Anything else raises ``ValueError``. ``n_panels`` is
    written as ``data-panels`` on the grid (tests compare it with what rendered). ``</script>`` inside the
    JSON is escaped. Once every panel is drawn, ``#status`` gets ``data-rendered="1"`` and the promise
    ``window.dashReady`` resolves.
    """
    fig = json.loads(figure_json) if isinstance(figure_json, str) else figure_json
    if not isinstance(fig, dict) or "layout" not in fig or ("data" not in fig and "panels" not in fig):
        raise ValueError(
            "figure_json must be a plotly figure with 'data' and 'layout' keys "
            "(or a SidebarDash dict with 'panels' and 'layout')"
        )
    dash = fig if "panels" in fig else _as_dashboard(fig)
    page = dash["layout"]
    theme = DashTheme()
    sections = "\n".join(
        _SECTION.format(
            i=i,
            position=html.escape(str(p.get("position", i))),
            empty=str(bool(p.get("empty"))).lower(),
            column=int(p.get("column", 1)),
            row=int(p.get("row", i + 1)),
        )
        for i, p in enumerate(dash["panels"])
    )
    payload = json.dumps(dash, sort_keys=True).replace("</", "<\\/")
    return _TEMPLATE.format(
        title=html.escape(title),
        plotly_js=plotly_js(),
        figure_json=payload,
        n_panels=int(n_panels),
        sections=sections,
        columns=int(page.get("columns", 3)),
        panel_height=int(page.get("panel_height", 360)),
        background=page.get("background", theme.background),
        panel_background=page.get("panel_background", theme.panel_background),
        panel_border=page.get("panel_border", theme.panel_border),
        text=page.get("text", theme.text),
        muted=page.get("muted", theme.muted),
        font=page.get("font_family", theme.font_family),
    )
