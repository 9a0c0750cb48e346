"""The page's callbacks: one that draws and keeps the page live, one for the agent view's back button.

``update`` answers every control (runs, agent, x, smoothing, log, search) with a full render of the main
area and the sidebar, and every tick of the ``dcc.Interval`` with only what changed: ``extendData`` for the
figures (the points written since the last id the page saw, read with ``since_id``), the agent's state
machine and timeline when it moved, its badges when new ones came, the sidebar when states or badges
changed. Graph ids carry the number of the render that drew them (``gen``), so a tick's answer computed for
the figures of an earlier render finds none of them, and a tick that finds figures of another render than
its state describes draws the page again. What the page saw
(ids, series, moving averages) lives in the page's ``dcc.Store`` (``wm-live``), so the server keeps no
state per page.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from dash import ALL, Input, Output, State, ctx, no_update

from .content import agent_view, overview
from .live import Spec, extend, stat_panels
from .machine import state_graph_figure
from .page import agent_options, badge_list, run_options, status_text, world_info
from .shaping import badge_counts, current_states, state_graph, state_timeline
from .source import Source, View, roster

__all__ = ["register"]

OUTPUTS = {
    "content": Output("wm-content", "children"),
    "stat_ext": Output({"type": "wm-stat", "idx": ALL, "gen": ALL}, "extendData"),
    "tl_ext": Output({"type": "wm-timeline", "idx": ALL, "gen": ALL}, "extendData"),
    "graph": Output({"type": "wm-graph", "idx": ALL, "gen": ALL}, "figure"),
    "badges": Output({"type": "wm-badges", "idx": ALL, "gen": ALL}, "children"),
    "live": Output("wm-live", "data"),
    "agents": Output("wm-agent", "options"),
    "world": Output("wm-world", "children"),
    "run_options": Output("wm-runs", "options"),
    "run_value": Output("wm-runs", "value"),
    "status": Output("wm-status", "children"),
}
_MATCHED = ("stat_ext", "tl_ext", "graph", "badges")


def _blank() -> dict[str, Any]:
    out: dict[str, Any] = {k: no_update for k in OUTPUTS}
    for key in _MATCHED:
        out[key] = [no_update] * len(ctx.outputs_grouping.get(key, []) or [])
    return out


def _names(states: dict[str, str], table: dict) -> dict[str, str]:
    """Agent ids -> names (a state or a count keyed by peer id is keyed by the node's name)."""
    return {(table[a].name if a in table else a): v for a, v in states.items()}


def _agent_rows(frame: Any, agent_name: str, table: dict) -> Any:
    ids = {a for a, ag in table.items() if ag.name == agent_name} | {agent_name}
    return frame[frame["agent"].astype(str).isin(ids)]


def _runs_signature(runs: Any) -> str:
    return json.dumps([[int(r.id), r.status] for r in runs.itertuples()])


def _sidebar(
    out: dict[str, Any], view_agents: dict, run: Any, spec: Spec, states: dict, badges: dict
) -> None:
    agents = roster(view_agents.get(spec.runs[0], {}))
    out["agents"] = agent_options(agents, states, badges, spec.query)
    out["world"] = world_info(run, agents, states, len(spec.runs))


def _full(source: Source, spec: Spec, runs: Any, out: dict[str, Any]) -> dict[str, Any]:
    key = _spec_key(spec)  # as asked: a tick compares the controls, not what could be shown
    view: View = source.load(spec.runs)
    primary = spec.runs[0]
    table = view.agents.get(primary, {})
    first = view.transitions[view.transitions["run_id"] == primary]
    states = _names(current_states(first), table)
    badges_here = view.badges[view.badges["run_id"] == primary]
    counts = _names(badge_counts(badges_here), table)
    names = {a.name for a in table.values()}
    agent = spec.agent if spec.agent in names else None
    spec = Spec(spec.runs, agent, spec.x, spec.smoothing, spec.log, spec.query)
    groups, live, note = stat_panels(view, spec)
    machine: dict[str, Any] = {}
    gen = time.monotonic_ns() % 1_000_000_007
    if agent is None:
        out["content"] = overview(groups, note, gen)
    else:
        mine = _agent_rows(first, agent, table)
        badges = _agent_rows(badges_here, agent, table)
        out["content"], machine = agent_view(
            table[next(k for k in table if table[k].name == agent)],
            mine,
            badges,
            badge_list(badges),
            groups,
            note,
            gen,
        )
    run_row = next((r for r in runs.itertuples() if int(r.id) == primary), None)
    _sidebar(out, view.agents, run_row, spec, states, counts)
    walls = view.tidy["wall_time"]
    out["status"] = status_text(
        len(view.tidy), float(walls.max()) if len(walls) else None, _running(runs, spec)
    )
    out["live"] = {
        **live,
        "spec": key,
        "gen": gen,
        "last_point": view.last_point,
        "last_transition": view.last_transition,
        "badges": len(view.badges),
        "nodes": view.nodes,
        "runs_sig": _runs_signature(runs),
        "states": states,
        "counts": counts,
        "machine": machine,
        "points": len(view.tidy),
    }
    return out


def _running(runs: Any, spec: Spec) -> bool:
    return any(r.status == "running" for r in runs.itertuples() if int(r.id) in spec.runs)


def _spec_key(spec: Spec) -> str:
    return json.dumps([spec.runs, spec.agent, spec.x, spec.smoothing, spec.log, spec.query])


def _tick(
    source: Source, spec: Spec, runs: Any, live: dict[str, Any], out: dict[str, Any]
) -> dict[str, Any] | None:
    """The answer to a tick, or None when only a full render can show what came."""
    drawn = {o["id"]["gen"] for key in _MATCHED for o in ctx.outputs_grouping.get(key) or []}
    if drawn - {live.get("gen")}:
        return None  # the figures on the page are not the ones this state describes
    delta = source.since(spec.runs, live["last_point"], live["last_transition"], live["badges"])
    if delta.nodes != live["nodes"] or delta.unknown or delta.forecasts:
        return None
    primary = spec.runs[0]
    table = delta.agents.get(primary, {})
    if spec.agent is not None and spec.agent not in {a.name for a in table.values()}:
        spec = replace(spec, agent=None)  # as the render did: an agent of another run shows the run's panels
    extensions, new_live, full = extend(delta.agents, spec, delta.tidy, live)
    if full:
        return None
    moved = delta.transitions[delta.transitions["run_id"] == primary]
    states = {**live["states"], **_names(current_states(moved), table)}
    counts = live["counts"]
    if delta.badges is not None:
        counts = _names(badge_counts(delta.badges[delta.badges["run_id"] == primary]), table)
    if spec.agent is not None:
        mine = _agent_rows(moved, spec.agent, table)
        if len(mine):
            everything = _agent_rows(source.store.transitions(primary), spec.agent, table)
            graph = state_graph(everything)
            if list(graph.states) != live["machine"].get("states"):
                return None  # a new state: the timeline's categories change too
            color = table[next(k for k in table if table[k].name == spec.agent)].color
            out["graph"] = [state_graph_figure(graph, color)] * len(out["graph"])
            tl = state_timeline(mine)
            out["tl_ext"] = [[{"x": [tl["x"]], "y": [tl["y"]], "customdata": [tl["action"]]}, [0]]] * len(
                out["tl_ext"]
            )
        if delta.badges is not None:
            badges = _agent_rows(delta.badges[delta.badges["run_id"] == primary], spec.agent, table)
            out["badges"] = [badge_list(badges)] * len(out["badges"])
    out["stat_ext"] = [
        list(extensions[o["id"]["idx"]]) if o["id"]["idx"] in extensions else no_update
        for o in ctx.outputs_grouping["stat_ext"]
    ]
    if len(moved) or delta.badges is not None:
        run_row = next((r for r in runs.itertuples() if int(r.id) == primary), None)
        _sidebar(out, delta.agents, run_row, spec, states, counts)
    points = live["points"] + len(delta.tidy)
    if len(delta.tidy) or _runs_signature(runs) != live["runs_sig"]:
        walls = delta.tidy["wall_time"]
        out["status"] = status_text(points, float(walls.max()) if len(walls) else None, _running(runs, spec))
    changed = (
        delta.last_point != live["last_point"]
        or delta.last_transition != live["last_transition"]
        or delta.badges is not None
        or _runs_signature(runs) != live["runs_sig"]
    )
    if changed:
        out["live"] = {
            **new_live,
            "last_point": delta.last_point,
            "last_transition": delta.last_transition,
            "badges": live["badges"] if delta.badges is None else len(delta.badges),
            "runs_sig": _runs_signature(runs),
            "states": states,
            "counts": counts,
            "points": points,
        }
    return out


def register(app: Any, source: Source) -> None:
    """Attach the page's callbacks to ``app`` (whose layout is :func:`.page.layout`)."""

    @app.callback(
        output=OUTPUTS,
        inputs={
            "tick": Input("wm-tick", "n_intervals"),
            "runs": Input("wm-runs", "value"),
            "agent": Input("wm-agent", "value"),
            "x": Input("wm-x", "value"),
            "smoothing": Input("wm-smoothing", "value"),
            "log": Input("wm-log", "value"),
            "query": Input("wm-search", "value"),
        },
        state={"live": State("wm-live", "data")},
    )
    def update(tick, runs, agent, x, smoothing, log, query, live):
        out = _blank()
        table = source.runs()
        known = [int(r) for r in table["id"]]
        if live is None or _runs_signature(table) != live.get("runs_sig"):
            out["run_options"] = run_options(table)
        chosen = [int(r) for r in (runs or []) if int(r) in known]
        if not chosen and known and not runs:
            chosen = [known[0]]  # the newest run, until the user picks
            out["run_value"] = chosen
        if not chosen:
            out["content"] = overview([], "no run picked" if known else None)
            out["world"] = world_info(None, [], {}, 0)
            out["agents"] = agent_options([], {}, {})
            out["live"] = {"runs_sig": _runs_signature(table)}
            return out
        spec = Spec(chosen, agent or None, x or "step", float(smoothing or 0.0), bool(log), query or "")
        if ctx.triggered_id == "wm-tick" and live and live.get("spec") == _spec_key(spec):
            answer = _tick(source, spec, table, live, out)
            if answer is not None:
                return answer
            out = _blank()
            out["run_options"] = run_options(table)
        return _full(source, spec, table, out)

    @app.callback(Output("wm-agent", "value"), Input("wm-back", "n_clicks"), prevent_initial_call=True)
    def back(n_clicks):
        return "" if n_clicks else no_update
