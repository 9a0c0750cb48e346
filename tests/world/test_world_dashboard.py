"""Offline dashboard pieces (no unaiverse, no browser): panels, the shared theme and the self-contained page."""

import json
import re
from pathlib import Path

import pytest

from wmverse.dashboard import PLOTLY_JS_VERSION, DashTheme, SidebarDash, plotly_js, render_offline_html
from wmverse.dashboard.theme import EMPTY_TEXT, is_empty_panel, panel_figure

REPO = Path(__file__).resolve().parents[2]


class Panel:
    def __init__(self, title, traces, xaxis=None, yaxis=None):
        self.data = traces
        self.layout = {
            "title": title,
            "xaxis": {"title": "epoch"} if xaxis is None else xaxis,
            "yaxis": {"title": "v"} if yaxis is None else yaxis,
        }


def _line(name, x=(1, 2), y=(2, 3), **extra):
    return {"type": "scatter", "x": list(x), "y": list(y), "name": name, **extra}


def _dash_fig(page):
    payload = page.split("var DASH = ", 1)[1].split(";\nvar CONFIG", 1)[0]
    return json.loads(payload.replace("<\\/", "</"))


def test_each_panel_is_its_own_figure_in_its_cell():
    dash = SidebarDash("t")
    dash.add_panel(Panel("A", [_line("a")]), "left_top")
    dash.add_panel(Panel("B", [{"type": "table", "cells": {"values": [[1]]}}]), "right_bot")
    a, b = dash.figure("left_top"), dash.figure("right_bot")
    assert a["data"][0]["x"] == [1, 2] and "xaxis" not in a["data"][0]  # the panel's own axes, not x1/y1
    assert a["layout"]["xaxis"]["title"]["text"] == "epoch" and a["layout"]["title"]["text"] == "<b>A</b>"
    assert b["data"][0]["domain"] == {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    cells = [(p["position"], p["column"], p["row"]) for p in dash.to_dict()["panels"]]
    assert cells == [("left_top", 1, 1), ("right_bot", 3, 3)]
    assert dash.panels == ["left_top", "right_bot"] and len(dash.positions) == 9
    with pytest.raises(ValueError, match="unknown dashboard cell 'middle'"):
        dash.add_panel(Panel("C", []), "middle")
    with pytest.raises(ValueError, match="already holds a panel"):
        dash.add_panel(Panel("C", []), "left_top")
    with pytest.raises(KeyError, match="no panel in dashboard cell 'center_mid'"):
        dash.figure("center_mid")
    with pytest.raises(ValueError, match="less than 120 px"):
        SidebarDash("t", height=300)


def test_every_panel_gets_the_same_template_whatever_its_source_styled():
    theme = DashTheme()
    dash = SidebarDash("t", theme=theme)
    uiplot_like = {
        "gridcolor": "#222A36",
        "griddash": "dot",
        "linewidth": 2,
        "mirror": True,
        "title": "epoch",
    }
    dash.add_panel(Panel("debate", [_line("a"), _line("b")], xaxis=uiplot_like), "left_top")
    dash.add_panel(
        Panel("learner", [_line("c"), _line("d")], yaxis={"title": "loss", "type": "log"}), "left_mid"
    )
    figs = [dash.figure("left_top"), dash.figure("left_mid")]
    for fig in figs:
        lay = fig["layout"]
        for ax in (lay["xaxis"], lay["yaxis"]):
            assert (ax["gridcolor"], ax["griddash"], ax["linewidth"]) == (theme.grid, "dot", 1)
        assert lay["font"] == {"family": theme.font_family, "size": theme.font_size, "color": theme.text}
        assert lay["title"]["font"]["size"] == theme.title_size and lay["margin"]["t"] == theme.margin[2]
        assert lay["showlegend"] is True and lay["legend"]["x"] > 1.0  # its own legend, right of its plot
    assert figs[1]["layout"]["yaxis"]["type"] == "log"  # what the panel decides is kept


def test_legend_only_when_two_entries_and_y_axis_never_unlabeled():
    one = panel_figure([_line("only")], {"title": "T"}, DashTheme(), 300)
    assert one["layout"]["showlegend"] is False
    hidden = panel_figure([_line("a", showlegend=False), _line("b")], {"title": "T"}, DashTheme(), 300)
    assert hidden["layout"]["showlegend"] is False
    fig = panel_figure([_line("delta"), _line("lr")], {"yaxis": {"title": None}}, DashTheme(), 300)
    assert fig["layout"]["yaxis"]["title"]["text"] == "delta / lr"
    long = [_line("a much longer trace name"), _line("another much longer name")]
    assert panel_figure(long, {}, DashTheme(), 300)["layout"]["yaxis"]["title"]["text"] == "value"
    graph = panel_figure([_line("g")], {"yaxis": {"showticklabels": False, "title": None}}, DashTheme(), 300)
    assert "title" not in graph["layout"]["yaxis"]  # a hidden axis (the world graph) stays bare


def test_epoch_ticks_are_thinned_so_labels_need_no_rotation():
    xs = list(range(1, 41))
    fig = panel_figure([_line("a", x=xs, y=xs)], {"xaxis": {"title": "epoch", "dtick": 1}}, DashTheme(), 300)
    assert fig["layout"]["xaxis"]["dtick"] == 5  # 39 epochs / 5 <= 12 ticks
    few = panel_figure([_line("a", x=[1, 2, 3], y=[1, 2, 3])], {"xaxis": {"dtick": 1}}, DashTheme(), 300)
    assert few["layout"]["xaxis"]["dtick"] == 1


def test_empty_panels_say_no_data_yet_instead_of_drawing_empty_axes():
    assert is_empty_panel([]) and is_empty_panel([_line("a", x=[], y=[])])
    assert not is_empty_panel([{"type": "table", "cells": {"values": []}}])
    dash = SidebarDash("t")
    dash.add_panel(Panel("nothing yet", [_line("a", x=[], y=[])]), "center_top", empty_note="run not started")
    fig = dash.figure("center_top")
    assert fig["data"] == [] and fig["layout"]["showlegend"] is False
    assert fig["layout"]["xaxis"]["visible"] is False and fig["layout"]["yaxis"]["visible"] is False
    (note,) = [a for a in fig["layout"]["annotations"] if a.get("name") == "empty-state"]
    assert note["text"].startswith(EMPTY_TEXT) and "run not started" in note["text"]
    assert dash.to_dict()["panels"][0]["empty"] is True


def test_same_panels_same_json():
    def build():
        dash = SidebarDash("t")
        dash.add_panel(Panel("A", [_line("a"), _line("b")]), "left_top")
        return dash.to_json()

    assert build() == build()


def test_page_inlines_plotly_and_loads_nothing_from_the_network():
    dash = SidebarDash("t")
    dash.add_panel(Panel("A</script><b>", [_line("a")]), "center_mid")
    page = render_offline_html(dash.to_json(), title="<x>", n_panels=1)
    assert re.search(r"plotly\.js v" + re.escape(PLOTLY_JS_VERSION) + r"\.\d+", page)
    assert plotly_js() in page
    assert "<script src" not in page and "<link" not in page
    assert page.count("</script>") == 2  # plotly.js + the drawing script: the title cannot close a script
    assert 'data-panels="1"' in page and "<title>&lt;x&gt;</title>" in page
    assert 'data-position="center_mid"' in page and "grid-column: 2; grid-row: 2;" in page
    fig = _dash_fig(page)
    assert fig["panels"][0]["data"][0]["x"] == [1, 2]
    plain = render_offline_html({"data": [_line("a")], "layout": {"title": "plain"}})  # a bare figure
    assert _dash_fig(plain)["panels"][0]["data"][0]["name"] == "a"
    with pytest.raises(ValueError, match="'data' and 'layout'"):
        render_offline_html({"data": []})


def test_no_cdn_reference_in_the_worlds_code():
    pattern = re.compile(r"cdn\.plot\.ly|cdn\.jsdelivr|unpkg\.com|cdnjs")
    roots = [REPO / "src", REPO / "worlds", REPO / "agents"]
    offenders = [str(p) for root in roots for p in root.rglob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert offenders == []
