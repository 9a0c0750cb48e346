"""The world's sidebar dashboard: a grid of named cells, one plotly figure per panel.

Panels are any objects exposing ``.data`` (a list of plotly traces) and ``.layout`` (a dict with optional
``title``, ``xaxis``, ``yaxis``, ``yaxis2``, ``annotations``), which is what unaiverse's ``UIPlot`` exposes.
Each panel becomes its own figure styled by one :class:`~wmverse.dashboard.theme.DashTheme` (so legends,
margins and titles can never collide across panels) and keeps its cell (column, row) for the page's grid.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from .theme import DashTheme, is_empty_panel, panel_figure

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
    """A grid of 3 columns x ``rows`` named cells (``left_top`` ... ``right_bot``), one figure per panel.

    Rows default to ``("top", "mid", "bot")``; more rows add cells such as ``center_<row>``. The page
    (:func:`wmverse.dashboard.render_offline_html`) lays the cells out as a CSS grid: three columns on a wide
    screen; two, then one (panels in the order they were added) in a narrower window such as the sidebar.
    """

    def __init__(
        self,
        title: str,
        height: int = 1100,
        rows: tuple[str, ...] = _ROWS,
        theme: DashTheme | None = None,
    ):
        """``title``: dashboard title (page header); ``height``: pixels of the whole grid on a wide screen
        (each panel gets ``height / len(rows)`` minus the gap); ``rows``: row names, top to bottom (unique);
        ``theme``: the panels' shared look (default :class:`DashTheme`)."""
        if not rows or len(set(rows)) != len(rows):
            raise ValueError(f"rows must be unique, non-empty names, got {rows!r}")
        self.theme = theme or DashTheme()
        self.title = title
        self.rows = tuple(rows)
        self.panel_height = int(height / len(rows)) - 12
        if self.panel_height < 120:
            raise ValueError(f"height {height} leaves less than 120 px per row for {len(rows)} rows")
        self.panels: list[str] = []
        self._figures: list[dict[str, Any]] = []
        self._cells = {
            f"{col}_{row}": (ci + 1, ri + 1) for ci, col in enumerate(_COLS) for ri, row in enumerate(rows)
        }

    @property
    def positions(self) -> list[str]:
        """Valid cell names."""
        return list(self._cells)

    @property
    def traces(self) -> list[dict[str, Any]]:
        """Every panel's traces, in the order the panels were added."""
        return [t for fig in self._figures for t in fig["data"]]

    def figure(self, position: str) -> dict[str, Any]:
        """The styled figure ({"data", "layout"}) of the panel in cell ``position`` (``KeyError`` if none)."""
        for fig in self._figures:
            if fig["position"] == position:
                return {"data": fig["data"], "layout": fig["layout"]}
        raise KeyError(f"no panel in dashboard cell {position!r}")

    def add_panel(self, panel: Panel, position: str, empty_note: str | None = None) -> None:
        """Style ``panel`` with the theme and put it in cell ``position``.

        An unknown or taken cell raises ``ValueError``. ``empty_note`` is shown under "no data yet" when the
        panel has nothing to draw (see :func:`wmverse.dashboard.theme.is_empty_panel`).
        """
        if position not in self._cells:
            raise ValueError(f"unknown dashboard cell {position!r}; use one of {self.positions}")
        if position in self.panels:
            raise ValueError(f"dashboard cell {position!r} already holds a panel")
        data, layout = list(panel.data), dict(panel.layout)
        fig = panel_figure(data, layout, self.theme, self.panel_height, empty_note=empty_note)
        col, row = self._cells[position]
        title = layout.get("title")
        title = title.get("text") if isinstance(title, dict) else title
        self._figures.append(
            {
                "position": position,
                "column": col,
                "row": row,
                "title": str(title or ""),
                "empty": is_empty_panel(data),
                **fig,
            }
        )
        self.panels.append(position)

    def to_dict(self) -> dict[str, Any]:
        """The dashboard: ``{"layout": {...page...}, "panels": [{position, column, row, title, empty, data,
        layout}, ...]}``, what :func:`~wmverse.dashboard.render_offline_html` draws."""
        t = self.theme
        return {
            "layout": {
                "title": self.title,
                "columns": len(_COLS),
                "rows": list(self.rows),
                "panel_height": self.panel_height,
                "background": t.background,
                "panel_background": t.panel_background,
                "panel_border": t.panel_border,
                "text": t.text,
                "muted": t.muted,
                "font_family": t.font_family,
            },
            "panels": [dict(f) for f in self._figures],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON (stable key order)."""
        return json.dumps(self.to_dict(), sort_keys=True)
