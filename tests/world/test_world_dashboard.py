"""Offline dashboard pieces (no unaiverse, no browser): layout and the self-contained page."""

import json
import re
from pathlib import Path

import pytest

from wmverse.dashboard import PLOTLY_JS_VERSION, SidebarDash, plotly_js, render_offline_html

REPO = Path(__file__).resolve().parents[2]


class Panel:
    def __init__(self, title, traces):
        self.data = traces
        self.layout = {"title": title, "xaxis": {"title": "epoch"}, "yaxis": {"title": "v"}}


def test_panels_land_in_their_cells_with_their_own_axes():
    dash = SidebarDash("t")
    dash.add_panel(Panel("A", [{"type": "scatter", "x": [1], "y": [2]}]), "left_top")
    dash.add_panel(Panel("B", [{"type": "table", "cells": {"values": [[1]]}}]), "right_bot")
    fig = dash.to_dict()
    line, table = fig["data"]
    assert (line["xaxis"], line["yaxis"]) == ("x1", "y1")
    assert table["domain"]["x"][1] == pytest.approx(1.0) and "xaxis" not in table
    assert fig["layout"]["xaxis1"]["title"] == "epoch" and fig["layout"]["xaxis1"]["anchor"] == "y1"
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["<b>A</b>", "<b>B</b>"]
    assert dash.panels == ["left_top", "right_bot"] and len(dash.positions) == 9
    with pytest.raises(ValueError, match="unknown dashboard cell 'middle'"):
        dash.add_panel(Panel("C", []), "middle")
    with pytest.raises(ValueError, match="already holds a panel"):
        dash.add_panel(Panel("C", []), "left_top")


def test_page_inlines_plotly_and_loads_nothing_from_the_network():
    dash = SidebarDash("t")
    dash.add_panel(Panel("A</script><b>", [{"type": "scatter", "x": [1], "y": [2]}]), "center_mid")
    page = render_offline_html(dash.to_json(), title="<x>", n_panels=1)
    assert re.search(r"plotly\.js v" + re.escape(PLOTLY_JS_VERSION) + r"\.\d+", page)
    assert plotly_js() in page
    assert "<script src" not in page and "<link" not in page
    assert page.count("</script>") == 2  # plotly.js + the drawing script: the title cannot close a script
    assert 'data-panels="1"' in page and "<title>&lt;x&gt;</title>" in page
    fig = json.loads(page.split("var DASH = ", 1)[1].split(";\nPlotly.newPlot", 1)[0].replace("<\\/", "</"))
    assert fig["data"][0]["x"] == [1]
    with pytest.raises(ValueError, match="'data' and 'layout'"):
        render_offline_html({"data": []})


def test_no_cdn_reference_in_the_worlds_code():
    pattern = re.compile(r"cdn\.plot\.ly|cdn\.jsdelivr|unpkg\.com|cdnjs")
    roots = [REPO / "src", REPO / "worlds", REPO / "agents"]
    offenders = [str(p) for root in roots for p in root.rglob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert offenders == []
