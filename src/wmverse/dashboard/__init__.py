"""Offline dashboards: plotly figures as self-contained HTML (plotly.js inlined, no network needed).

Light on purpose: nothing here imports unaiverse. ``render_offline_html`` wraps a plotly figure JSON in a
page that renders with no network; ``SidebarDash`` lays panels (objects with ``.data`` and ``.layout``,
such as unaiverse's ``UIPlot``) out on a grid; ``wmverse.dashboard.browser`` opens a page in headless
Chromium for checks.
"""

from .layout import SidebarDash
from .render import PLOTLY_JS_VERSION, plotly_js, render_offline_html

__all__ = ["PLOTLY_JS_VERSION", "SidebarDash", "plotly_js", "render_offline_html"]
