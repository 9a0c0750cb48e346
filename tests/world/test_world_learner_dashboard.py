"""The learner panels of the dashboard, built from a stats view (no world run needed)."""

import pytest

from wmverse.dashboard import SidebarDash
from worlds.training.src.panels import LEARNER_ROWS, PANEL_TITLES, add_learner_panels

ROWS = ("top", "mid", "bot", *LEARNER_ROWS)


def _view():
    lw_steps = [
        {
            "step": 0,
            "action": "run_phase",
            "metrics": {"phase": 1, "epochs": [{"slm_loss": 2.0, "blm_loss": 0.5}]},
        },
        {
            "step": 1,
            "action": "run_phase",
            "metrics": {"phase": 2, "epochs": [{"total_loss": 0.4, "temperature": 0.9}]},
        },
    ]
    lw_eval = {
        m: {"mse": v, "mae": 0.1, "step_mses": [v, 2 * v], "routing_entropy": 0.5, "slm_usage": [0.5, 0.5]}
        for m, v in (("leworld", 0.03), ("memory_free", 0.04))
    }
    dy_steps = [
        {
            "step": 0,
            "action": "run_env_steps",
            "metrics": {
                "total_env_steps": 50,
                "buffer_size": 50,
                "surprise": 0.01,
                "train_loss": 0.1,
                "episodes": [{"env_steps": 20, "return": 20.0}],
                "imagined": [[0.0, 0.0, 0.01, 0.0], [0.0, 0.0, 0.02, 0.0]],
                "real": [[0.0, 0.0, 0.011, 0.0], [0.0, 0.0, 0.025, 0.0]],
            },
        }
    ]
    return {
        "leworld": {
            "learner_kind": "leworld",
            "learner_step": [[1, s] for s in lw_steps],
            "learner_eval": lw_eval,
        },
        "dynamics": {"learner_kind": "dynamics", "learner_step": [[1, s] for s in dy_steps]},
    }


def _titles(dash):
    return {p["position"]: p["title"] for p in dash.to_dict()["panels"]}


def test_learner_panels_land_in_their_columns_with_their_titles():
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, _view())
    titles = _titles(dash)
    for kind, column in (("leworld", "left"), ("canvas", "center"), ("dynamics", "right")):
        assert [titles[f"{column}_{r}"] for r in LEARNER_ROWS] == list(PANEL_TITLES[kind])
    assert dash.panels[:3] == [f"left_{r}" for r in LEARNER_ROWS]
    names = {t.get("name") for t in dash.traces}
    assert {"slm_loss (phase 1)", "temperature (phase 2)", "episode return", "surprise"} <= names
    assert {"pole angle: real", "pole angle: imagined"} <= names
    table = next(t for t in dash.traces if t.get("type") == "table" and "MSE" in t["header"]["values"])
    assert table["cells"]["values"][0] == ["memory_free", "leworld"]


def test_a_learner_that_did_not_join_keeps_its_titled_cells_saying_no_data_yet():
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, _view())  # canvas did not join
    panels = {p["position"]: p for p in dash.to_dict()["panels"]}
    for row in LEARNER_ROWS:
        p = panels[f"center_{row}"]
        assert p["empty"] and p["data"] == [] and p["layout"]["showlegend"] is False
        (note,) = [a["text"] for a in p["layout"]["annotations"] if a.get("name") == "empty-state"]
        assert note.startswith("no data yet") and "canvas learner did not join" in note
    # LeWorld joined but its evaluation has not run: those panels say so, the training panel draws
    view = _view()
    del view["leworld"]["learner_eval"]
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, view)
    panels = {p["position"]: p for p in dash.to_dict()["panels"]}
    assert not panels["left_learn1"]["empty"]
    assert panels["left_learn2"]["empty"] and panels["left_learn3"]["empty"]
    assert "evaluation not run yet" in panels["left_learn2"]["layout"]["annotations"][-1]["text"]


def test_rollout_panel_draws_real_and_imagined_of_one_variable_alike_but_for_the_line_style():
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, _view())
    fig = dash.figure("right_learn3")
    by_name = {t["name"]: t for t in fig["data"]}
    for var, axis in (("pole angle", None), ("cart position", "y2")):
        real, imag = by_name[f"{var}: real"], by_name[f"{var}: imagined"]
        assert real["line"]["color"] == imag["line"]["color"]  # same variable, same colour
        assert real["line"].get("dash") is None and imag["line"]["dash"] == "dash"  # distinct styles
        assert real.get("yaxis") == imag.get("yaxis") == axis  # same axes
    assert by_name["pole angle: real"]["y"] == [0.011, 0.025]
    assert by_name["pole angle: imagined"]["y"] == [0.01, 0.02]
    lay = fig["layout"]
    assert lay["yaxis"]["title"]["text"] == "pole angle (rad)"
    assert lay["yaxis2"]["title"]["text"] == "cart position (m)" and lay["yaxis2"]["overlaying"] == "y"


def test_every_drawn_learner_panel_has_axis_titles_and_the_same_grid():
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, _view())
    grids = set()
    for p in dash.to_dict()["panels"]:
        lay = p["layout"]
        if p["empty"] or any(t.get("type") == "table" for t in p["data"]):
            continue
        assert lay["xaxis"]["title"]["text"] and lay["yaxis"]["title"]["text"], p["title"]
        grids.add((lay["xaxis"]["gridcolor"], lay["yaxis"]["gridcolor"], lay["xaxis"]["griddash"]))
    assert len(grids) == 1


def test_same_view_same_panels():
    def build():
        dash = SidebarDash("t", rows=ROWS)
        add_learner_panels(dash, _view())
        return dash.to_json()

    assert build() == build()


def test_grid_rows_are_configurable_and_validated():
    dash = SidebarDash("t", rows=ROWS)
    assert len(dash.positions) == 18 and "right_learn3" in dash.positions
    default = SidebarDash("t")
    assert len(default.positions) == 9
    with pytest.raises(ValueError, match="rows must be unique"):
        SidebarDash("t", rows=("a", "a"))
    with pytest.raises(ValueError, match="unknown dashboard cell 'left_learn1'"):
        add_learner_panels(default, _view())  # the learner rows must be on the grid
