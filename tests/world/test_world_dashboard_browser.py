"""The training world's dashboard in a real headless Chromium, measured from the rendered DOM.

Pages come from the world's own ``WStats.build_dashboard`` (``worlds/training/src/stats.py``) fed with
synthetic stats views, so no world run is needed: a full run (debate + three learners) and an early run
(nothing measured yet, only LeWorld joined). Checks are geometric: every legend inside its own panel box and
clear of the plot area, ticks and axis titles; every title whole; value axes titled; one grid colour and one
font everywhere; "no data yet" where there is nothing to draw.
"""

import pytest

from wmverse.dashboard import render_offline_html
from wmverse.debate import Tendency
from worlds.training.src.panels import LEARNER_ROWS, PANEL_TITLES

TENDENCIES = sorted(t.value for t in Tendency)
WORLD_ID = "world0000000000000000wtrain"


@pytest.fixture(scope="module")
def wstats():
    from worlds.training.src.stats import WStats

    return WStats(is_world=False)


def _learners(joined):
    steps = {
        "leworld": [
            {"step": 0, "action": "run_phase", "metrics": {"phase": 1, "epochs": [{"slm_loss": 2.0 - i / 10, "blm_loss": 0.5 - i / 50} for i in range(5)]}},
            {"step": 1, "action": "run_phase", "metrics": {"phase": 2, "epochs": [{"total_loss": 0.4 - i / 40, "temperature": 0.9 - i / 20} for i in range(5)]}},
        ],
        "canvas": [
            {"step": i, "action": "train_phase", "metrics": {"phase": i, "name": n, "group_losses": {"country_us.macro": 1.0 - i / 5, "country_us.rates": 0.9 - i / 6}, "heldout": {"rmse": 1.1 - i / 10}}}
            for i, n in enumerate(("independent", "coupling", "integration"))
        ],
        "dynamics": [
            {"step": i, "action": "run_env_steps", "metrics": {
                "total_env_steps": 100 * (i + 1), "buffer_size": 100 * (i + 1), "surprise": 0.05 / (i + 1), "train_loss": 0.1 / (i + 1),
                "episodes": [{"env_steps": 100 * i + 50, "return": 20.0 + 60 * i}],
                "imagined": [[0.01 * k, 0.0, 0.02 * k + 0.001, 0.0] for k in range(20)],
                "real": [[0.011 * k, 0.0, 0.021 * k, 0.0] for k in range(20)],
            }}
            for i in range(4)
        ],
    }  # fmt: skip
    evals = {
        "leworld": {
            m: {"mse": v, "mae": 0.1, "step_mses": [v, 2 * v, 3 * v], "routing_entropy": 0.5, "slm_usage": [0.5, 0.3, 0.2]}
            for m, v in (("memory_free", 0.04), ("leworld", 0.03))
        },
        "canvas": {
            "n_test": 8,
            "rmse": {m: {"infl": 1.0 + k / 5, "unemp": 0.3 + k / 10} for k, m in enumerate(("random walk", "AR(1)", "canvas"))},
            "series": {s: {"truth": [float(i % 3) for i in range(8)], "canvas": [0.9 * (i % 3) for i in range(8)]} for s in ("infl", "unemp")},
        },
        "dynamics": {"mean_return": 210.0, "solved_return": 475.0},
    }  # fmt: skip
    return {
        f"learner{kind}0000000000000": {
            "learner_kind": kind,
            "learner_step": [[1000 + 10 * i, s] for i, s in enumerate(steps[kind])],
            "learner_eval": evals[kind] if len(joined) == 3 else {},
            "state": "finished",
        }
        for kind in joined
    }


def _view(epochs, joined):
    peers = {
        f"tendency{t:0>20}": {
            "tendency": t,
            "state": "idle",
            **(
                {"allocation": [[1000 * e, 1 / 7 + (k - 3) * e / 400] for e in range(1, epochs + 1)]}
                if epochs
                else {}
            ),
        }
        for k, t in enumerate(TENDENCIES)
    }
    peers.update(_learners(joined))
    world = {"validation_metric": "accuracy", "badges": []}
    if epochs:
        ts = [1000 * e for e in range(1, epochs + 1)]
        world.update(
            epoch=[[t, e] for e, t in enumerate(ts, 1)],
            val_accuracy=[[t, 0.3 + e / 100] for e, t in enumerate(ts, 1)],
            p_value=[[t, 10.0 ** -e] for e, t in enumerate(ts, 1)],
            winner=[[t, TENDENCIES[e % 3]] for e, t in enumerate(ts, 1)],
            allocation_delta=[[t, 0.2 / e] for e, t in enumerate(ts, 1)],
            learning_rate=[[t, 0.1 * 0.9**e] for e, t in enumerate(ts, 1)],
            graph={
                "nodes": {WORLD_ID: {"Name": "WTraining"}, **{p: {"Name": p[8:]} for p in peers}},
                "edges": {WORLD_ID: sorted(peers)},
            },
            badges=[{"tendency": t, "badge_type": "completed", "score": 0.26, "reason": "converged"} for t in TENDENCIES],
        )  # fmt: skip
    return {"world": world, "peers": peers}


@pytest.fixture(scope="module")
def pages(wstats, tmp_path_factory):
    out = tmp_path_factory.mktemp("dashboard_pages")
    paths = {}
    for name, view in (
        ("full", _view(24, ("leworld", "canvas", "dynamics"))),
        ("early", _view(0, ("leworld",))),
    ):
        dash = wstats.build_dashboard(view)
        path = out / f"{name}.html"
        path.write_text(render_offline_html(dash.to_dict(), n_panels=len(dash.panels)), encoding="utf-8")
        paths[name] = (path, dash)
    return paths


def _inside(inner, outer, tol=0.5):
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol
        and inner[3] <= outer[3] + tol
    )


def _overlap(a, b, tol=0.5):
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def _check_geometry(panels):
    """Every drawn element stays in its own panel box; legends never cover data, ticks or axis titles."""
    for p in panels:
        where = f"{p['position']} ({p['title']})"
        assert p["title"] and p["title_box"] and _inside(p["title_box"], p["panel"]), where
        for b in [p["plot_area"], p["legend"], *p["axis_title_boxes"], *p["tick_boxes"]]:
            assert b is None or _inside(b, p["panel"]), where
        if p["legend"]:
            for b in [p["plot_area"], p["title_box"], *p["axis_title_boxes"], *p["tick_boxes"]]:
                assert b is None or not _overlap(p["legend"], b), where
    boxes = [p["panel"] for p in panels]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


@pytest.mark.browser
def test_full_dashboard_has_per_panel_legends_and_one_template(pages, chromium):
    from wmverse.dashboard.browser import measure_panels

    path, dash = pages["full"]
    panels = measure_panels(path, width=1600, height=1200)
    assert [p["position"] for p in panels] == dash.panels and len(panels) == 18
    _check_geometry(panels)
    by_pos = {p["position"]: p for p in panels}
    assert by_pos["center_top"]["legend_entries"] == TENDENCIES  # the allocation lines are named in place
    rollout = by_pos["right_learn3"]
    assert rollout["legend_entries"] == [
        "pole angle: real",
        "pole angle: imagined",
        "cart position: real",
        "cart position: imagined",
    ]
    assert rollout["y_titles"] == ["pole angle (rad)", "cart position (m)"]
    for kind, column in (("leworld", "left"), ("canvas", "center"), ("dynamics", "right")):
        assert [by_pos[f"{column}_{r}"]["title"] for r in LEARNER_ROWS] == list(PANEL_TITLES[kind])
    for p in panels:
        if p["tick_boxes"] and p["position"] != "left_top":  # value axes drawn (the graph has none)
            assert p["y_titles"], p["title"]
            numeric_x = p["x_titles"] or p["position"] in ("right_top", "right_mid")  # categories: names
            assert numeric_x, p["title"]
    assert len({c for p in panels for c in p["grid_colors"]}) == 1  # one grid style for every panel
    assert len({f for p in panels for f in p["fonts"]}) == 1  # one font for every text
    assert not any(p["empty"] or p["annotations"] for p in panels)


@pytest.mark.browser
def test_full_dashboard_reflows_for_a_narrow_sidebar(pages, chromium):
    from wmverse.dashboard.browser import measure_panels

    panels = measure_panels(pages["full"][0], width=860, height=1200)
    _check_geometry(panels)
    lefts = {round(p["panel"][0]) for p in panels}
    assert len(lefts) == 1  # one column
    assert all(p["panel"][2] - p["panel"][0] > 700 for p in panels)


@pytest.mark.browser
def test_early_dashboard_says_no_data_yet_where_nothing_was_measured(pages, chromium):
    from wmverse.dashboard.browser import measure_panels

    path, _ = pages["early"]
    panels = measure_panels(path, width=1600, height=1200)
    _check_geometry(panels)
    by_pos = {p["position"]: p for p in panels}
    for pos in ("left_top", "center_top", "center_mid", "center_bot", "right_top", "right_bot"):
        assert by_pos[pos]["empty"] and by_pos[pos]["annotations"] == ["no data yet"], pos
    for column, kind in (("center", "canvas"), ("right", "dynamics")):  # these learners did not join
        for row in LEARNER_ROWS:
            p = by_pos[f"{column}_{row}"]
            assert p["empty"] and p["annotations"] == [
                f"no data yet\nthe {kind} learner did not join this run"
            ]
            assert p["tick_boxes"] == [] and p["legend"] is None and p["traces"] == 0
    assert by_pos["left_learn2"]["annotations"] == ["no data yet\nheld-out evaluation not run yet"]
    assert not by_pos["left_learn1"]["empty"] and by_pos["left_learn1"]["legend"] is not None
