"""The served dashboard: a Dash app on a run store, live while a world writes into it.

``make_app(store_url, run_id=None, *, token=None)`` builds the app; ``serve(store_url, host, port, run_id,
token, open_browser)`` runs it in a background thread and returns ``(url, stop)``; ``wmverse dashboard``
is the command line. The page: a sidebar (runs to pick or overlay, the run's world, its agents with role,
current state and badges, a search box) beside the panels (every stat, grouped; or one agent's state
machine, states over time, badges and stats), extended every second with the rows written since.
Dash, Flask and pandas load when these names are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import make_app, serve

__all__ = ["make_app", "serve"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import server

    value = getattr(server, name)
    globals()[name] = value
    return value
