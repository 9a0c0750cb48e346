"""The end of a world run: the world's hooks (stats saved, dashboard, summary) and closing its stats.

Contract: :func:`finish_world` runs once after a run that ended normally or by a first Ctrl-C;
:func:`close_world_stats` runs on every way out of a run (failure, second Ctrl-C included) and leaves no
world ``Stats`` with an open database behind.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any


def _inline_plotly(page: str) -> str:
    """Replaces the plotly.js CDN tag of unaiverse's dashboards by the bundled library (offline page)."""
    import re

    from plotly.offline import get_plotlyjs

    pattern = r'<script src="https://cdn\.plot\.ly/plotly-[0-9.]+(?:\.min)?\.js"[^>]*></script>'
    return re.sub(pattern, lambda _m: f"<script>{get_plotlyjs()}</script>", page)


def finish_world(runtime: Any, out_dir: Path) -> tuple[str | None, Path | None, Path | None]:
    """World hooks at the end: save stats, render_dashboard(path) (or the stats plot), then summary()."""
    world = runtime.world_node.hosted
    stats = getattr(world, "stats", None)
    db_path = None
    if stats is not None and getattr(stats, "is_world", False):
        stats.save_to_disk()
        declared = getattr(world, "stats_db_path", None) or getattr(stats, "db_path", None)
        if declared:
            db_path = Path(declared).resolve()
    dashboard = out_dir / "dashboard.html"
    render = getattr(world, "render_dashboard", None)
    if callable(render):
        returned = render(str(dashboard))
        if isinstance(returned, str | Path) and Path(returned).is_file():
            dashboard = Path(returned)
    elif stats is not None and hasattr(stats, "plot"):
        page = stats.plot()
        if isinstance(page, str) and page:
            dashboard.write_text(_inline_plotly(page), encoding="utf-8")
    summary_fn = getattr(world, "summary", None)
    summary = str(summary_fn()) if callable(summary_fn) else None
    if stats is not None and hasattr(stats, "shutdown"):
        stats.shutdown()
    return summary, db_path, (dashboard.resolve() if dashboard.is_file() else None)


def close_world_stats(runtime: Any) -> None:
    """Closes the stats database of every world built, however the run ended (saved, unless quit at once).

    Otherwise a failed run's ``Stats`` stays open until some later garbage collection, when unaiverse's
    ``__del__`` saves it and prints to whatever stdout is then current."""
    for node in runtime.nodes:
        stats = getattr(getattr(node, "hosted", None), "stats", None)
        if stats is None or getattr(stats, "_db_conn", None) is None:
            continue
        with contextlib.suppress(Exception):  # a failing save must not hide the run's own outcome
            if not runtime.aborted:
                stats.save_to_disk()
        with contextlib.suppress(Exception):
            stats._db_conn.close()
        stats._db_conn = None
