"""The served dashboard: ``make_app`` builds the Dash app on a run store, ``serve`` runs it in a thread.

Dash serves its own bundles and plotly.js from the installed packages (``serve_locally=True``); the style
sheet is inlined; so the page works with no network. ``serve`` starts a threaded WSGI server in a
background thread and returns at once with the page's URL and a function that stops it, so a runner can
serve the dashboard while its world runs. Outside the machine (any host but 127.0.0.1, localhost, ::1) a
token is required: a request must bring ``?token=...`` once (it then gets a cookie) or it gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import dash
    from sqlalchemy.engine import URL

__all__ = ["COOKIE", "LOCAL_HOSTS", "check_host", "make_app", "serve"]

#: hosts that only this machine can reach
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: the cookie that stands for the token once a request brought it
COOKIE = "wmverse_dashboard"


def check_host(host: str, token: str | None) -> None:
    """Refuse (``ValueError``) to bind beyond this machine without a token, or with an empty one."""
    if token is not None and not token.strip():
        raise ValueError("the dashboard's token is empty: pass a secret, or no token on 127.0.0.1")
    if host not in LOCAL_HOSTS and token is None:
        raise ValueError(
            f"serving the dashboard on {host!r} would show the run store to the network: pass a token "
            "(serve(..., token=...), `wmverse dashboard --token T`), or bind 127.0.0.1"
        )


def _guard(server: Any, token: str) -> None:
    """Every request needs ``?token=<token>`` or the cookie a request with it received; else 403."""
    from flask import Response, g, request

    digest = hashlib.sha256(f"wmverse-dashboard:{token}".encode()).hexdigest()

    @server.before_request
    def _check() -> Any:
        given = request.args.get("token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            g.wmverse_remember = True
            return None
        if hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), digest.encode()):
            return None
        return Response(
            "403 Forbidden: this dashboard needs its token; open the URL it printed (…?token=…)\n",
            status=403,
            mimetype="text/plain",
        )

    @server.after_request
    def _remember(response: Any) -> Any:
        if g.get("wmverse_remember"):
            response.set_cookie(COOKIE, digest, httponly=True, samesite="Strict")
        return response


def make_app(
    store_url: str | Path | URL | None,
    run_id: int | None = None,
    *,
    token: str | None = None,
    interval_ms: int = 1000,
) -> dash.Dash:
    """The dashboard of the run store at ``store_url`` (a SQLAlchemy URL or a SQLite file; None: env
    ``WMVERSE_DB``, else the store's default file), which must exist. ``run_id``: the run picked when the
    page opens (default: the newest); ``token``: every request must bring it (see :func:`serve`);
    ``interval_ms``: how often the page asks for new rows (at most 1000 so that a new epoch shows within
    2 s). The open store is ``app.wmverse_store``; close it when done (``serve``'s stop does)."""
    import dash

    from wmverse.store import RunStore

    from .callbacks import register
    from .page import INDEX, layout
    from .source import Source

    if not 100 <= interval_ms <= 1000:
        raise ValueError(f"interval_ms is between 100 and 1000, not {interval_ms}")
    store = RunStore.open(store_url, create=False)
    try:
        if run_id is not None:
            store.run(run_id)  # an unknown run is a StoreError now, not an empty page later
        app = dash.Dash(
            __name__,
            title="wmverse runs",
            update_title=None,
            serve_locally=True,
            include_assets_files=False,
            assets_ignore=".*",
            external_stylesheets=[],
            external_scripts=[],
            suppress_callback_exceptions=True,
            compress=False,
            enable_mcp=False,
        )
        app.index_string = INDEX
        first = [int(run_id)] if run_id is not None else []
        app.layout = lambda: layout(first, interval_ms)  # evaluated per page load
        register(app, Source(store))
        if token is not None:
            _guard(app.server, token)
    except BaseException:
        store.close()
        raise
    app.wmverse_store = store  # type: ignore[attr-defined]
    return app


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def serve(
    store_url: str | Path | URL | None,
    host: str = "127.0.0.1",
    port: int = 8050,
    run_id: int | None = None,
    token: str | None = None,
    open_browser: bool = False,
) -> tuple[str, Callable[[], None]]:
    """Serve :func:`make_app` on ``host:port`` (port 0: a free one) from a background thread; returns
    ``(url, stop)`` at once. ``url`` carries the token when there is one; ``stop()`` shuts the server
    down and closes the store (calling it again does nothing). Binding beyond this machine needs a
    ``token`` (``ValueError`` otherwise); a port in use raises ``OSError``; a missing store or run,
    ``wmverse.store.StoreError``."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    check_host(host, token)
    app = make_app(store_url, run_id, token=token)
    store = app.wmverse_store  # type: ignore[attr-defined]

    class _Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:  # a request a second would flood stderr
            pass

    try:
        server = make_server(host, port, app.server, threaded=True, request_handler=_Quiet)
    except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
        store.close()
        raise OSError(f"cannot serve the dashboard on {host}:{port}: {exc}") from None
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="wmverse-dashboard"
    )
    thread.start()
    url = f"http://{_url_host(host)}:{server.server_port}/"
    if token is not None:
        url += f"?token={quote(token, safe='')}"
    done = threading.Lock()

    def stop() -> None:
        if not done.acquire(blocking=False):
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        store.close()

    if open_browser:
        try:
            webbrowser.open(url)
        except webbrowser.Error:
            pass
    return url, stop
