"""Plotly figures (plain dicts, as Dash sends them) of the served dashboard's stats and dated series.

Every figure carries the look of :class:`~wmverse.dashboard.theme.DashTheme` inline (a few keys, not the
whole template, so that answers stay small). A stat's figure has one trace per series (an agent of a run);
with smoothing, a faint raw trace and the smoothed one, in that order, so that the live update can extend
trace ``2 i`` and ``2 i + 1``. Above ``GL_POINTS`` points a figure is WebGL (``scattergl``), at most
``MAX_GL`` of them a page (browsers allow 8-16 WebGL contexts); the rest stay SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..theme import PALETTE, DashTheme
from .colors import RUN_COLORS, RUN_DASHES
from .shaping import Agent, Forecast

__all__ = [
    "GL_POINTS",
    "MAX_GL",
    "X_TITLES",
    "Series",
    "axis",
    "base_layout",
    "forecast_figure",
    "log_axis",
    "series_style",
    "stat_figure",
]

GL_POINTS = 1000
MAX_GL = 6
#: x axis choices and their titles
X_TITLES = {"step": "step / epoch", "sim": "simulated time", "wall": "wall time"}
THEME = DashTheme()


@dataclass
class Series:
    """One trace's worth of data: a stat of one agent of one run."""

    key: str  # "<run id>|<agent name>", the live update's handle on it
    run_id: int
    agent: Agent
    x: np.ndarray
    y: np.ndarray | list[str]  # numbers, or labels for a categorical stat
    dated: bool = False  # x holds dates from the values' own details
    smooth: np.ndarray | None = field(default=None)


def _clean(values: Any) -> list:
    """Numbers as a JSON-able list (NaN -> None)."""
    if isinstance(values, list):
        return values
    arr = np.asarray(values, dtype="float64")
    return [None if not math.isfinite(v) else float(v) for v in arr.tolist()]


def axis(title: str | None = None, **kw: Any) -> dict[str, Any]:
    axis = {
        "color": THEME.muted,
        "gridcolor": THEME.grid,
        "griddash": "dot",
        "linecolor": THEME.grid,
        "showline": True,
        "mirror": True,
        "zeroline": False,
        "automargin": True,
        "tickfont": {"size": THEME.font_size - 1},
        **kw,
    }
    if title:
        axis["title"] = {"text": title, "standoff": 6, "font": {"size": THEME.axis_title_size - 1}}
    return axis


def base_layout(title: str, height: int) -> dict[str, Any]:
    """The theme's layout of a panel: font, transparent backgrounds, margins, title at the top left."""
    return {
        "height": height,
        "autosize": True,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": THEME.font_family, "size": THEME.font_size, "color": THEME.text},
        "margin": {"l": 52, "r": 12, "t": 34, "b": 40, "pad": 2},
        "title": {
            "text": f"<b>{title}</b>",
            "x": 0.01,
            "xanchor": "left",
            "xref": "container",
            "y": 0.98,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": THEME.title_size - 1},
        },
        "hoverlabel": {"font": {"family": THEME.font_family}},
        "hovermode": "closest",
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.16,
            "yanchor": "top",
            "font": {"size": THEME.legend_size - 1},
            "bgcolor": "rgba(0,0,0,0)",
            "itemwidth": 30,
        },
    }


def log_axis(values: list[np.ndarray]) -> dict[str, Any]:
    """A log y axis with readable ticks: powers of ten (10^-3, 10^-2 ...; one label every ``k`` decades, at
    most about 8) when the data span two decades or more, else full numbers on a 1-2-5 grid (0.2, 0.5, 1,
    2, 5): never plotly's bare '2, 5' mantissas between the powers."""
    finite = [v[np.isfinite(v) & (v > 0)] for v in values]
    positive = np.concatenate(finite) if finite else np.array([])
    axis: dict[str, Any] = {"type": "log", "exponentformat": "power"}
    if not positive.size:
        return axis
    low, high = math.log10(positive.min()), math.log10(positive.max())
    if high - low >= 2.0:
        axis["dtick"] = max(1, math.ceil((high - low) / 8))
        return axis
    steps = (1, 2, 5) if high - low >= 0.5 else (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)
    decades = range(math.floor(low) - 1, math.ceil(high) + 2)  # a decade of room for the live update
    axis["tickvals"] = [float(f"{m * 10.0**k:.6g}") for k in decades for m in steps]
    axis["tickformat"] = ".3~g"
    return axis


def _faint(color: str, alpha: float = 0.3) -> str:
    """``#RRGGBB`` as ``rgba(...)`` (a raw trace under its smoothed one; WebGL traces ignore opacity)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def series_style(series: list[Series], runs: list[int]) -> dict[str, dict[str, str]]:
    """key -> {name, color, dash, group} of each trace: agents' colours and names; with several runs the
    run id in the name, and either the run's colour (one series per run) or the agent's colour with the
    run's dash."""
    multi = len(runs) > 1
    one_per_run = multi and all(sum(s.run_id == r for s in series) <= 1 for r in runs)
    out = {}
    for s in series:
        k = runs.index(s.run_id) if s.run_id in runs else 0
        if not multi:
            name, color, dash = s.agent.label, s.agent.color, "solid"
        elif one_per_run:
            name, color, dash = f"run {s.run_id} · {s.agent.label}", RUN_COLORS[k % len(RUN_COLORS)], "solid"
        else:
            name, color, dash = (
                f"run {s.run_id} · {s.agent.label}",
                s.agent.color,
                RUN_DASHES[k % len(RUN_DASHES)],
            )
        out[s.key] = {"name": name, "color": color, "dash": dash, "group": s.agent.role or "other"}
    return out


def stat_figure(
    stat: str,
    series: list[Series],
    *,
    x: str,
    smoothing: float,
    log: bool,
    runs: list[int],
    gl: bool,
) -> dict[str, Any]:
    """One stat, one trace per series (two with ``smoothing`` > 0: raw faint, then smoothed), coloured by
    :func:`series_style`; ``gl``: WebGL traces. Categorical series are step lines over their labels."""
    categorical = any(isinstance(s.y, list) for s in series)
    dated = any(s.dated for s in series)
    style = series_style(series, runs)
    kind = "scattergl" if gl else "scatter"
    n_max = max((len(s.x) for s in series), default=0)
    mode = "lines+markers" if n_max <= 60 else "lines"
    traces: list[dict[str, Any]] = []
    for s in series:
        st = style[s.key]
        common = {
            "type": kind,
            "x": _clean(s.x),
            "name": st["name"],
            "legendgroup": s.key,
            "meta": s.agent.role or "other",
            "hovertemplate": "<b>%{fullData.name}</b><br>%{x}<br>%{y:.4~g}<extra>%{meta}</extra>",
        }
        if categorical:
            traces.append(
                {
                    **common,
                    "y": list(s.y),
                    "mode": "lines+markers",
                    "line": {"color": st["color"], "shape": "hv", "width": 1.5, "dash": st["dash"]},
                    "marker": {"size": 6},
                    "hovertemplate": "<b>%{fullData.name}</b><br>%{x}<br>%{y}<extra>%{meta}</extra>",
                }
            )
            continue
        line = {"color": st["color"], "width": 1.8, "dash": st["dash"]}
        if smoothing > 0:
            traces.append(
                {
                    **common,
                    "y": _clean(s.y),
                    "mode": "lines",
                    "line": {"color": _faint(st["color"]), "width": 1},
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "hovertemplate": None,
                }
            )
            traces.append(
                {
                    **common,
                    "y": _clean(s.smooth if s.smooth is not None else s.y),
                    "mode": "lines",
                    "line": line,
                }
            )
        else:
            traces.append({**common, "y": _clean(s.y), "mode": mode, "line": line, "marker": {"size": 5}})
    entries = len(series)
    legend_rows = 0 if entries < 2 else math.ceil(entries / 3)
    layout = base_layout(stat, 300 + 18 * legend_rows)
    layout["showlegend"] = entries >= 2
    layout["uirevision"] = f"{stat}|{x}|{log}|{','.join(map(str, runs))}"
    x_title = "date" if dated else X_TITLES[x]
    layout["xaxis"] = axis(x_title, type="date" if dated or x != "step" else "linear")
    y_title = stat.rsplit(".", 1)[-1].rsplit("/", 1)[-1]
    if categorical:
        layout["yaxis"] = axis(None, type="category")
    elif log:
        layout["yaxis"] = axis(y_title, **log_axis([np.asarray(s.y, dtype="float64") for s in series]))
    else:
        layout["yaxis"] = axis(y_title, exponentformat="power")
    return {"data": traces, "layout": layout}


#: names of a dated series' observed values, drawn first and solid (the rest are forecasts, dashed)
_TRUTH = ("truth", "actual", "observed", "y")


def forecast_figure(stat: str, forecast: Forecast, label: str) -> dict[str, Any]:
    """A dated series held by one point (a forecast and its truth): one line per name, dates on x; the
    observed values solid and light, the forecasts dashed in the palette's colours."""
    names = sorted(forecast.series, key=lambda n: (n.lower() not in _TRUTH, n))
    traces = []
    for k, name in enumerate(names):
        truth = name.lower() in _TRUTH
        ys = forecast.series[name]
        traces.append(
            {
                "type": "scatter",
                "x": forecast.x,
                "y": ys,
                "name": name,
                "mode": "lines+markers" if len(ys) <= 60 else "lines",
                "line": {
                    "color": "#E0E0E0" if truth else PALETTE[k % len(PALETTE)],
                    "width": 1.8 if truth else 1.5,
                    "dash": "solid" if truth else "dash",
                },
                "marker": {"size": 4},
            }
        )
    layout = base_layout(f"{stat} · {label}", 320)
    layout["showlegend"] = len(traces) >= 2
    layout["xaxis"] = axis("date", type="date")
    layout["yaxis"] = axis(stat.rsplit(".", 1)[-1])
    layout["uirevision"] = stat
    return {"data": traces, "layout": layout}
