"""Frames of the run store -> what the dashboard draws: agents, tidy series, x values, EMA, state graphs.

Pure functions on the pandas frames of :class:`wmverse.store.RunStore` (no Dash, no database). The stat
points' ``agent`` is a peer id or a node name; :func:`agent_tables` maps both to the node (name, role,
tendency, colour). :func:`tidy_points` turns points into one row per drawable value:

- a number is a point of its stat (``y``); beside it, a ``value_json`` detail holding a date or a quarter
  (``{"date": "2001-03-31"}``, ``{"quarter": "2001Q1"}``) puts that date on the x axis (``date``);
- a JSON string is a category (``label``: a winner, a phase), drawn as a step line over categories;
- a JSON object with a list of dates or quarters and number lists of the same length is a dated series
  (a forecast): a :class:`Forecast`, drawn as a whole, dates on x;
- any other JSON object gives its numeric leaves as stats of their own (``learner_step.metrics.loss``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .colors import role_colors, role_name, tendency_of
from .values import as_number, date_of, forecast_of, metrics, parse_date

__all__ = [
    "TIDY_COLUMNS",
    "Agent",
    "Forecast",
    "StateGraph",
    "agent_tables",
    "badge_counts",
    "current_states",
    "ema",
    "parse_date",  # from .values, where it lives
    "stat_groups",
    "state_graph",
    "state_timeline",
    "stated_tendencies",
    "tidy_points",
    "x_values",
]

TIDY_COLUMNS = ["id", "run_id", "agent", "stat", "step", "sim_time", "wall_time", "y", "label", "date"]


@dataclass(frozen=True)
class Agent:
    """A node of a run as the dashboard shows it."""

    name: str  # the node's name (the raw agent id when it is no node)
    role: str  # 'world', a role, or '' when unknown
    tendency: str | None  # the tendency it argues for (tendency role only)
    color: str
    peer_id: str | None = None

    @property
    def label(self) -> str:
        """Name, and tendency when the name does not say it."""
        if self.tendency and self.tendency != self.name.lower():
            return f"{self.name} ({self.tendency})"
        return self.name


@dataclass(frozen=True)
class Forecast:
    """A dated series held in one point's ``value_json``: x in ms since the epoch, one list per name."""

    id: int
    run_id: int
    agent: str
    stat: str
    x: list[float]
    series: dict[str, list[float | None]]


@dataclass(frozen=True)
class StateGraph:
    """An agent's state machine as its transitions show it."""

    states: tuple[str, ...]  # in order of first appearance
    edges: tuple[tuple[str, str, str, int], ...]  # (from, to, action, times taken), first seen first
    current: str | None  # where the last transition led
    visits: dict[str, int]  # times each state was entered


def stated_tendencies(points: pd.DataFrame) -> dict[tuple[int, str], str]:
    """(run id, agent) -> the tendency it stated (its ``tendency`` stat, a JSON string)."""
    out: dict[tuple[int, str], str] = {}
    rows = points[(points["stat"] == "tendency") & points["value_json"].notna()] if len(points) else points
    for run_id, agent, text in zip(rows["run_id"], rows["agent"], rows["value_json"], strict=True):
        try:
            said = json.loads(text)
        except ValueError:
            continue
        if isinstance(said, str) and said:
            out[(int(run_id), str(agent))] = said.lower()
    return out


def agent_tables(
    nodes: pd.DataFrame,
    stated: Mapping[tuple[int, str], str] | None = None,
    seen: Iterable[tuple[int, str]] = (),
) -> dict[int, dict[str, Agent]]:
    """run id -> {agent id as the series name it (node name or peer id) -> Agent}.

    ``nodes``: the runs' nodes (run_id, name, role, peer_id); ``stated``: :func:`stated_tendencies`;
    ``seen``: (run id, agent id) of series, so that ids which are no node (the world's own series written
    as ``world``) get an Agent too. Colours (:func:`~.colors.role_colors`) are computed over every run
    at once, so one name has one colour in all of them."""
    stated = stated or {}
    raw: dict[int, dict[str, tuple[str, str, str | None]]] = {}
    for run_id, name, role, peer in zip(
        nodes["run_id"], nodes["name"], nodes["role"], nodes["peer_id"], strict=True
    ):
        peer = peer if isinstance(peer, str) and peer else None
        entry = (str(name), role_name(role), peer)
        table = raw.setdefault(int(run_id), {})
        table[str(name)] = entry
        if peer:
            table[peer] = entry
    for run_id, agent in seen:
        table = raw.setdefault(int(run_id), {})
        if agent not in table:
            table[agent] = (agent, "world" if agent == "world" else "", None)
    said: dict[str, str] = {}
    for (run_id, agent), tendency in stated.items():
        entry = raw.get(run_id, {}).get(agent)
        if entry is not None:
            said[entry[0]] = tendency
    triples = {(n, r, tendency_of(n, r, said)) for table in raw.values() for n, r, _ in table.values()}
    colors = role_colors(triples)
    tendency = {n: t for n, _, t in triples}
    return {
        run_id: {key: Agent(n, r, tendency[n], colors[n], p) for key, (n, r, p) in table.items()}
        for run_id, table in raw.items()
    }


def tidy_points(
    points: pd.DataFrame, agents: Mapping[int, Mapping[str, Agent]]
) -> tuple[pd.DataFrame, list[Forecast]]:
    """One row per drawable value (``TIDY_COLUMNS``; ``agent`` is the node's name), in id order, and the
    dated series (see the module docstring). Rows with neither a number nor a category are dropped."""
    if points.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TIDY_COLUMNS}), []
    frame = points.sort_values("id", kind="stable")
    names = [
        agents.get(int(r), {}).get(a).name if a in agents.get(int(r), {}) else a
        for r, a in zip(frame["run_id"], frame["agent"], strict=True)
    ]
    base = pd.DataFrame(
        {
            "id": frame["id"].astype("int64").to_numpy(),
            "run_id": frame["run_id"].astype("int64").to_numpy(),
            "agent": names,
            "stat": frame["stat"].to_numpy(),
            "step": frame["step"].astype("float64").to_numpy(),
            "sim_time": frame["sim_time"].to_numpy(dtype="float64"),
            "wall_time": frame["wall_time"].to_numpy(dtype="float64"),
            "y": frame["value"].to_numpy(dtype="float64"),
            "label": None,
            "date": np.nan,
        }
    )
    has_json = frame["value_json"].notna().to_numpy()
    keep = ~has_json & np.isfinite(base["y"].to_numpy())
    extra: list[dict] = []
    forecasts: list[Forecast] = []
    for i in np.flatnonzero(has_json):
        row = base.iloc[i]
        try:
            obj = json.loads(frame["value_json"].iloc[i])
        except ValueError:
            continue
        if math.isfinite(row["y"]):  # a number with a detail
            extra.append({**row.to_dict(), "date": date_of(obj) or np.nan})
        elif isinstance(obj, str):
            extra.append({**row.to_dict(), "label": obj})
        elif (number := as_number(obj)) is not None:
            extra.append({**row.to_dict(), "y": number})
        elif isinstance(obj, dict):
            found = forecast_of(obj)
            date, number = date_of(obj), as_number(obj.get("value"))
            if found is not None:
                dates, series = found
                forecasts.append(
                    Forecast(int(row["id"]), int(row["run_id"]), row["agent"], row["stat"], dates, series)
                )
            elif date is not None and number is not None:
                extra.append({**row.to_dict(), "y": number, "date": date})
            else:
                for stat, number in metrics(obj, row["stat"]):
                    extra.append({**row.to_dict(), "stat": stat, "y": number})
    tidy = base[keep]
    if extra:
        tidy = pd.concat([tidy, pd.DataFrame(extra, columns=TIDY_COLUMNS)], ignore_index=True)
        tidy = tidy.sort_values("id", kind="stable")
    return tidy.reset_index(drop=True), forecasts


def x_values(rows: pd.DataFrame, x: str, seq_start: int = 0) -> np.ndarray:
    """x of one series' rows (in order): ``x`` 'step' (a row without a step gets its place in the series,
    counting from ``seq_start`` + 1), 'sim' (simulated time, ms; wall time where missing) or 'wall' (ms);
    a row dated by its detail (``date``) is drawn at that date whatever ``x``."""
    n = len(rows)
    if x == "step":
        step = rows["step"].to_numpy(dtype="float64")
        out = np.where(np.isnan(step), np.arange(seq_start + 1, seq_start + n + 1, dtype="float64"), step)
    elif x == "sim":
        sim = rows["sim_time"].to_numpy(dtype="float64")
        out = np.where(np.isnan(sim), rows["wall_time"].to_numpy(dtype="float64"), sim) * 1000.0
    elif x == "wall":
        out = rows["wall_time"].to_numpy(dtype="float64") * 1000.0
    else:
        raise ValueError(f"x is 'step', 'sim' or 'wall', not {x!r}")
    date = rows["date"].to_numpy(dtype="float64")
    return np.where(np.isnan(date), out, date)


def ema(
    values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)
) -> tuple[np.ndarray, tuple[float, int]]:
    """TensorBoard's smoothing: an exponential moving average with ``weight`` in [0, 1) on the previous
    value, debiased so that the first points are not pulled towards 0. ``state`` (last average, count)
    continues an earlier call on the same series (the live dashboard extends it); non-finite values stay
    NaN and leave the state alone. Returns the smoothed values and the new state."""
    values = np.asarray(values, dtype="float64")
    if weight <= 0.0:
        return values.copy(), state
    last, n = state
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if math.isfinite(v):
            last = last * weight + (1.0 - weight) * v
            n += 1
            out[i] = last / (1.0 - weight**n)
    return out, (float(last), int(n))


def state_graph(transitions: pd.DataFrame) -> StateGraph:
    """The state machine of one agent's transitions (in the order written): states, (from, to, action)
    edges with their counts, the current state and the visits of each state."""
    states: dict[str, None] = {}
    edges: dict[tuple[str, str, str], int] = {}
    visits: dict[str, int] = {}
    current = None
    for src, dst, action in zip(
        transitions["from_state"], transitions["to_state"], transitions["action"], strict=True
    ):
        src = src if isinstance(src, str) else None
        if src is not None:
            states.setdefault(src)
            key = (src, str(dst), action if isinstance(action, str) else "")
            edges[key] = edges.get(key, 0) + 1
        states.setdefault(str(dst))
        visits[str(dst)] = visits.get(str(dst), 0) + 1
        current = str(dst)
    return StateGraph(tuple(states), tuple((a, b, c, n) for (a, b, c), n in edges.items()), current, visits)


def state_timeline(transitions: pd.DataFrame) -> dict[str, list]:
    """One agent's states over time: ``x`` (simulated time in ms, wall time where missing), ``y`` (the
    state entered), ``action`` (what took it there)."""
    sim = transitions["sim_time"].to_numpy(dtype="float64")
    wall = transitions["wall_time"].to_numpy(dtype="float64")
    return {
        "x": (np.where(np.isnan(sim), wall, sim) * 1000.0).tolist(),
        "y": [str(s) for s in transitions["to_state"]],
        "action": [a if isinstance(a, str) else "" for a in transitions["action"]],
    }


def current_states(transitions: pd.DataFrame) -> dict[str, str]:
    """Agent id -> the state its last transition led to."""
    if transitions.empty:
        return {}
    last = transitions.sort_values("id", kind="stable").groupby("agent", sort=False).tail(1)
    return dict(zip(last["agent"].astype(str), last["to_state"].astype(str), strict=True))


def badge_counts(badges: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Agent id -> {badge kind -> how many}."""
    out: dict[str, dict[str, int]] = {}
    for agent, kind in zip(badges["agent"], badges["kind"], strict=True):
        kinds = out.setdefault(str(agent), {})
        kinds[str(kind)] = kinds.get(str(kind), 0) + 1
    return out


def stat_groups(
    tidy: pd.DataFrame, roles: Mapping[str, str], extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, list[str]]]:
    """Stats in titled groups: a namespace (``losses/...``) or the JSON stat a value came from
    (``learner_step.metrics.loss``) is a group; other stats are grouped by the roles of the agents that
    write them (``world`` first). ``roles``: agent name -> role; ``extra``: (stat, agent) of stats
    without tidy rows (forecasts), grouped the same way."""
    writers: dict[str, set[str]] = {}
    for stat, agent in zip(tidy["stat"], tidy["agent"], strict=True):
        writers.setdefault(stat, set()).add(roles.get(agent, "") or "other")
    for stat, agent in extra:
        writers.setdefault(stat, set()).add(roles.get(agent, "") or "other")
    groups: dict[str, list[str]] = {}
    for stat in sorted(writers):
        if "/" in stat:
            title = stat.split("/", 1)[0]
        elif "." in stat:
            title = stat.split(".", 1)[0]
        else:
            title = " + ".join(sorted(writers[stat])) or "other"
        groups.setdefault(title, []).append(stat)
    return sorted(groups.items(), key=lambda kv: (kv[0] != "world", kv[0]))
