"""The stat panels of a view, drawn whole, and then extended with the rows written since.

:func:`stat_panels` draws every stat the view shows (grouped, one figure per stat) and returns, beside the
figures, the *live state*: for each figure its index, its series keys in trace order and whether it is
smoothed, and for each series how many points it holds and where its moving average stands. The page keeps
that state (a ``dcc.Store``); every second :func:`extend` turns the new rows into ``extendData`` payloads
for the figures (only the new points travel) and the state after them. A row the figures cannot take (a
new stat, a new agent, a new dated series) asks for a full render instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .figures import GL_POINTS, MAX_GL, Series, forecast_figure, stat_figure
from .shaping import Agent, ema, stat_groups, x_values
from .source import View

__all__ = ["Spec", "extend", "filter_rows", "stat_panels"]


@dataclass(frozen=True)
class Spec:
    """What the page asks to see."""

    runs: list[int]
    agent: str | None = None  # an agent's name: its view; None: the run's panels
    x: str = "step"  # 'step', 'sim' or 'wall' (several runs: always 'step', they align on step)
    smoothing: float = 0.0  # EMA weight in [0, 1)
    log: bool = False
    query: str = ""

    @property
    def x_axis(self) -> str:
        return "step" if len(self.runs) > 1 else self.x


def _matches(query: str, *texts: str | None) -> bool:
    return any(query in (t or "").lower() for t in texts)


def filter_rows(
    agents: dict[int, dict[str, Agent]], stats: Iterable[str], spec: Spec, tidy: pd.DataFrame
) -> tuple[pd.DataFrame, str | None]:
    """The rows the spec shows, and a note when a search matched nothing: an agent's view shows that
    agent's stats (those matching the search, when some do); else a search matching stat names shows those
    stats, one matching agents (name, role, tendency) shows every stat of those agents."""
    q = spec.query.strip().lower()
    if spec.agent is not None:
        tidy = tidy[tidy["agent"] == spec.agent]
        if q:
            hit = tidy["stat"].str.lower().str.contains(q, regex=False)
            tidy = tidy[hit] if hit.any() else tidy
        return tidy, None
    if not q:
        return tidy, None
    stats = [s for s in set(stats) if q in s.lower()]
    if stats:
        return tidy[tidy["stat"].isin(stats)], None
    names = {
        a.name
        for table in agents.values()
        for a in table.values()
        if _matches(q, a.name, a.role, a.tendency, a.peer_id)
    }
    if names:
        return tidy[tidy["agent"].isin(names)], None
    return tidy.iloc[:0], f"no stat or agent matches “{spec.query.strip()}”"


def _series(view: View, spec: Spec, rows: pd.DataFrame) -> list[Series]:
    out = []
    for (run_id, agent), part in rows.groupby(["run_id", "agent"], sort=False):
        labels = part["label"].notna().to_numpy()
        if labels.any():
            part = part[labels]
            y: Any = part["label"].astype(str).tolist()
        else:
            y = part["y"].to_numpy(dtype="float64")
        out.append(
            Series(
                key=f"{int(run_id)}|{agent}",
                run_id=int(run_id),
                agent=view.agent(int(run_id), str(agent)),
                x=x_values(part, spec.x_axis),
                y=y,
                dated=bool(part["date"].notna().any()),
            )
        )
    order = {r: k for k, r in enumerate(spec.runs)}
    out.sort(
        key=lambda s: (order.get(s.run_id, 99), s.agent.role != "world", s.agent.role, s.agent.name.lower())
    )
    return out


def stat_panels(
    view: View, spec: Spec
) -> tuple[list[tuple[str, list[dict[str, Any]]]], dict[str, Any], str | None]:
    """(groups: [(title, [panel])], live state, note). A panel is ``{"stat", "idx", "figure"}``, or
    ``{"stat", "figure"}`` for a dated series (drawn whole, never extended); ``idx`` is its graph's index
    in the page. A categorical stat that keeps one value per series (a tendency, a learner's kind) is no
    panel: the state remembers those values (``hidden``), so that writing one again changes nothing."""
    rows, note = filter_rows(view.agents, view.tidy["stat"].unique(), spec, view.tidy)
    by_stat = {stat: _series(view, spec, part) for stat, part in rows.groupby("stat", sort=True)}
    hidden = {
        stat: {s.key: s.y[0] for s in series}
        for stat, series in by_stat.items()
        if all(isinstance(s.y, list) and len(set(s.y)) == 1 for s in series)
    }
    by_stat = {stat: series for stat, series in by_stat.items() if stat not in hidden}
    forecasts = {}
    for fc in view.forecasts:  # the latest dated series of each (stat, run, agent)
        if spec.agent is None or fc.agent == spec.agent:
            forecasts[(fc.stat, fc.run_id, fc.agent)] = fc
    if spec.query.strip() and spec.agent is None:
        forecasts = {k: f for k, f in forecasts.items() if spec.query.strip().lower() in k[0].lower()}
    sizes = {stat: sum(len(s.x) for s in series) for stat, series in by_stat.items()}
    gl = set(sorted((s for s in sizes if sizes[s] > GL_POINTS), key=lambda s: -sizes[s])[:MAX_GL])
    roles = {a.name: a.role for table in view.agents.values() for a in table.values()}
    figs: dict[str, Any] = {}
    seq: dict[str, int] = {}
    smooth: dict[str, list[float]] = {}
    panels: dict[str, dict[str, Any]] = {}
    for idx, (stat, series) in enumerate(by_stat.items()):
        categorical = any(isinstance(s.y, list) for s in series)
        smoothed = spec.smoothing > 0 and not categorical
        for s in series:
            seq[f"{idx}|{s.key}"] = len(s.x)
            if smoothed:
                s.smooth, state = ema(np.asarray(s.y), spec.smoothing)
                smooth[f"{idx}|{s.key}"] = list(state)
        figure = stat_figure(
            stat, series, x=spec.x_axis, smoothing=spec.smoothing, log=spec.log, runs=spec.runs, gl=stat in gl
        )
        figs[stat] = {"idx": idx, "keys": [s.key for s in series], "smooth": smoothed, "cat": categorical}
        panels[stat] = {"stat": stat, "idx": idx, "figure": figure}
    for (stat, run_id, agent), fc in sorted(forecasts.items()):
        label = f"run {run_id} · {agent}" if len(spec.runs) > 1 else agent
        panels.setdefault(
            f"{stat}\x00{run_id}\x00{agent}", {"stat": stat, "figure": forecast_figure(stat, fc, label)}
        )
    groups = stat_groups(
        rows[rows["stat"].isin(list(by_stat))], roles, extra=[(k[0], k[2]) for k in forecasts]
    )
    out = []
    for title, stats in groups:
        chosen = [p for key, p in panels.items() if key.split("\x00")[0] in stats]
        chosen.sort(key=lambda p: (p["stat"], "idx" not in p))
        if chosen:
            out.append((title, chosen))
    live = {"figs": figs, "seq": seq, "ema": smooth, "hidden": hidden}
    return out, live, note


def extend(
    agents: dict[int, dict[str, Agent]], spec: Spec, rows: pd.DataFrame, live: dict[str, Any]
) -> tuple[dict[int, tuple], dict[str, Any], bool]:
    """``extendData`` payloads ({graph index: (data, trace indices)}) of the new ``rows`` (tidy) for the
    figures described by ``live``, the live state after them, and whether a full render is needed (a row
    for a stat or series the figures do not have)."""
    figs = live["figs"]
    rows, _ = filter_rows(agents, [*figs, *rows["stat"].unique()], spec, rows)
    figs, seq, smooth = live["figs"], dict(live["seq"]), dict(live["ema"])
    out: dict[int, dict[str, list]] = {}
    for (stat, run_id, agent), part in rows.groupby(["stat", "run_id", "agent"], sort=False):
        fig = figs.get(stat)
        key = f"{int(run_id)}|{agent}"
        known = live.get("hidden", {}).get(stat, {})
        if fig is None and key in known and set(part["label"].astype(str)) == {known[key]}:
            continue  # a constant (a tendency) written again
        if fig is None or key not in fig["keys"]:
            return {}, live, True
        categorical = part["label"].notna().any()
        if categorical != fig["cat"]:
            return {}, live, True
        handle = f"{fig['idx']}|{key}"
        xs = x_values(part, spec.x_axis, seq.get(handle, 0))
        seq[handle] = seq.get(handle, 0) + len(part)
        k = fig["keys"].index(key)
        payload = out.setdefault(fig["idx"], {"x": [], "y": [], "idx": []})
        x_list = [float(v) for v in xs]
        if categorical:
            ys: list = part["label"].astype(str).tolist()
        else:
            ys = [None if not np.isfinite(v) else float(v) for v in part["y"].to_numpy(dtype="float64")]
        if fig["smooth"]:
            state = tuple(smooth.get(handle, (0.0, 0)))
            smoothed, state = ema(part["y"].to_numpy(dtype="float64"), spec.smoothing, state)  # type: ignore[arg-type]
            smooth[handle] = list(state)
            payload["x"] += [x_list, x_list]
            payload["y"] += [ys, [None if not np.isfinite(v) else float(v) for v in smoothed]]
            payload["idx"] += [2 * k, 2 * k + 1]
        else:
            payload["x"].append(x_list)
            payload["y"].append(ys)
            payload["idx"].append(k)
    extensions = {idx: ({"x": p["x"], "y": p["y"]}, p["idx"]) for idx, p in out.items()}
    return extensions, {**live, "seq": seq, "ema": smooth}, False
