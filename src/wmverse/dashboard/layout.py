"""A grid of plotly panels merged into one figure (the world's sidebar dashboard).

Panels are any objects exposing ``.data`` (a list of plotly traces) and ``.layout`` (a dict with optional
``title``, ``xaxis`` and ``yaxis``), which is what unaiverse's ``UIPlot`` exposes. Cartesian traces are
re-pointed at the cell's axes; table traces get the cell's domain; the panel title becomes an annotation.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ["SidebarDash", "Panel"]


class Panel(Protocol):
    """What :meth:`SidebarDash.add_panel` needs from a panel."""

    @property
    def data(self) -> list[dict[str, Any]]: ...

    @property
    def layout(self) -> dict[str, Any]: ...


_COLS = ("left", "center", "right")
_ROWS = ("top", "mid", "bot")


class SidebarDash:
    """A grid of 3 columns x ``rows`` named cells (``left_top`` ... ``right_bot``), one figure for the whole
    dashboard. Rows default to ``("top", "mid", "bot")``; more rows add cells such as ``center_<row>``."""

    def __init__(
        self,
        title: str,
        height: int = 1100,
        text_color: str = "#C8CDD3",
        col_gap: float = 0.06,
        row_gap: float | None = None,
        rows: tuple[str, ...] = _ROWS,
    ):
        """``title``: figure title; ``height``: pixels; gaps are fractions of the figure between cells
        (``row_gap`` defaults to 0.27 / number of rows); ``rows``: row names, top to bottom (unique)."""
        if not rows or len(set(rows)) != len(rows):
            raise ValueError(f"rows must be unique, non-empty names, got {rows!r}")
        row_gap = 0.27 / len(rows) if row_gap is None else row_gap
        self.title = title
        self.traces: list[dict[str, Any]] = []
        self.panels: list[str] = []
        self.text_color = text_color
        self.layout: dict[str, Any] = {
            "title": {"text": title, "x": 0.01, "font": {"size": 18, "color": text_color}},
            "height": height,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": text_color},
            "showlegend": True,
            "legend": {"orientation": "h", "x": 0.0, "y": -0.06, "yanchor": "top", "font": {"size": 11}},
            "margin": {"l": 50, "r": 30, "t": 70, "b": 90},
            "annotations": [],
        }
        n_rows = len(rows)
        w = (1.0 - 2 * col_gap) / 3
        h = (1.0 - (n_rows - 1) * row_gap) / n_rows
        self._cells: dict[str, tuple[list[float], list[float], int]] = {}
        for ci, col in enumerate(_COLS):
            for ri, row in enumerate(rows):
                x0 = ci * (w + col_gap)
                y1 = 1.0 - ri * (h + row_gap)
                idx = ci * n_rows + ri + 1
                self._cells[f"{col}_{row}"] = (
                    [round(x0, 4), round(x0 + w, 4)],
                    [round(y1 - h, 4), round(y1, 4)],
                    idx,
                )

    @property
    def positions(self) -> list[str]:
        """Valid cell names."""
        return list(self._cells)

    def add_panel(self, panel: Panel, position: str) -> None:
        """Merge ``panel`` into cell ``position``; an unknown cell or a taken cell raises ``ValueError``."""
        if position not in self._cells:
            raise ValueError(f"unknown dashboard cell {position!r}; use one of {self.positions}")
        if position in self.panels:
            raise ValueError(f"dashboard cell {position!r} already holds a panel")
        x_dom, y_dom, idx = self._cells[position]
        xa, ya = f"xaxis{idx}", f"yaxis{idx}"
        src = dict(panel.layout)
        has_cartesian = False
        for trace in panel.data:
            t = dict(trace)
            if t.get("type") in ("table", "indicator", "pie"):
                t["domain"] = {"x": x_dom, "y": y_dom}
            else:
                has_cartesian = True
                t["xaxis"] = f"x{idx}"
                t["yaxis"] = f"y{idx}"
            self.traces.append(t)
        if has_cartesian:
            self.layout[xa] = {
                **{k: v for k, v in src.get("xaxis", {}).items() if k != "domain"},
                "domain": x_dom,
                "anchor": f"y{idx}",
            }
            self.layout[ya] = {
                **{k: v for k, v in src.get("yaxis", {}).items() if k != "domain"},
                "domain": y_dom,
                "anchor": f"x{idx}",
            }
        title = src.get("title")
        if isinstance(title, dict):
            title = title.get("text")
        if title:
            self.layout["annotations"].append(
                {
                    "text": f"<b>{title}</b>",
                    "x": (x_dom[0] + x_dom[1]) / 2,
                    "y": y_dom[1] + 0.012,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "font": {"size": 13, "color": self.text_color},
                }
            )
        for ann in src.get("annotations", []):
            self.layout["annotations"].append(dict(ann))
        self.panels.append(position)

    def to_dict(self) -> dict[str, Any]:
        """The plotly figure ({"data", "layout"})."""
        return {"data": self.traces, "layout": self.layout}

    def to_json(self) -> str:
        """The plotly figure as JSON (stable key order)."""
        return json.dumps(self.to_dict(), sort_keys=True)
