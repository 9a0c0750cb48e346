"""The served dashboard's server: local bundles only, the token, the host check, ``wmverse dashboard``."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from wmverse.cli import main
from wmverse.dashboard.app import make_app, serve
from wmverse.dashboard.app.server import COOKIE, check_host
from wmverse.store import StoreError


def test_page_and_bundles_are_served_locally(store_path):
    app = make_app(store_path)
    try:
        client = app.server.test_client()
        page = client.get("/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert srcs and all(not s.startswith(("http:", "https:", "//")) for s in srcs), srcs
        assert "<style>" in html and "stylesheet" not in html  # the style sheet is inlined
        for src in srcs:
            if src.endswith(".js"):
                assert client.get(src).status_code == 200, src
        assert client.get("/_dash-layout").status_code == 200
    finally:
        app.wmverse_store.close()


def test_token_is_needed_once_then_a_cookie(store_path):
    app = make_app(store_path, token="s3cret")
    try:
        client = app.server.test_client()
        assert client.get("/").status_code == 403
        assert client.get("/?token=wrong").status_code == 403
        assert client.get("/_dash-layout").status_code == 403
        first = client.get("/?token=s3cret")
        assert first.status_code == 200 and COOKIE in first.headers.get("Set-Cookie", "")
        assert client.get("/_dash-layout").status_code == 200  # the cookie now stands for the token
    finally:
        app.wmverse_store.close()


def test_public_host_needs_a_token(store_path):
    with pytest.raises(ValueError, match="token"):
        check_host("0.0.0.0", None)
    with pytest.raises(ValueError, match="empty"):
        check_host("127.0.0.1", " ")
    check_host("localhost", None)
    check_host("0.0.0.0", "t")
    with pytest.raises(ValueError, match="token"):
        serve(store_path, host="0.0.0.0", port=0)


def test_serve_in_a_thread_and_stop(store_path):
    url, stop = serve(store_path, port=0, run_id=1)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
    finally:
        stop()
        stop()  # twice does nothing
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_unknown_run_or_store_is_refused(store_path, tmp_path):
    with pytest.raises(StoreError, match="no run 9"):
        make_app(store_path, run_id=9)
    with pytest.raises(StoreError, match="no run store"):
        make_app(tmp_path / "missing.db")


def test_cli_refuses_public_host_without_token_and_missing_store(store_path, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WMVERSE_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", "--db", str(store_path), "--host", "0.0.0.0"]) == 2
    assert "token" in capsys.readouterr().err
    assert main(["dashboard", "--db", str(tmp_path / "none.db")]) == 2
    assert "no run store" in capsys.readouterr().err


def test_cli_prints_the_url_and_stops_on_ctrl_c(store_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "wmverse.cli", "dashboard", "--db", str(store_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job ignores it
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url is not None, line + proc.stderr.read()
        with urllib.request.urlopen(url.group(0), timeout=10) as page:
            assert page.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
