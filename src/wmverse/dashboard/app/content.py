"""The main area's two views: the run's panels (every stat, grouped) and one agent (machine, timeline,
badges, stats). Graph ids are pattern-matching ids (``{"type": "wm-stat", "idx": i, "gen": g}``) so that
the live update can extend every figure of the page in one answer; ``gen`` numbers the render, so that an
answer meant for the figures of an earlier render finds no figure to land on."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from .machine import state_graph_figure, timeline_figure
from .shaping import Agent, state_graph, state_timeline

__all__ = ["GRAPH_CONFIG", "agent_view", "overview"]

#: plotly's mode bar trimmed to what a dashboard needs; no link to plotly's site
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
}


def _graph(gid: dict[str, Any], figure: dict[str, Any]) -> dcc.Graph:
    return dcc.Graph(
        id=gid, figure=figure, config=GRAPH_CONFIG, style={"height": f"{figure['layout']['height']}px"}
    )


def _panel(panel: dict[str, Any], k: int, gen: int) -> html.Div:
    if "idx" in panel:
        gid = {"type": "wm-stat", "idx": panel["idx"], "gen": gen}
    else:
        gid = {"type": "wm-forecast", "idx": k, "gen": gen}
    return html.Div(_graph(gid, panel["figure"]), className="wm-panel", **{"data-stat": panel["stat"]})


def stat_sections(
    groups: list[tuple[str, list[dict[str, Any]]]], note: str | None, gen: int = 0
) -> list[Any]:
    """One titled grid per group of stat panels (``live.stat_panels``)."""
    if note:
        return [html.Div(note, className="wm-note")]
    if not groups:
        return [html.Div("no stat recorded yet: panels appear as the world writes them", className="wm-note")]
    out, k = [], 0
    for title, panels in groups:
        cards = []
        for panel in panels:
            cards.append(_panel(panel, k, gen))
            k += 1
        out.append(
            html.Section(
                [
                    html.H2([title, html.Span(f"{len(panels)} panel{'s' if len(panels) != 1 else ''}")]),
                    html.Div(cards, className="wm-grid"),
                ],
                className="wm-group",
            )
        )
    return out


def overview(groups: list[tuple[str, list[dict[str, Any]]]], note: str | None, gen: int = 0) -> list[Any]:
    """The run's panels."""
    return stat_sections(groups, note, gen)


def agent_view(
    agent: Agent,
    transitions: pd.DataFrame,
    badges: pd.DataFrame,
    badge_items: list[Any],
    groups: list[tuple[str, list[dict[str, Any]]]],
    note: str | None,
    gen: int = 0,
) -> tuple[list[Any], dict[str, Any]]:
    """One agent: a header, its state machine beside its badges, its states over time, its stats; and
    what the live update needs to know of the machine (states and transitions drawn)."""
    graph = state_graph(transitions)
    head = html.Div(
        [
            html.Button("← all agents", id="wm-back", className="wm-back", n_clicks=0),
            html.Span(className="wm-swatch", style={"background": agent.color, "display": "inline-block"}),
            html.H1(agent.label),
            html.Span(agent.role or "no role", className="wm-kv"),
            html.Span(["state: ", html.B(graph.current or "—", id="wm-agent-state")], className="wm-kv"),
            html.Span(f"{len(badges)} badge{'s' if len(badges) != 1 else ''}", className="wm-kv"),
            html.Span(agent.peer_id or "", className="wm-kv"),
        ],
        className="wm-head",
    )
    if graph.states:
        machine = _graph({"type": "wm-graph", "idx": 0, "gen": gen}, state_graph_figure(graph, agent.color))
        timeline = _graph(
            {"type": "wm-timeline", "idx": 0, "gen": gen},
            timeline_figure(state_timeline(transitions), graph.states, agent.color),
        )
    else:
        machine = html.Div("no transition recorded for this agent", className="wm-note")
        timeline = None
    cards = [
        html.Div(machine, className="wm-panel wm-span2"),
        html.Div(
            [html.H4("badges"), html.Div(badge_items, id={"type": "wm-badges", "idx": 0, "gen": gen})],
            className="wm-panel",
        ),
    ]
    if timeline is not None:
        cards.append(html.Div(timeline, className="wm-panel wm-wide"))
    body = [head, html.Div(cards, className="wm-grid"), html.H2(f"stats of {agent.name}", className="wm-sub")]
    body += stat_sections(groups, note, gen)
    return body, {"states": list(graph.states), "edges": len(graph.edges)}
