"""The learner panels of the dashboard, built from a stats view (no world run needed)."""

import pytest

from wmverse.dashboard import SidebarDash
from wmverse.dashboard.learners import LEARNER_ROWS, PANEL_TITLES, add_learner_panels

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


def test_learner_panels_land_in_their_columns_with_their_titles():
    dash = SidebarDash("t", rows=ROWS)
    add_learner_panels(dash, _view())
    titles = [a["text"] for a in dash.layout["annotations"]]
    for kind in ("leworld", "dynamics"):
        assert all(f"<b>{t}</b>" in titles for t in PANEL_TITLES[kind])
    assert "<b>canvas: learner not joined</b>" in titles  # a learner that did not join gets a note
    assert dash.panels[:3] == [f"left_{r}" for r in LEARNER_ROWS]
    names = {t.get("name") for t in dash.traces}
    assert {"slm_loss (phase 1)", "temperature (phase 2)", "episode return", "surprise"} <= names
    assert {"pole angle: real", "pole angle: imagined"} <= names
    table = next(t for t in dash.traces if t.get("type") == "table" and "MSE" in t["header"]["values"])
    assert table["cells"]["values"][0] == ["memory_free", "leworld"]


def test_grid_rows_are_configurable_and_validated():
    dash = SidebarDash("t", rows=ROWS)
    assert len(dash.positions) == 18 and "right_learn3" in dash.positions
    default = SidebarDash("t")
    assert len(default.positions) == 9
    with pytest.raises(ValueError, match="rows must be unique"):
        SidebarDash("t", rows=("a", "a"))
