"""The world side of the learner protocol (``LearnerHost``) driven without the runtime: requests, reports,
stats, badges, errors and re-sends."""

import asyncio
import types

import pytest

from worlds.training.src import codec, learner_host
from worlds.training.src.learner_host import RESEND_LEARNER_AFTER_S, LearnerHost

ENV = {"WMVERSE_SEED": "2", "WMVERSE_LEWORLD_EPOCHS": "1,1,1"}


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def get_time(self):
        return self.now


class FakeWorld(LearnerHost):
    """Just what LearnerHost uses of the training world: _request (the relay's queue), _store,
    stats.get_last_value."""

    def __init__(self):
        self.sent, self.stored, self.states = [], [], {}
        self.stats = types.SimpleNamespace(
            get_last_value=lambda name, group_key=None: self.states.get(group_key)
        )
        self.init_learners(ENV)

    def _store(self, name, value, group_key=None):
        self.stored.append((name, value, group_key))

    async def _request(self, action_name, target, action_kwargs):
        self.sent.append((target, action_name, action_kwargs))
        return True


@pytest.fixture
def world(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(learner_host, "clock", clock)
    w = FakeWorld()
    w.clock = clock
    return w


def _report(world, pid, step, metrics, kind="leworld"):
    world.consume_learner_report(codec.learner_report_message(kind, step, "step", metrics), pid)


def _round(world):
    return asyncio.run(world.request_learner_steps())


def test_requests_follow_the_plan_and_reports_become_stats(world):
    world.register_learner("lw", "leworld")
    assert (
        world.learner_role(types.SimpleNamespace(get_static_profile=lambda: {"node_name": "LearnerLeWorld"}))
        == "leworld"
    )
    assert ("learner_kind", "leworld", "lw") in world.stored
    for k in range(3):
        assert _round(world)
        target, act, kwargs = world.sent[-1]
        assert (target, act, kwargs["step"], kwargs["phase"]) == ("lw", "run_phase", k, k + 1)
        assert kwargs["config"] == world.learner_specs["leworld"].config_payload()
        assert kwargs["sim_s"] == pytest.approx(
            learner_host.LEARNER_SPECS["leworld"].SIM_S_PER_EPOCH
        )  # 1 epoch
        sent = len(world.sent)
        assert (
            _round(world) and len(world.sent) == sent
        )  # nothing new while the step is pending (still waiting)
        assert not asyncio.run(world.learner_reports_in())
        _report(world, "lw", k, {"loss": 1.0 / (k + 1)})
        assert asyncio.run(world.learner_reports_in())
        assert asyncio.run(world.judge_learner_reports())
        assert world.stored[-1] == (
            "learner_step",
            {"step": k, "action": "run_phase", "label": f"phase {k + 1}", "metrics": {"loss": 1.0 / (k + 1)}},
            "lw",
        )
    _round(world)
    assert world.sent[-1][1] == "evaluate"
    evaluation = {"leworld": {"mse": 0.01}, "memory_free": {"mse": 0.02}}
    _report(world, "lw", 3, evaluation)
    asyncio.run(world.judge_learner_reports())
    assert ("learner_eval", evaluation, "lw") in world.stored
    assert not world.learners_done
    _round(world)  # the world tells the learner the badge it decided
    target, act, kwargs = world.sent[-1]
    assert act == "finish" and kwargs["badges"][0]["badge_type"] == "pro"
    assert kwargs["badges"][0]["score"] == pytest.approx(0.5)
    assert not world.learners_done  # waits for the suggestion and the agent's final state
    world.learner_badges.clear()  # (what WWorld.add_badge does when the suggestion arrives)
    world.states["lw"] = "finished"
    assert world.learners_done


def test_learner_errors_end_its_plan_without_a_badge(world, capsys):
    world.register_learner("dy", "dynamics")
    _round(world)
    _report(world, "dy", 0, {"error": "ValueError: boom"}, kind="dynamics")
    asyncio.run(world.judge_learner_reports())
    assert "dynamics learner failed" in capsys.readouterr().out
    assert ("learner_eval", {"error": "ValueError: boom"}, "dy") in world.stored
    _round(world)
    assert world.sent[-1][1:] == ("finish", {"badges": []})
    world.states["dy"] = "finished"
    assert world.learners_done


def test_stale_and_foreign_reports_and_resends(world):
    world.register_learner("cv", "canvas")
    _round(world)
    with pytest.raises(ValueError, match="not a joined leworld learner"):
        _report(world, "cv", 0, {"loss": 1.0}, kind="leworld")
    with pytest.raises(ValueError, match="not a joined canvas learner"):
        _report(world, "nobody", 0, {"loss": 1.0}, kind="canvas")
    _report(world, "cv", 5, {"loss": 1.0}, kind="canvas")  # a report for another step does not count
    assert not asyncio.run(world.learner_reports_in())
    world.clock.now += RESEND_LEARNER_AFTER_S + 1  # silent for too long: go round and ask again
    assert asyncio.run(world.learner_reports_in())
    asyncio.run(world.judge_learner_reports())
    assert not any(name == "learner_step" for name, _, _ in world.stored)
    _round(world)
    assert [(a, k["step"]) for _, a, k in world.sent] == [("run_curriculum_phase", 0)] * 2
    assert world.learners_done is False and world.learner_summary_lines()[0].startswith(
        "Canvas    stopped at step 0/7"  # phases 0, 1, phase 2 in 4 parts, evaluate
    )


def test_no_learner_means_nothing_to_wait_for(world):
    assert world.learners_done and not _round(world) and asyncio.run(world.learner_reports_in())


def test_learners_go_at_their_own_pace(world):
    """A learner that reported is judged and asked its next step while another is still at work on its first."""
    world.register_learner("lw", "leworld")
    world.register_learner("dy", "dynamics")
    _round(world)
    assert sorted((t, k["step"]) for t, _, k in world.sent) == [("dy", 0), ("lw", 0)]
    assert world.sent[0][2]["sim_s"] > world.sent[1][2]["sim_s"] > 0  # dynamics' 500 steps vs one epoch
    _report(world, "lw", 0, {"loss": 0.5})
    assert asyncio.run(world.learner_reports_in())  # dynamics has not reported: no round barrier
    asyncio.run(world.judge_learner_reports())
    assert _round(world)
    assert [(t, k["step"]) for t, _, k in world.sent[2:]] == [("lw", 1)]
    assert not asyncio.run(world.learner_reports_in())  # both at work now
