"""The tendency role's behaviour file shipped with the world (written by WWorld.create_behav_files)."""

import json

from world_test_helpers import WORLD


def test_tendency_role_goes_idle_proposing_staking_awaiting_resolution():
    hsm = json.loads((WORLD / "src" / "tendency.json").read_text("utf-8"))
    assert hsm["machine"]["role"] == "tendency" and hsm["machine"]["initial_state"] == "idle"
    assert list(hsm["states"]) == ["idle", "proposing", "staking", "awaiting_resolution"]
    edges = {(src, t["on"]["action"], t["goto"]) for src, ts in hsm["transitions"].items() for t in ts}
    assert {
        ("idle", "propose", "proposing"),
        ("proposing", "stake", "staking"),
        ("staking", "nop", "awaiting_resolution"),
        ("awaiting_resolution", "resolution", "idle"),
    } <= edges
    # the world's requests are served, never fired on their own: request-driven actions start not ready
    ready = {t["on"]["action"]: t["on"]["ready"] for ts in hsm["transitions"].values() for t in ts}
    assert ready["propose"] is ready["stake"] is ready["resolution"] is False and ready["nop"] is True
    # unaiverse reads every *.json next to world.py as a role: only the role file may live there
    assert sorted(p.name for p in (WORLD / "src").glob("*.json")) == ["tendency.json"]
