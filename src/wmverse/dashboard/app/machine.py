"""An agent's state machine and its states over time, as plotly figures (plain dicts).

The machine is drawn from the transitions the run store recorded, not from a behaviour file: states on a
circle in order of first appearance, one arrow per (from, to) pair seen, labelled with its actions, the
current state filled with the agent's colour.
"""

from __future__ import annotations

import math
from typing import Any

from .figures import THEME, axis, base_layout
from .shaping import StateGraph

__all__ = ["state_graph_figure", "timeline_figure"]


def _circle(n: int) -> list[tuple[float, float]]:
    if n == 1:
        return [(0.0, 0.0)]
    return [(math.sin(2 * math.pi * k / n), math.cos(2 * math.pi * k / n)) for k in range(n)]


def _label_position(x: float, y: float) -> str:
    if y > 0.5:
        return "top center"
    if y < -0.5:
        return "bottom center"
    return "middle right" if x >= 0 else "middle left"


def state_graph_figure(graph: StateGraph, color: str, title: str = "state machine") -> dict[str, Any]:
    """The states on a circle in order of first appearance, one arrow per (from, to) pair seen (its
    actions as label and hover), the current state filled with the agent's colour and ringed."""
    pos = dict(zip(graph.states, _circle(len(graph.states)), strict=True))
    pairs: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for src, dst, action, times in graph.edges:
        pairs.setdefault((src, dst), []).append((action, times))
    notes: list[dict[str, Any]] = []
    labels = len(pairs) <= 16
    for (src, dst), acts in pairs.items():
        text = " / ".join(a for a, _ in acts if a)
        hover = f"{src} → {dst}<br>" + "<br>".join(f"{a or '(no action)'} ×{n}" for a, n in acts)
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        if src == dst:
            notes.append(
                {
                    "x": x0,
                    "y": y0,
                    "text": f"↻ {text}",
                    "showarrow": False,
                    "yshift": -22,
                    "hovertext": hover,
                    "font": {"size": 9, "color": THEME.muted},
                }
            )
            continue
        if (dst, src) in pairs:  # two-way: each arrow shifted to its own left
            dx, dy = x1 - x0, y1 - y0
            norm = math.hypot(dx, dy) or 1.0
            ox, oy = -dy / norm * 0.05, dx / norm * 0.05
            x0, y0, x1, y1 = x0 + ox, y0 + oy, x1 + ox, y1 + oy
        notes.append(
            {
                "x": x1,
                "y": y1,
                "ax": x0,
                "ay": y0,
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "text": "",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1.1,
                "arrowwidth": 1.3,
                "arrowcolor": "#5A6678",
                "standoff": 12,
                "startstandoff": 12,
                "hovertext": hover,
            }
        )
        if labels and text:
            notes.append(
                {
                    "x": (x0 + x1) / 2,
                    "y": (y0 + y1) / 2,
                    "text": text,
                    "showarrow": False,
                    "hovertext": hover,
                    "font": {"size": 9, "color": THEME.muted},
                    "bgcolor": THEME.panel_background,
                    "opacity": 0.9,
                }
            )
    xs = [pos[s][0] for s in graph.states]
    ys = [pos[s][1] for s in graph.states]
    current = [s == graph.current for s in graph.states]
    node = {
        "type": "scatter",
        "x": xs,
        "y": ys,
        "mode": "markers+text",
        "text": [f"<b>{s}</b>" if c else s for s, c in zip(graph.states, current, strict=True)],
        "textposition": [_label_position(x, y) for x, y in zip(xs, ys, strict=True)],
        "textfont": {"size": 11, "color": [THEME.text if c else THEME.muted for c in current]},
        "marker": {
            "size": [20 if c else 13 for c in current],
            "color": [color if c else "#1B1E27" for c in current],
            "line": {
                "color": ["#FFFFFF" if c else "#5A6678" for c in current],
                "width": [3 if c else 1.5 for c in current],
            },
        },
        "customdata": [graph.visits.get(s, 0) for s in graph.states],
        "hovertemplate": "<b>%{text}</b><br>entered %{customdata} times<extra></extra>",
        "cliponaxis": False,
        "showlegend": False,
    }
    layout = base_layout(f"{title} · now: {graph.current or '—'}", 400)
    hidden = {"visible": False, "fixedrange": True}
    layout.update(
        xaxis={**hidden, "range": [-1.7, 1.7]},
        yaxis={**hidden, "range": [-1.35, 1.3]},
        annotations=notes,
        showlegend=False,
        margin={"l": 8, "r": 8, "t": 34, "b": 8},
    )
    return {"data": [node], "layout": layout}


def timeline_figure(timeline: dict[str, list], states: tuple[str, ...], color: str) -> dict[str, Any]:
    """The states an agent entered over simulated time, as a step line over the states (in the order of
    the state machine)."""
    trace = {
        "type": "scatter",
        "x": timeline["x"],
        "y": timeline["y"],
        "customdata": timeline["action"],
        "mode": "lines+markers",
        "line": {"color": color, "shape": "hv", "width": 1.6},
        "marker": {"size": 5, "color": color},
        "hovertemplate": "%{x}<br><b>%{y}</b><br>by %{customdata}<extra></extra>",
        "showlegend": False,
    }
    layout = base_layout("states over time", max(240, 120 + 22 * len(states)))
    layout["xaxis"] = axis("simulated time", type="date")
    layout["yaxis"] = axis(None, type="category", categoryorder="array", categoryarray=list(states)[::-1])
    layout["uirevision"] = "timeline"
    return {"data": [trace], "layout": layout}
