"""The served dashboard's data shaping, without a browser: frames -> agents, series, figures, live updates."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from wmverse.dashboard.app.colors import ROLE_FAMILIES, TENDENCY_COLORS, WORLD_COLOR, role_colors, role_name
from wmverse.dashboard.app.figures import GL_POINTS, Series, log_axis, stat_figure
from wmverse.dashboard.app.live import Spec, extend, stat_panels
from wmverse.dashboard.app.machine import state_graph_figure
from wmverse.dashboard.app.shaping import (
    Agent,
    current_states,
    ema,
    parse_date,
    state_graph,
    x_values,
)
from wmverse.dashboard.app.source import Source
from wmverse.store import Point

EPOCHS = 5  # as tests/dashboard/conftest.py writes them
T0 = 1_700_000_000.0


def _ms(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp() * 1000.0


# -- agents and colours ------------------------------------------------------------------------------
def test_agents_by_name_and_peer_id_share_role_and_colour(store):
    view = Source(store).load([1])
    table = view.agents[1]
    assert table["peer-s"] == table["Survival"]
    assert table["peer-s"].role == "tendency" and table["peer-s"].tendency == "survival"
    assert table["Survival"].color == TENDENCY_COLORS["survival"]
    assert table["Comfort"].color == TENDENCY_COLORS["comfort"]
    assert table["world"].color == WORLD_COLOR and table["world"].role == "world"
    assert table["LearnerLeworld"].role == "leworld"
    assert [a.name for a in view.roster(1)] == ["world", "LearnerLeworld", "Comfort", "Survival"]


def test_role_colours_group_agents_by_role():
    colors = role_colors(
        [
            ("a1", "learner", None),
            ("a2", "learner", None),
            ("b1", "scout", None),
            ("Meaning", "tendency", "meaning"),
        ]
    )
    learner, scout = ROLE_FAMILIES[0], ROLE_FAMILIES[1]  # families go to the roles in sorted order
    assert colors["a1"] == learner[0] and colors["a2"] == learner[1]  # one hue, two shades
    assert colors["b1"] == scout[0]
    assert colors["Meaning"] == TENDENCY_COLORS["meaning"]  # a tendency keeps its colour whatever the name
    assert role_name("public~tendency") == "tendency" and role_name(None) == ""


# -- tidy series -------------------------------------------------------------------------------------
def test_tidy_points_reads_numbers_categories_dates_objects_and_forecasts(store):
    view = Source(store).load([1])
    tidy = view.tidy
    acc = tidy[tidy["stat"] == "val_accuracy"]
    assert acc["agent"].tolist() == ["world"] * EPOCHS and acc["y"].round(3).tolist() == [
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
    ]
    winner = tidy[tidy["stat"] == "winner"]
    assert winner["label"].tolist() == ["survival", "comfort", "survival", "comfort", "survival"]
    loss = tidy[tidy["stat"] == "loss"]
    assert loss["date"].iloc[0] == _ms(2001, 1, 1) and loss["date"].iloc[1] == _ms(2001, 4, 1)
    assert set(tidy[tidy["stat"] == "allocation"]["agent"]) == {"Survival", "Comfort"}  # peer ids -> names
    heldout = tidy[tidy["stat"] == "learner_step.metrics.heldout"]
    assert heldout["y"].round(3).tolist() == [0.5, 0.25, 0.167, 0.125, 0.1]
    assert "learner_step.step" not in set(tidy["stat"])  # the step of a report is its x, not a series
    (forecast,) = view.forecasts
    assert forecast.stat == "forecast" and forecast.agent == "LearnerLeworld"
    assert forecast.x[0] == _ms(2000, 1, 1) and forecast.series["truth"] == [1.0, 2.0, 1.5, 2.5]


def test_parse_date_knows_iso_dates_and_quarters():
    assert parse_date("2001Q3") == _ms(2001, 7, 1) == parse_date("2001-Q3") == parse_date("Q3 2001")
    assert parse_date("2001-07-01") == _ms(2001, 7, 1)
    assert parse_date("2001-07") == _ms(2001, 7, 1)
    assert parse_date("2001-07-01T12:00:00Z") == _ms(2001, 7, 1) + 12 * 3600e3
    assert parse_date("survival") is None and parse_date(3) is None and parse_date("2001-13-01") is None


def test_x_values_step_sim_wall_and_dates(store):
    view = Source(store).load([1])
    acc = view.tidy[view.tidy["stat"] == "val_accuracy"]
    assert x_values(acc, "step").tolist() == [1, 2, 3, 4, 5]
    assert x_values(acc, "sim")[0] == (T0 + 60) * 1000
    assert x_values(acc, "wall")[0] == (T0 + 5) * 1000
    no_step = acc.assign(step=np.nan)
    assert x_values(no_step, "step", seq_start=10).tolist() == [11, 12, 13, 14, 15]  # place in the series
    loss = view.tidy[view.tidy["stat"] == "loss"]
    assert x_values(loss, "step")[0] == _ms(2001, 1, 1)  # dated values keep their dates


def test_ema_is_debiased_and_continues():
    values = np.array([1.0, 2.0, 3.0, np.nan, 4.0])
    out, state = ema(values, 0.5)
    assert out[0] == pytest.approx(1.0)  # debiased: the first point is not pulled to 0
    assert out[1] == pytest.approx((0.25 + 1.0) / 0.75)
    assert math.isnan(out[3]) and state[1] == 4
    head, mid = ema(values[:2], 0.5)
    tail, _ = ema(values[2:], 0.5, mid)
    np.testing.assert_allclose(np.concatenate([head, tail]), out)
    same, _ = ema(values, 0.0)
    np.testing.assert_array_equal(same[:3], values[:3])


# -- state machines ----------------------------------------------------------------------------------
def test_state_graph_from_transitions(store):
    transitions = store.transitions(1)
    mine = transitions[transitions["agent"] == "peer-s"]
    graph = state_graph(mine)
    assert graph.states == ("idle", "proposing", "staking")
    assert graph.edges == (
        ("idle", "proposing", "propose", EPOCHS),
        ("proposing", "staking", "stake", EPOCHS),
        ("staking", "idle", "rest", EPOCHS),
    )
    assert graph.current == "idle" and graph.visits["staking"] == EPOCHS
    assert current_states(transitions)["LearnerLeworld"] == "ready"
    fig = state_graph_figure(graph, "#FF3B30")
    node = fig["data"][0]
    assert node["marker"]["color"][0] == "#FF3B30" and node["marker"]["color"][1] != "#FF3B30"
    arrows = [a for a in fig["layout"]["annotations"] if a.get("showarrow")]
    assert len(arrows) == 3 and "now: idle" in fig["layout"]["title"]["text"]


# -- figures -----------------------------------------------------------------------------------------
def _agent(name: str, role: str = "tendency", color: str = "#FF3B30") -> Agent:
    return Agent(name, role, name.lower(), color)


def test_stat_figure_one_trace_per_agent_legend_and_smoothing():
    xs = np.arange(1, 6, dtype=float)
    series = [
        Series("1|Survival", 1, _agent("Survival"), xs, xs / 10),
        Series("1|Comfort", 1, _agent("Comfort", color="#FF6692"), xs, xs / 20),
    ]
    fig = stat_figure("allocation", series, x="step", smoothing=0.0, log=False, runs=[1], gl=False)
    assert [t["name"] for t in fig["data"]] == ["Survival", "Comfort"]
    assert [t["line"]["color"] for t in fig["data"]] == ["#FF3B30", "#FF6692"]
    assert fig["layout"]["showlegend"] is True and fig["data"][0]["type"] == "scatter"
    smooth = stat_figure("allocation", series, x="step", smoothing=0.6, log=False, runs=[1], gl=True)
    assert len(smooth["data"]) == 4 and smooth["data"][0]["showlegend"] is False  # raw, smoothed, raw, ...
    assert smooth["data"][1]["type"] == "scattergl"
    overlay = stat_figure("allocation", series[:1] + [Series("2|Survival", 2, _agent("Survival"), xs, xs)],
                          x="step", smoothing=0.0, log=False, runs=[1, 2], gl=False)  # fmt: skip
    assert [t["name"] for t in overlay["data"]] == ["run 1 · Survival", "run 2 · Survival"]


def test_log_axis_ticks_are_readable():
    wide = log_axis([np.array([1e-5, 1e-3, 0.1])])
    assert wide["type"] == "log" and wide["exponentformat"] == "power" and wide["dtick"] == 1
    assert log_axis([np.array([1e-40, 1.0])])["dtick"] == 5  # about 8 labels, never 40
    narrow = log_axis([np.array([0.3, 4.0])])
    assert "dtick" not in narrow and narrow["tickformat"] == ".3~g"  # full numbers, not bare 2, 5
    assert {0.5, 1.0, 2.0} <= set(narrow["tickvals"]) and 3.0 not in narrow["tickvals"]


def test_stat_panels_grouped_and_webgl_above_a_thousand_points(store):
    view = Source(store).load([1])
    groups, live, note = stat_panels(view, Spec([1]))
    assert note is None
    titles = [title for title, _ in groups]
    assert titles[0] == "world" and "tendency" in titles and "learner_step" in titles
    stats = {p["stat"] for _, panels in groups for p in panels}
    assert {"val_accuracy", "winner", "allocation", "loss", "forecast"} <= stats
    assert "tendency" not in stats  # one value per agent: shown in the sidebar, not as a panel
    assert live["figs"]["allocation"]["keys"] == ["1|Comfort", "1|Survival"]
    many = [Series("1|w", 1, _agent("w", "world"), np.arange(GL_POINTS + 1.0), np.ones(GL_POINTS + 1))]
    assert (
        stat_figure("s", many, x="step", smoothing=0, log=False, runs=[1], gl=True)["data"][0]["type"]
        == "scattergl"
    )


def test_search_filters_stats_then_agents(store):
    view = Source(store).load([1])
    groups, _, _ = stat_panels(view, Spec([1], query="accur"))
    assert [p["stat"] for _, panels in groups for p in panels] == ["val_accuracy"]
    groups, _, _ = stat_panels(view, Spec([1], query="comfort"))  # an agent: all its stats
    assert {p["stat"] for _, panels in groups for p in panels} == {"allocation"}
    _, _, note = stat_panels(view, Spec([1], query="nothing-like-this"))
    assert "no stat or agent matches" in note


def test_extend_sends_only_new_points(store, mini):
    epoch_points = mini.epoch_points
    source = Source(store)
    spec = Spec([1], smoothing=0.5)
    view = source.load([1])
    _, live, _ = stat_panels(view, spec)
    store.add_points(1, epoch_points(EPOCHS + 1))
    delta = source.since([1], view.last_point, view.last_transition, len(view.badges))
    assert len(delta.tidy) == 7 and not delta.unknown
    extensions, after, full = extend(delta.agents, spec, delta.tidy, live)
    assert not full
    acc = live["figs"]["val_accuracy"]
    data, traces = extensions[acc["idx"]]
    assert traces == [0, 1] and data["x"] == [[6.0], [6.0]] and data["y"][0] == [pytest.approx(0.8)]
    assert 0.3 < data["y"][1][0] < 0.8  # the smoothed trace continues its moving average
    assert after["seq"][f"{acc['idx']}|1|world"] == EPOCHS + 1
    store.add_points(1, [Point("peer-s", "tendency", "survival")])  # a constant written again: nothing to do
    again = source.since([1], delta.last_point, delta.last_transition, len(view.badges))
    assert extend(again.agents, spec, again.tidy, after) == ({}, after, False)
    store.add_points(1, [epoch_points(7)[0]._replace(stat="brand_new")])
    later = source.since([1], delta.last_point, delta.last_transition, len(view.badges))
    assert extend(later.agents, spec, later.tidy, after)[2] is True  # a new stat: draw the page again
