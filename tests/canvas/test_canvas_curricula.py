import json
import sys

import pytest
import torch

from wmverse.canvas.cogvideox import BackboneUnavailableError
from wmverse.canvas.curriculum import CurriculumTrainer, bind_sources, default_curriculum, phase_groups
from wmverse.canvas.dag import (
    STANDARD_DAG,
    DAGCurriculumTrainer,
    DAGNode,
    fork_state,
    join_states,
    tiers,
    with_steps,
)
from wmverse.canvas.planner import DatasetProfile, PlannerError, build_curriculum
from wmverse.canvas.testing import FRED_LIKE, NEWS_LIKE, SMALL, YAHOO_LIKE, make_source

TINY_DAG = [
    DAGNode("macro", ("country_us.macro",), (), 3),
    DAGNode("markets", ("financial", "country_us.rates"), (), 3),
    DAGNode("news", ("news",), (), 3),
    DAGNode("macro_copy", ("country_us.macro",), ("macro",), 2),
    DAGNode("all", ("country_us", "financial", "news"), ("macro_copy", "markets", "news"), 2),
]


def sources():
    return [
        make_source("A", FRED_LIKE, seed=1),
        make_source("B", YAHOO_LIKE, seed=2),
        make_source("C", NEWS_LIKE, n=60, seed=3, freq="D"),
    ]


def test_standard_dag_has_4_tiers_6_3_2_1():
    t = tiers(list(STANDARD_DAG))
    assert [len(x) for x in t] == [6, 3, 2, 1]
    with pytest.raises(ValueError, match="cycle"):
        tiers([DAGNode("a", ("x",), ("b",)), DAGNode("b", ("x",), ("a",))])
    with pytest.raises(ValueError, match="unknown parent"):
        tiers([DAGNode("a", ("x",), ("zzz",))])


def test_fork_copies_and_join_averages_matching_parameters():
    a = {"w": torch.ones(2, 2), "b": torch.zeros(3), "n": torch.tensor(5)}
    b = {"w": torch.full((2, 2), 3.0), "b": torch.zeros(4), "n": torch.tensor(7)}
    f = fork_state(a)
    assert torch.equal(f["w"], a["w"]) and f["w"].data_ptr() != a["w"].data_ptr()
    f["w"] += 1
    assert a["w"].sum() == 4  # the branch is independent of its parent
    j = join_states([a, b])
    assert torch.equal(j["w"], torch.full((2, 2), 2.0))
    assert j["b"].shape == (3,)  # shape mismatch: first parent's
    assert int(j["n"]) == 5  # integer buffers are not averaged


def test_dag_fork_join_semantics_and_parallel_equals_serial():
    srcs = sources()
    kw = dict(model_config=SMALL, batch_size=8, window=4, seed=0)
    serial = DAGCurriculumTrainer(TINY_DAG, srcs, executor="serial", **kw)
    assert serial.tier_names == [["macro", "markets", "news"], ["macro_copy"], ["all"]]
    with pytest.raises(RuntimeError, match="parents"):
        serial.run_node("macro_copy")
    m = serial.run_node("macro")
    assert m["start/root"] == 1.0 and m["loss"] > 0
    fork = serial.start_state("macro_copy")
    assert all(torch.equal(fork[k], serial.result.states["macro"][k]) for k in fork)
    serial.run_node("markets")
    serial.run_node("news")
    serial.run_node("macro_copy")
    parents = [serial.result.states[p] for p in ("macro_copy", "markets", "news")]
    joined = serial.start_state("all")
    k = "backbone.blocks.0.mlp.0.weight"
    assert torch.allclose(joined[k], torch.stack([p[k] for p in parents]).mean(0))
    serial.run_node("all")
    parallel = DAGCurriculumTrainer(TINY_DAG, srcs, executor="process", max_workers=2, **kw)
    parallel.run()
    for name in ("macro", "markets", "all"):
        a, b = serial.result.states[name], parallel.result.states[name]
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert parallel.result.metrics["all"]["loss"] == serial.result.metrics["all"]["loss"]


def test_dag_skips_nodes_without_data_and_ray_error(monkeypatch):
    srcs = sources()[:1]
    dag = DAGCurriculumTrainer(
        with_steps(STANDARD_DAG, 2), srcs, model_config=SMALL, batch_size=4, window=4, executor="serial"
    )
    out = dag.run_tier(0)
    assert out["rates"]["skipped"] == 1.0 and "skipped" not in out["real_economy"]
    monkeypatch.setitem(sys.modules, "ray", None)
    ray_dag = DAGCurriculumTrainer(
        TINY_DAG[:2], sources(), model_config=SMALL, batch_size=4, window=4, ray_address="ray://nowhere:10001"
    )
    with pytest.raises(RuntimeError, match=r"pip install 'wmverse\[ray\]'"):
        ray_dag.run_tier(0)


def test_cogvideox_backbone_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "diffusers" else real(n, *a))
    with pytest.raises(BackboneUnavailableError, match="diffusers"):
        DAGCurriculumTrainer(TINY_DAG, sources(), model_config=SMALL, backbone="cogvideox")


def test_sequential_curriculum_three_phases_stepwise():
    srcs = sources()
    bound = bind_sources(srcs)
    cfg = default_curriculum(bound, (4, 4, 4), model=SMALL, batch_size=8, window=4, seed=0)
    assert [p.name for p in cfg.phases] == ["independent", "coupling", "integration"]
    assert len(phase_groups(cfg.phases[0], bound)) == 4 and len(phase_groups(cfg.phases[2], bound)) == 1
    tr = CurriculumTrainer(cfg, srcs)
    m0 = tr.run_phase()
    assert m0["phase"] == 0 and {"loss/country_us.macro", "loss/news.flow"} <= set(m0)
    rest = tr.run()
    assert [m["phase"] for m in rest] == [1, 2]
    again = CurriculumTrainer(cfg, srcs)
    assert [again.run_phase(i)["loss"] for i in range(3)] == [m0["loss"]] + [m["loss"] for m in rest]
    with pytest.raises(IndexError):
        tr.run_phase(3)


def test_build_curriculum_rules_and_llm(monkeypatch):
    profiles = [DatasetProfile("FRED", FRED_LIKE), DatasetProfile("News", NEWS_LIKE)]
    seq = build_curriculum("macro", profiles)
    assert len(seq.phases) == 3 and seq.phases[0].independent
    dag = build_curriculum("macro", profiles, kind="dag", steps=(5, 5, 5))
    assert [len(t) for t in tiers(dag)] == [2, 1]
    monkeypatch.delenv("WMVERSE_LLM_ENDPOINT", raising=False)
    with pytest.raises(PlannerError, match="OpenAI-compatible endpoint"):
        build_curriculum("macro", profiles, planner="llm")

    class Resp:
        def __init__(self, text):
            self.text = text

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self):
            return json.dumps({"choices": [{"message": {"content": self.text}}]}).encode()

    plan = {
        "phases": [
            {"name": "p1", "groups": [["country_us.macro"], ["news.flow"]], "n_steps": 7},
            {"name": "p2", "groups": [["country_us.macro", "news.flow"]], "n_steps": 9},
        ]
    }
    seen = {}

    def fake_urlopen(req, timeout):
        seen["url"] = req.full_url
        return Resp("Here you go: " + json.dumps(plan))

    monkeypatch.setattr("wmverse.canvas.planner.urllib.request.urlopen", fake_urlopen)
    cfg = build_curriculum("macro", profiles, planner="llm", endpoint="http://llm:8000/v1")
    assert seen["url"] == "http://llm:8000/v1/chat/completions"
    assert [p.n_steps for p in cfg.phases] == [7, 9] and cfg.phases[0].groups == [
        ["country_us.macro"],
        ["news.flow"],
    ]
    plan["phases"][0]["groups"] = [["made.up.layer"]]
    with pytest.raises(PlannerError, match="unknown fields"):
        build_curriculum("macro", profiles, planner="llm", endpoint="http://llm:8000/v1")


def test_a_phase_run_in_parts_trains_exactly_as_in_one_go():
    """Phase 0 (4 groups cycled) in parts of 3 steps, with a checkpoint of the curriculum between two parts
    restored into a fresh trainer: the same weights, optimiser, metrics and history as one run of 7 steps."""
    srcs = sources()
    bound = bind_sources(srcs)
    cfg = default_curriculum(bound, (7, 2, 2), model=SMALL, batch_size=8, window=4, seed=0)
    whole = CurriculumTrainer(cfg, srcs)
    m_whole = whole.run_phase(0)

    parts = CurriculumTrainer(cfg, srcs)
    first = parts.run_phase(0, steps=3)
    assert (parts.next_phase, parts.phase_step, parts.history) == (0, 3, [])
    with pytest.raises(ValueError, match="phase 0 is part-way"):
        parts.run_phase(1)
    resumed = CurriculumTrainer(cfg, srcs)
    resumed.load_state_dict(parts.state_dict())
    resumed.run_phase(0, steps=3)
    m_parts = resumed.run_phase(0, steps=3)  # only 1 step is left
    assert (resumed.next_phase, resumed.phase_step) == (1, 0)
    assert first["loss"] != m_parts["loss"]  # a part reports the phase so far
    assert m_parts == m_whole and resumed.history == whole.history
    got, want = resumed.trainer.state_dict(), whole.trainer.state_dict()
    for name, tensor in want["model"].items():
        assert torch.equal(got["model"][name], tensor), name
    assert torch.equal(got["generator"], want["generator"])
    assert [m["loss"] for m in (resumed.run_phase(1), resumed.run_phase(2))] == [
        m["loss"] for m in (whole.run_phase(1), whole.run_phase(2))
    ]
    with pytest.raises(ValueError, match="steps must be >= 1"):
        resumed.run_phase(2, steps=0)
