"""Offline dashboards: plotly panels as a self-contained HTML page (plotly.js inlined, no network needed).

Light on purpose: nothing here imports unaiverse. ``SidebarDash`` lays panels (objects with ``.data`` and
``.layout``, such as unaiverse's ``UIPlot``) out on a grid of named cells, one figure per panel, all styled by
one ``DashTheme``; ``render_offline_html`` turns it into a page that renders with no network;
``wmverse.dashboard.browser`` opens a page in headless Chromium for checks (DOM, screenshots, panel boxes).
"""

from .layout import SidebarDash
from .render import PLOTLY_JS_VERSION, plotly_js, render_offline_html
from .theme import DashTheme

__all__ = ["PLOTLY_JS_VERSION", "DashTheme", "SidebarDash", "plotly_js", "render_offline_html"]
