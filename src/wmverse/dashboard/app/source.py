"""What the served dashboard reads from the run store: one selection of runs at a time, whole or since ids.

:class:`Source` wraps one open :class:`~wmverse.store.RunStore` (its reads are short transactions, so
they go along with the world writing). :meth:`Source.load` reads everything of some runs for a full
render; :meth:`Source.since` only the rows written after the ids the page saw (the ``(run_id, id)``
indexes make that a small read every second). The agent tables (names, roles, colours) of a selection
are cached until the runs' nodes change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from .colors import OTHER_COLOR
from .shaping import Agent, Forecast, agent_tables, stated_tendencies, tidy_points

if TYPE_CHECKING:
    from wmverse.store import RunStore

__all__ = ["Delta", "Source", "View", "roster"]


@dataclass
class View:
    """Everything of a selection of runs, shaped for drawing."""

    runs: list[int]
    agents: dict[int, dict[str, Agent]]  # run id -> agent id -> Agent
    tidy: pd.DataFrame  # shaping.TIDY_COLUMNS
    forecasts: list[Forecast]
    transitions: pd.DataFrame
    badges: pd.DataFrame
    last_point: int  # the largest stat point id read (0: none)
    last_transition: int
    nodes: int  # nodes of the runs, to notice a joiner

    def agent(self, run_id: int, agent_id: str) -> Agent:
        """The Agent of an id (a name or peer id) in a run; an unknown id gets a bare one."""
        found = self.agents.get(run_id, {}).get(agent_id)
        return found if found is not None else Agent(agent_id, "", None, OTHER_COLOR)

    def roster(self, run_id: int) -> list[Agent]:
        """The run's agents (see :func:`roster`)."""
        return roster(self.agents.get(run_id, {}))


def roster(table: dict[str, Agent]) -> list[Agent]:
    """The agents of an agent table, each once: the world first, then by role and name."""
    unique = {a.name: a for a in table.values()}
    return sorted(unique.values(), key=lambda a: (a.role != "world", a.role or "~", a.name.lower()))


@dataclass
class Delta:
    """What the runs wrote after a view was drawn."""

    tidy: pd.DataFrame
    forecasts: list[Forecast]
    transitions: pd.DataFrame
    badges: pd.DataFrame | None  # all badges again when their number changed, else None
    last_point: int
    last_transition: int
    nodes: int
    agents: dict[int, dict[str, Agent]] = field(default_factory=dict)  # as View.agents
    unknown: set[tuple[int, str]] = field(default_factory=set)  # agent ids that are no known agent


def _max_id(frame: pd.DataFrame, default: int) -> int:
    return int(frame["id"].max()) if len(frame) else default


class Source:
    """Reads of one run store for the dashboard (thread-safe: Dash answers callbacks in threads)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._agents: dict[tuple[int, ...], tuple[int, dict[int, dict[str, Agent]]]] = {}

    def runs(self) -> pd.DataFrame:
        """The runs, newest first."""
        return self.store.list_runs()

    def _tables(
        self, runs: list[int], nodes: pd.DataFrame, points: pd.DataFrame | None
    ) -> dict[int, dict[str, Agent]]:
        key = tuple(runs)
        with self._lock:
            cached = self._agents.get(key)
        if cached is not None and cached[0] == len(nodes) and points is None:
            return cached[1]
        if points is None:
            points = self.store.points(runs, ["tendency"])
        seen = set(zip(points["run_id"].astype(int), points["agent"].astype(str), strict=True))
        tables = agent_tables(nodes, stated_tendencies(points), seen)
        with self._lock:
            if len(self._agents) > 32:
                self._agents.clear()
            self._agents[key] = (len(nodes), tables)
        return tables

    def load(self, runs: list[int]) -> View:
        """Everything of ``runs`` (which must exist)."""
        nodes = self.store.nodes(runs)
        points = self.store.points(runs)
        transitions = self.store.transitions(runs)
        badges = self.store.badges(runs)
        tables = self._tables(runs, nodes, points)
        for frame in (transitions, badges):  # agents that only moved or got a badge
            for run_id, agent in zip(frame["run_id"].astype(int), frame["agent"].astype(str), strict=True):
                if agent not in tables.setdefault(run_id, {}):
                    tables[run_id][agent] = Agent(agent, "", None, OTHER_COLOR)
        tidy, forecasts = tidy_points(points, tables)
        return View(
            runs=list(runs),
            agents=tables,
            tidy=tidy,
            forecasts=forecasts,
            transitions=transitions,
            badges=badges,
            last_point=_max_id(points, 0),
            last_transition=_max_id(transitions, 0),
            nodes=len(nodes),
        )

    def since(self, runs: list[int], last_point: int, last_transition: int, badges_seen: int) -> Delta:
        """The rows of ``runs`` after the given ids; the badges again when there are not ``badges_seen``."""
        nodes = self.store.nodes(runs)
        points = self.store.points(runs, since_id=last_point)
        transitions = self.store.transitions(runs, since_id=last_transition)
        badges = self.store.badges(runs)
        tables = self._tables(runs, nodes, None)
        unknown = {
            (int(r), str(a))
            for r, a in zip(points["run_id"], points["agent"], strict=True)
            if str(a) not in tables.get(int(r), {})
        }
        tidy, forecasts = tidy_points(points, tables)
        return Delta(
            tidy=tidy,
            forecasts=forecasts,
            transitions=transitions,
            badges=badges if len(badges) != badges_seen else None,
            last_point=_max_id(points, last_point),
            last_transition=_max_id(transitions, last_transition),
            nodes=len(nodes),
            agents=tables,
            unknown=unknown,
        )
