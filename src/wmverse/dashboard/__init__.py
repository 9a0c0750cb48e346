"""Dashboards: offline HTML pages of plotly panels, and the served dashboard on a run store.

Light on purpose: nothing here imports unaiverse. ``SidebarDash`` lays panels (objects with ``.data`` and
``.layout``, such as unaiverse's ``UIPlot``) out on a grid of named cells, one figure per panel, all styled by
one ``DashTheme``; ``render_offline_html`` turns it into a page that renders with no network;
``wmverse.dashboard.browser`` opens a page in headless Chromium for checks (DOM, screenshots, panel boxes).
``make_app`` / ``serve`` (:mod:`wmverse.dashboard.app`) serve the runs of a run store in the browser, live
while a world writes them (``wmverse dashboard``).

The names below load on first use (plotly, Dash), so that ``wmverse --help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import make_app, serve
    from .layout import SidebarDash
    from .render import PLOTLY_JS_VERSION, plotly_js, render_offline_html
    from .theme import DashTheme

#: public name -> the submodule that defines it
_HOME = {
    "PLOTLY_JS_VERSION": "render",
    "DashTheme": "theme",
    "SidebarDash": "layout",
    "make_app": "app",
    "plotly_js": "render",
    "render_offline_html": "render",
    "serve": "app",
}

__all__ = [
    "PLOTLY_JS_VERSION",
    "DashTheme",
    "SidebarDash",
    "make_app",
    "plotly_js",
    "render_offline_html",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
