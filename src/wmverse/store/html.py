"""One run as a self-contained HTML page (``wmverse runs export RUN --html``): the old ``dashboard.html``,
built from the run store.

One panel per numeric stat, one trace per agent (x: the tick), then the messages delivered per tick, laid
out by :class:`wmverse.dashboard.SidebarDash` and drawn by :func:`wmverse.dashboard.render_offline_html`
(plotly.js inlined: the page needs no network). Stats whose values are not numbers (states, graphs...)
are listed under the panels' title, not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StoreError

if TYPE_CHECKING:
    from .read import RunReader

__all__ = ["run_page", "write_run_page"]

_COLUMNS = ("left", "center", "right")
_ROW_PX = 372  # SidebarDash height per row: 360 px panels


@dataclass
class _Panel:
    """What ``SidebarDash.add_panel`` takes: plotly traces and a layout."""

    data: list[dict[str, Any]]
    layout: dict[str, Any] = field(default_factory=dict)


def _series_panels(store: RunReader, run_id: int) -> tuple[list[_Panel], list[str]]:
    """The panels of a run (one per numeric stat, then messages) and the stats that are not drawn."""
    points = store.points(run_id)
    numeric = points[points["value"].notna()]
    drawn = sorted(numeric["stat"].unique())
    skipped = sorted(set(points["stat"]) - set(drawn))
    panels = []
    for stat in drawn:
        rows = numeric[numeric["stat"] == stat].sort_values(["step", "id"])
        traces = [
            {
                "type": "scatter",
                "mode": "lines+markers" if len(group) < 200 else "lines",
                "name": str(agent),
                "x": group["step"].astype("float64").tolist(),
                "y": group["value"].tolist(),
            }
            for agent, group in rows.groupby("agent", sort=True)
        ]
        layout = {"title": stat, "xaxis": {"title": "tick"}, "yaxis": {"title": stat}}
        panels.append(_Panel(traces, layout))
    counts = store.message_counts(run_id)
    if len(counts):
        bars = {"type": "bar", "name": "messages", "x": counts["tick"].astype("float64").tolist()}
        bars["y"] = counts["count"].astype("float64").tolist()
        layout = {"title": "messages delivered per tick", "xaxis": {"title": "tick"}}
        panels.append(_Panel([bars], layout))
    return panels, skipped


def run_page(store: RunReader, run_id: int) -> str:
    """The HTML page of run ``run_id`` of ``store`` (``StoreError`` for an unknown run)."""
    from wmverse.dashboard import SidebarDash, render_offline_html

    run = store.run(run_id)
    panels, skipped = _series_panels(store, run.id)
    title = f"run {run.id}: {run.world}, seed {run.seed}, {run.status}"
    if skipped:
        title += f" (not drawn: {', '.join(skipped)})"
    rows = tuple(f"r{i}" for i in range(max(1, -(-len(panels) // len(_COLUMNS)))))
    dash = SidebarDash(title, height=_ROW_PX * len(rows), rows=rows)
    for i, panel in enumerate(panels):
        dash.add_panel(panel, f"{_COLUMNS[i % len(_COLUMNS)]}_{rows[i // len(_COLUMNS)]}")
    return render_offline_html(dash.to_dict(), title=title, n_panels=len(panels))


def write_run_page(store: RunReader, run_id: int, path: str | Path | None = None) -> Path:
    """Writes :func:`run_page` to ``path`` (default ``run-<id>.html`` here); returns the path."""
    page = run_page(store, run_id)
    path = Path(path) if path is not None else Path(f"run-{int(run_id)}.html")
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
