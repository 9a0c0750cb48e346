"""One visual template for every dashboard panel: fonts, grid, margins, axis titles, legend, empty states.

:class:`DashTheme` holds the colours, fonts and spacing; :meth:`DashTheme.template` is that look as a plotly
template, registered as ``plotly.io.templates["wmverse"]`` when this module is imported, so any plotly figure
can use it with ``template="wmverse"``.

Panels come from different builders (unaiverse's ``UIPlot``, a world's own plotly panels), each with its
own idea of grid colours, fonts and legends. :func:`panel_figure` turns any panel (``data`` + ``layout``)
into a complete plotly figure that carries its theme's template, so every panel of a dashboard looks the
same, draws its own legend inside its own box and says "no data yet" instead of showing an empty pair of
axes. No browser needed.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "DashTheme",
    "EMPTY_TEXT",
    "PALETTE",
    "TEMPLATE_NAME",
    "is_empty_panel",
    "panel_figure",
    "register_template",
    "theme_template",
]

#: Name the default theme's template is registered under in ``plotly.io.templates``.
TEMPLATE_NAME = "wmverse"

#: Trace colours, in order (the template's ``colorway``; builders that pick colours themselves use these).
PALETTE = ("#4D7FFF", "#00D4AA", "#FFB347", "#FF6692", "#B388FF", "#FF3B30", "#E0E0E0")

#: Text an empty panel shows (followed by the panel's own note, when it has one).
EMPTY_TEXT = "no data yet"

_DOMAIN_TRACES = ("table", "indicator", "pie")

#: Template layout values that :func:`panel_figure` writes into every figure as they are.
_FIGURE_KEYS = ("paper_bgcolor", "plot_bgcolor", "font", "margin", "hoverlabel", "colorway")


@dataclass(frozen=True)
class DashTheme:
    """Colours, fonts and spacing shared by every panel of a dashboard (dark, UNaIVERSE-like)."""

    background: str = "#0E0F14"  # page background behind the panels
    panel_background: str = "#12141B"  # fill of each panel's box
    panel_border: str = "#222A36"  # border of each panel's box
    text: str = "#C8CDD3"  # main text: titles, legend entries, table cells
    muted: str = "#8A95A5"  # tick labels, axis titles, empty-state text
    grid: str = "#262E3B"  # grid lines and the plot-area frame
    font_family: str = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"  # every text
    font_size: int = 12  # base font size (ticks, legend, table cells) in px
    title_size: int = 14  # panel title font size in px
    axis_title_size: int = 12  # axis title font size in px
    legend_size: int = 11  # legend entry font size in px
    table_header: str = "#1B1E27"  # table header fill
    table_cell: str = "#0E0F14"  # table cell fill
    table_row_height: int = 21  # table row height in px (headers and cells)
    margin: tuple[int, int, int, int] = (58, 14, 46, 48)  # base margin (left, right, top, bottom) in px
    palette: tuple[str, ...] = PALETTE  # trace colours for builders without their own

    def template(self) -> go.layout.Template:
        """This theme as a plotly template: page font and colours, panel title, axes, legend, margins, tables.

        Figures built with ``template=`` it (or ``template="wmverse"`` for the default theme) get the
        dashboard's look wherever their own layout does not say otherwise.
        """
        left, right, top, bottom = self.margin
        axis = {
            "color": self.muted,
            "gridcolor": self.grid,
            "gridwidth": 1,
            "griddash": "dot",
            "linecolor": self.grid,
            "linewidth": 1,
            "showline": True,
            "mirror": True,
            "zeroline": False,
            "layer": "below traces",
            "automargin": True,
            "tickfont": {"size": self.font_size - 1, "color": self.muted},
            "title": {"standoff": 8, "font": {"size": self.axis_title_size, "color": self.muted}},
        }
        layout = {
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": self.font_family, "size": self.font_size, "color": self.text},
            "margin": {"l": left, "r": right, "t": top, "b": bottom, "pad": 2, "autoexpand": True},
            "hoverlabel": {"font": {"family": self.font_family}},
            "colorway": list(self.palette),
            "title": {
                "x": 0.02,
                "xanchor": "left",
                "xref": "container",
                "y": 1.0,
                "yanchor": "top",
                "yref": "container",
                "pad": {"t": 12, "l": 4},
                "font": {"size": self.title_size, "color": self.text, "family": self.font_family},
            },
            "xaxis": axis,
            "yaxis": copy.deepcopy(axis),
            "legend": {
                "orientation": "v",
                "x": 1.02,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "top",
                "bgcolor": "rgba(0,0,0,0)",
                "borderwidth": 0,
                "tracegroupgap": 2,
                "font": {"size": self.legend_size, "color": self.text, "family": self.font_family},
            },
        }
        n = self.table_row_height
        table = {
            "header": {
                "fill": {"color": self.table_header},
                "font": {"color": self.text, "size": self.font_size, "family": self.font_family},
                "line": {"color": self.panel_border},
                "height": n + 3,
            },
            "cells": {
                "fill": {"color": self.table_cell},
                "font": {"color": self.text, "size": self.font_size - 1, "family": self.font_family},
                "line": {"color": self.panel_border},
                "height": n,
            },
        }
        return go.layout.Template(layout=layout, data={"table": [table]})


@functools.lru_cache(maxsize=16)
def _template(theme: DashTheme) -> go.layout.Template:
    return theme.template()


def theme_template(theme: DashTheme) -> dict[str, Any]:
    """``theme.template()`` as a plain dict (a fresh copy: the caller may change it), built once per theme."""
    return _template(theme).to_plotly_json()


def register_template(theme: DashTheme | None = None, name: str = TEMPLATE_NAME) -> str:
    """Registers ``theme``'s template (default: ``DashTheme()``) as ``plotly.io.templates[name]``; returns
    ``name``. Registering again replaces the entry with an equal template."""
    pio.templates[name] = _template(theme or DashTheme())
    return name


register_template()


def is_empty_panel(data: list[dict[str, Any]]) -> bool:
    """True when a panel has nothing to draw: no traces, or only cartesian traces without a single point."""
    for trace in data:
        if trace.get("type") in _DOMAIN_TRACES:
            return False
        for key in ("x", "y", "values"):
            if len(trace.get(key) or []) > 0:
                return False
    return True


def _title_text(title: Any) -> str | None:
    if isinstance(title, dict):
        title = title.get("text")
    return str(title) if title else None


def _nice_dtick(span: float, dtick: float, max_ticks: int) -> float:
    """``dtick`` or the smallest 1-2-5 multiple of it giving at most ``max_ticks`` intervals over ``span``."""
    if span / dtick <= max_ticks:
        return dtick
    scale = dtick
    while True:
        for f in (1, 2, 5):
            if span / (f * scale) <= max_ticks:
                return f * scale
        scale *= 10


def _axis(src: dict[str, Any], style: dict[str, Any], values: list[Any] | None = None) -> dict[str, Any]:
    """The template's axis ``style`` over ``src``: colours, grid and frame are the template's; what the panel
    decides (title, type, range, dtick, hidden ticks or grid, ``overlaying``/``side`` of a second axis) is
    kept. A fixed numeric ``dtick`` is widened (1-2-5 steps) when ``values`` would give more than 12 ticks,
    so tick labels never need to be rotated or overlap."""
    keep = {k: v for k, v in src.items() if k not in ("domain", "anchor", "title")}
    nums = [v for v in values or [] if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if isinstance(keep.get("dtick"), (int, float)) and keep["dtick"] > 0 and nums:
        keep["dtick"] = _nice_dtick(max(nums) - min(nums), keep["dtick"], 12)
    showline = src.get("showline", style["showline"])
    axis: dict[str, Any] = {
        **keep,
        **copy.deepcopy({k: v for k, v in style.items() if k != "title"}),
        "mirror": showline is not False and "overlaying" not in src,
        "showline": showline,
    }
    if src.get("showgrid") is False:
        axis["showgrid"] = False
    if "overlaying" in src:
        axis["showgrid"] = False  # a second axis draws no grid of its own (one grid per panel)
    title = _title_text(src.get("title"))
    if title:
        axis["title"] = {"text": title, **copy.deepcopy(style["title"])}
    return axis


def _trace(trace: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``trace``; a table gets the template's ``table`` style over its own header and cells."""
    t = copy.deepcopy(trace)
    if t.get("type") == "table":
        header = t.setdefault("header", {})
        if header.get("height") != 0:  # a hidden header row (UIPlot's add_table(None, ...)) stays hidden
            header.update(copy.deepcopy(table["header"]))
        t.setdefault("cells", {}).update(copy.deepcopy(table["cells"]))
        t["domain"] = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    elif "text" in str(t.get("mode", "")):
        t["cliponaxis"] = False  # labels near the edge stay whole instead of being cut by the plot area
    t.pop("legend", None)  # one legend per panel figure
    return t


def _fallback_title(traces: list[dict[str, Any]]) -> str:
    """A y-axis title for a panel that gave none: its trace names (``a / b``) when short, else ``value``."""
    names = list(dict.fromkeys(str(t["name"]) for t in traces if t.get("name")))
    text = " / ".join(names)
    return text if names and len(text) <= 40 else "value"


def _legend_entries(data: list[dict[str, Any]]) -> int:
    names = set()
    for t in data:
        if t.get("type") in _DOMAIN_TRACES or t.get("showlegend") is False or not t.get("name"):
            continue
        names.add((t.get("legendgroup"), t["name"]))
    return len(names)


def panel_figure(
    data: list[dict[str, Any]],
    layout: dict[str, Any],
    theme: DashTheme,
    height: int,
    empty_note: str | None = None,
) -> dict[str, Any]:
    """A complete plotly figure ({"data", "layout"}) for one panel, styled by ``theme``'s template.

    The layout carries the template itself (``layout.template``, as a dict: plotly.js knows no template
    names), and the template's values are also written over the panel's own styling, which would otherwise
    win over a template's defaults. ``data``/``layout`` are the panel's own (``layout`` may hold ``title``,
    ``xaxis``, ``yaxis``, ``yaxis2``, ``annotations``, ``barmode``); nothing in them is modified. Every text
    uses the theme's font;
    visible axes get the theme's grid, frame and the panel's axis titles (a y axis without one is titled by
    its traces' names, ``a / b``, so no value axis is left unlabeled); the legend (only
    when two or more entries exist) sits right of the plot area, inside the panel's own figure. A panel
    with nothing to draw (:func:`is_empty_panel`) hides its axes and shows ``"no data yet"`` (plus
    ``empty_note``) in its middle. Table traces fill the panel below the title.
    """
    if height < 120:
        raise ValueError(f"panel height must be at least 120 px, got {height}")
    title = _title_text(layout.get("title"))
    template = theme_template(theme)
    style = theme_template(theme)["layout"]  # a separate copy: the figure's values may be changed below
    traces = [_trace(t, template["data"]["table"][0]) for t in data]
    empty = is_empty_panel(traces)
    has_cartesian = any(t.get("type") not in _DOMAIN_TRACES for t in traces) or empty
    margin = style["margin"]
    l_, r_ = margin["l"], margin["r"]
    fig_layout: dict[str, Any] = {
        "template": template,
        "height": height,
        "autosize": True,
        **{k: style[k] for k in _FIGURE_KEYS},
        "annotations": [copy.deepcopy(a) for a in layout.get("annotations", [])],
    }
    if title:
        fig_layout["title"] = {"text": f"<b>{title}</b>", **style["title"]}
    for key in ("barmode", "bargap"):
        if key in layout:
            fig_layout[key] = layout[key]
    if empty:
        hidden = {"visible": False, "showgrid": False, "zeroline": False}
        fig_layout["xaxis"] = dict(hidden)
        fig_layout["yaxis"] = dict(hidden)
        text = EMPTY_TEXT + (
            f"<br><span style='font-size:{theme.font_size}px'>{empty_note}</span>" if empty_note else ""
        )
        fig_layout["annotations"].append(
            {
                "text": text,
                "name": "empty-state",
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "font": {"size": theme.title_size + 2, "color": theme.muted},
            }
        )
        fig_layout["showlegend"] = False
        traces = []
    elif has_cartesian:
        if any("text" in str(t.get("mode", "")) for t in traces):  # labels drawn past the plot area's edge
            fig_layout["margin"].update(l=max(l_, 44), r=max(r_, 44))
        xs = [v for t in traces if t.get("type") not in _DOMAIN_TRACES for v in t.get("x") or []]
        for key in ("xaxis", "yaxis", "yaxis2"):
            if key in layout:
                axis_style = style["xaxis" if key == "xaxis" else "yaxis"]
                fig_layout[key] = _axis(layout[key] or {}, axis_style, xs if key == "xaxis" else None)
        y_src = layout.get("yaxis") or {}
        if not _title_text(y_src.get("title")) and y_src.get("showticklabels") is not False:
            fig_layout["yaxis"] = _axis({**y_src, "title": _fallback_title(traces)}, style["yaxis"])
        fig_layout.setdefault("xaxis", _axis({}, style["xaxis"]))
        fig_layout.setdefault("yaxis", _axis({}, style["yaxis"]))
    else:  # tables / indicators only: no axes, small margins
        fig_layout["margin"].update(l=10, r=10, b=10)
        fig_layout["xaxis"] = {"visible": False}
        fig_layout["yaxis"] = {"visible": False}
    if not empty:
        n_entries = _legend_entries(traces)
        fig_layout["showlegend"] = n_entries >= 2
        fig_layout["legend"] = style["legend"]
        if "yaxis2" in fig_layout:  # the right axis' ticks and title sit between plot and legend
            fig_layout["legend"].update(x=0.99, xref="container", xanchor="right")
    return {"data": traces, "layout": fig_layout}
