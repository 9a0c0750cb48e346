"""The page of the served dashboard: a sidebar (runs, world, agents, search) beside the panels.

Like the UNaIVERSE UI, TensorBoard or W&B: on the left the runs (tick several to overlay them), the picked
run's world and its agents (colour, role, current state, badges as icons with counts) and a search box;
on the right a toolbar (smoothing, x axis, log y, live status) over the panels: every stat of the run,
grouped, or, once an agent is picked, its state machine, its states over time, its badges and its stats.
The style sheet is inlined in the page (no file from anywhere else); below 860 px the sidebar goes on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dash import dcc, html

from ..theme import DashTheme
from .colors import badge_icon
from .shaping import Agent

__all__ = ["CSS", "INDEX", "agent_options", "badge_list", "layout", "run_options", "world_info"]

T = DashTheme()

CSS = f"""
:root {{
  --bg: {T.background}; --panel: {T.panel_background}; --border: {T.panel_border}; --text: {T.text};
  --muted: {T.muted}; --accent: #4D7FFF;
  --Dash-Fill-Interactive-Strong: #4D7FFF; --Dash-Fill-Interactive-Weak: #1B2232;
  --Dash-Fill-Inverse-Strong: {T.panel_background}; --Dash-Fill-Primary-Hover: #1B2232;
  --Dash-Fill-Primary-Active: #22304D; --Dash-Fill-Disabled: #1B1E27;
  --Dash-Text-Strong: {T.text}; --Dash-Text-Primary: {T.text}; --Dash-Text-Weak: {T.muted};
  --Dash-Text-Disabled: #5A6678; --Dash-Stroke-Strong: #3A4456; --Dash-Stroke-Weak: {T.panel_border};
  --Dash-Shading-Strong: rgba(0,0,0,.5); --Dash-Shading-Weak: rgba(0,0,0,.3);
  --Dash-Tooltip-Background-Color: #1B1E27; --Dash-Tooltip-Border-Color: {T.panel_border};
}}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; background: var(--bg); color: var(--text); font-family: {T.font_family};
  font-size: 13px; }}
.wm-app {{ display: flex; align-items: flex-start; min-height: 100vh; }}
.wm-side {{ flex: 0 0 300px; width: 300px; height: 100vh; position: sticky; top: 0; overflow-y: auto;
  background: var(--panel); border-right: 1px solid var(--border); padding: 14px 14px 28px; }}
.wm-main {{ flex: 1 1 auto; min-width: 0; padding: 12px 16px 40px; }}
.wm-brand {{ font-size: 16px; font-weight: 700; letter-spacing: .02em; }}
.wm-brand span {{ color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }}
.wm-side h3 {{ font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .09em;
  color: var(--muted); margin: 18px 0 6px; }}
.wm-list {{ display: flex; flex-direction: column; gap: 2px; }}
.wm-list label {{ display: flex; align-items: center; gap: 8px; padding: 5px 6px; border-radius: 6px;
  cursor: pointer; min-width: 0; }}
.wm-list label:hover {{ background: #1B2232; }}
.wm-list label:has(input:checked) {{ background: #1F2A44; }}
.wm-list input {{ accent-color: var(--accent); margin: 0; flex: none; }}
.wm-agents input[type=radio] {{ display: none; }}
.wm-run {{ display: flex; flex-direction: column; min-width: 0; }}
.wm-run b {{ font-weight: 600; }}
.wm-run small, .wm-kv {{ color: var(--muted); font-size: 11px; }}
.wm-pill {{ display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 10px; margin-left: 6px;
  border: 1px solid currentColor; }}
.wm-agent {{ display: grid; grid-template-columns: 10px 1fr auto; gap: 2px 8px; align-items: center;
  width: 100%; min-width: 0; }}
.wm-swatch {{ width: 10px; height: 10px; border-radius: 3px; }}
.wm-agent-name {{ font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
.wm-agent-sub {{ grid-column: 2 / 4; color: var(--muted); font-size: 11px; display: flex; gap: 6px;
  flex-wrap: wrap; min-width: 0; }}
.wm-state {{ color: var(--text); }}
.wm-badges {{ display: flex; gap: 4px; }}
.wm-badge {{ font-size: 11px; padding: 0 5px; border-radius: 8px; background: #1B1E27; white-space: nowrap; }}
.wm-search input {{ width: 100%; padding: 6px 8px; border-radius: 6px; border: 1px solid var(--border);
  background: var(--bg); color: var(--text); font-size: 13px; }}
.wm-toolbar {{ display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 8px 12px;
  background: var(--panel); border: 1px solid var(--border); border-radius: 8px; margin-bottom: 12px; }}
.wm-tool {{ display: flex; align-items: center; gap: 8px; min-width: 0; }}
.wm-tool > span {{ color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .08em; }}
.wm-tool .wm-slider {{ width: 190px; max-width: 60vw; }}
.wm-inline {{ display: flex; flex-wrap: wrap; gap: 4px 12px; }}
.wm-inline label {{ display: flex; align-items: center; gap: 4px; cursor: pointer; }}
.wm-status {{ margin-left: auto; color: var(--muted); font-size: 12px; }}
.wm-status b {{ color: #00D4AA; }}
.wm-sub, .wm-group h2 {{ font-size: 13px; font-weight: 600; margin: 16px 2px 8px; color: var(--text); }}
.wm-sub {{ font-size: 15px; margin-top: 22px; }}
.wm-group h2 span {{ color: var(--muted); font-weight: 400; margin-left: 6px; }}
.wm-grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(min(400px, 100%), 1fr)); gap: 12px; }}
.wm-panel {{ background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 4px;
  min-width: 0; overflow: hidden; }}
.wm-panel.wm-wide {{ grid-column: 1 / -1; }}
@media (min-width: 1300px) {{ .wm-panel.wm-span2 {{ grid-column: span 2; }} }}
.wm-note {{ color: var(--muted); padding: 24px; text-align: center; }}
.wm-head {{ display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; margin: 4px 2px 10px; }}
.wm-head h1 {{ font-size: 18px; margin: 0; }}
.wm-back {{ background: #1B2232; color: var(--text); border: 1px solid var(--border); border-radius: 6px;
  padding: 4px 10px; cursor: pointer; font-size: 12px; }}
.wm-badge-list {{ list-style: none; margin: 0; padding: 8px 10px; display: flex; flex-direction: column; gap: 8px; }}
.wm-badge-list li {{ display: grid; grid-template-columns: 22px 1fr; gap: 2px 8px; }}
.wm-badge-list .wm-icon {{ font-size: 16px; grid-row: 1 / 3; }}
.wm-badge-list p {{ margin: 0; color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }}
.wm-panel h4 {{ margin: 8px 10px 0; font-size: 13px; }}
@media (max-width: 860px) {{
  .wm-app {{ flex-direction: column; align-items: stretch; }}
  .wm-side {{ flex: none; width: auto; height: auto; max-height: none; position: static;
    border-right: none; border-bottom: 1px solid var(--border); }}
  .wm-main {{ padding: 10px 8px 32px; }}
  .wm-status {{ margin-left: 0; }}
}}
"""

#: Dash's page with the style sheet inlined (no external style sheet, no CDN)
INDEX = (
    "<!DOCTYPE html><html lang='en'><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}"
    f"<style>{CSS}</style></head><body>{{%app_entry%}}<footer>{{%config%}}{{%scripts%}}{{%renderer%}}"
    "</footer></body></html>"
)

_STATUS_COLORS = {"running": "#00D4AA", "finished": "#4D7FFF", "failed": "#FF3B30", "killed": "#FF6692"}


def _when(moment: Any) -> str:
    if moment is None or pd.isna(moment):
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_options(runs: Any) -> list[dict[str, Any]]:
    """Checklist options of the runs (a ``list_runs`` frame): id, world, status, start."""
    out = []
    for row in runs.itertuples():
        color = _STATUS_COLORS.get(row.status, T.muted)
        label = html.Span(
            [
                html.B(
                    [
                        f"#{row.id} {row.world}",
                        html.Span(row.status, className="wm-pill", style={"color": color}),
                    ]
                ),
                html.Small(f"{_when(row.started_at)} · seed {row.seed if row.seed is not None else '—'}"),
            ],
            className="wm-run",
        )
        out.append({"label": label, "value": int(row.id)})
    return out


def _badge_chips(kinds: Mapping[str, int]) -> list[Any]:
    chips = []
    for kind, n in sorted(kinds.items()):
        icon, color = badge_icon(kind)
        chips.append(
            html.Span(f"{icon}{n}", className="wm-badge", title=f"{n} × {kind}", style={"color": color})
        )
    return chips


def agent_options(
    roster: list[Agent], states: Mapping[str, str], badges: Mapping[str, Mapping[str, int]], query: str = ""
) -> list[dict[str, Any]]:
    """Radio options: 'all agents' (the run's panels), then each agent matching ``query`` (name, role,
    tendency, state), with its colour, role, current state and badge icons with counts."""
    q = query.strip().lower()
    out: list[dict[str, Any]] = [
        {"label": html.Span("◧ all agents · run panels", className="wm-agent-name"), "value": ""}
    ]
    for a in roster:
        state = states.get(a.name, "")
        if q and not any(q in (t or "").lower() for t in (a.name, a.role, a.tendency, state, a.peer_id)):
            continue
        sub = [html.Span(a.role or "no role")]
        if state:
            sub.append(html.Span(["● ", state], className="wm-state"))
        label = html.Span(
            [
                html.Span(className="wm-swatch", style={"background": a.color}),
                html.Span(a.label, className="wm-agent-name", title=a.peer_id or a.name),
                html.Span(_badge_chips(badges.get(a.name, {})), className="wm-badges"),
                html.Span(sub, className="wm-agent-sub"),
            ],
            className="wm-agent",
        )
        out.append({"label": label, "value": a.name})
    return out


def world_info(run: Any, roster: list[Agent], states: Mapping[str, str], n_runs: int) -> list[Any]:
    """The picked run's world: name, status, seed, times, agents per role, the world's own state."""
    if run is None:
        return [html.Div("no run yet: start a world, it appears here", className="wm-kv")]
    roles: dict[str, int] = {}
    for a in roster:
        roles[a.role or "no role"] = roles.get(a.role or "no role", 0) + 1
    ended = (
        "still running" if run.ended_at is None or pd.isna(run.ended_at) else f"ended {_when(run.ended_at)}"
    )
    world_state = next((states[a.name] for a in roster if a.role == "world" and a.name in states), None)
    rows = [
        html.Div(
            [
                html.B(f"{run.world} · run {run.id}"),
                html.Span(
                    run.status, className="wm-pill", style={"color": _STATUS_COLORS.get(run.status, T.muted)}
                ),
            ]
        ),
        html.Div(
            f"seed {run.seed if run.seed is not None else '—'} · {run.host} · {run.code_version}",
            className="wm-kv",
        ),
        html.Div(f"started {_when(run.started_at)} · {ended}", className="wm-kv"),
        html.Div(
            " · ".join(f"{n} {role}" for role, n in sorted(roles.items())) or "no agent yet",
            className="wm-kv",
        ),
    ]
    if world_state:
        rows.append(html.Div(["world state: ", html.B(world_state)], className="wm-kv"))
    if n_runs > 1:
        rows.append(html.Div(f"{n_runs} runs overlaid, aligned on step", className="wm-kv"))
    return rows


def badge_list(badges: Any) -> list[Any]:
    """An agent's badges (a ``badges`` frame), newest first: icon, kind, score and reason."""
    if badges is None or len(badges) == 0:
        return [html.P("no badge yet", className="wm-note")]
    items = []
    for row in badges.sort_values("id", ascending=False).itertuples():
        icon, color = badge_icon(row.kind)
        score = f" · score {row.score:.2f}" if row.score == row.score and row.score is not None else ""
        items.append(
            html.Li(
                [
                    html.Span(icon, className="wm-icon", style={"color": color}),
                    html.B(f"{row.kind}{score}"),
                    html.P(row.reason or "no reason given"),
                ]
            )
        )
    return [html.Ul(items, className="wm-badge-list")]


def _since(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")


def status_text(points: int, last_wall: float | None, running: bool) -> list[Any]:
    """The toolbar's live line: whether a picked run is running, how many points, when the last came."""
    head = html.B("● live") if running else html.Span("○ finished")
    tail = f" · {points:,} points" + (f" · last {_since(last_wall)}" if last_wall else "")
    return [head, tail]


def layout(run_ids: list[int], interval_ms: int = 1000) -> html.Div:
    """The page: sidebar, toolbar, panels, the ``dcc.Interval`` of the live update and its store."""
    side = html.Aside(
        [
            html.Div(["wmverse", html.Span("runs")], className="wm-brand"),
            html.H3("Runs"),
            dcc.Checklist(id="wm-runs", options=[], value=run_ids, className="wm-list wm-runs"),
            html.H3("World"),
            html.Div(id="wm-world"),
            html.H3("Agents"),
            dcc.Input(
                id="wm-search",
                type="search",
                placeholder="search agents and stats",
                debounce=0.3,
                className="wm-search",
                value="",
            ),
            dcc.RadioItems(id="wm-agent", options=[], value="", className="wm-list wm-agents"),
        ],
        className="wm-side",
    )
    toolbar = html.Div(
        [
            html.Div(
                [
                    html.Span("smoothing"),
                    html.Div(
                        dcc.Slider(
                            id="wm-smoothing",
                            min=0,
                            max=0.99,
                            step=0.01,
                            value=0.0,
                            marks={0: "off", 0.5: "0.5", 0.9: "0.9"},
                            updatemode="mouseup",
                            tooltip={"placement": "bottom"},
                        ),
                        className="wm-slider",
                    ),
                ],
                className="wm-tool",
            ),
            html.Div(
                [
                    html.Span("x"),
                    dcc.RadioItems(
                        id="wm-x",
                        value="step",
                        className="wm-inline",
                        options=[
                            {"label": "step / epoch", "value": "step"},
                            {"label": "simulated time", "value": "sim"},
                            {"label": "wall time", "value": "wall"},
                        ],
                    ),
                ],
                className="wm-tool",
            ),
            html.Div(
                [
                    html.Span("y"),
                    dcc.Checklist(
                        id="wm-log",
                        options=[{"label": "log", "value": "log"}],
                        value=[],
                        className="wm-inline",
                    ),
                ],
                className="wm-tool",
            ),
            html.Div(id="wm-status", className="wm-status"),
        ],
        className="wm-toolbar",
    )
    main = html.Main(
        [toolbar, html.Div(id="wm-content", children=html.Div("loading…", className="wm-note"))],
        className="wm-main",
    )
    return html.Div(
        [side, main, dcc.Interval(id="wm-tick", interval=interval_ms), dcc.Store(id="wm-live")],
        className="wm-app",
    )
