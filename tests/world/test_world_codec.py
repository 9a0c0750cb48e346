import json

import pytest

from wmverse.debate import Claim, Observation, ObservationStore, Stake, StakeSide, Tendency
from worlds.training.src import codec


def test_claims_and_stakes_round_trip_through_json():
    claims = [Claim("c1", Tendency.COMFORT, "comfort explains naps", ("o1", "o2"), ("nap", "sofa"), 0.25)]
    stakes = [
        Stake("o1", "c1", StakeSide.PRO, 0.5, Tendency.COMFORT),
        Stake("o2", "c1", StakeSide.CON, 0.125, Tendency.STATUS),
    ]
    wire = json.loads(json.dumps(codec.encode({"claims": claims, "stakes": stakes})))
    back = codec.decode(wire)
    assert back["claims"] == claims and back["stakes"] == stakes
    assert isinstance(back["claims"][0].support_ids, tuple)
    assert codec.loads(codec.dumps(claims)) == claims
    assert codec.dumps(claims) == codec.dumps(list(claims))  # stable bytes


def test_only_debate_classes_can_be_rebuilt():
    with pytest.raises(ValueError, match="unknown class 'Popen'"):
        codec.decode({"__dataclass__": "Popen", "fields": {}})
    with pytest.raises(ValueError, match="unknown enum"):
        codec.decode({"__enum__": "Signals", "value": 9})
    with pytest.raises(TypeError, match="cannot encode object"):
        codec.encode(object())


def test_observation_payload_carries_no_metadata_or_labels():
    store = ObservationStore(
        [Observation("o1", "I fixed the roof", "diary", "2024-01-01", None, {"tendency": "survival"})]
    )
    payload = codec.observations_payload(store)
    assert payload == [{"id": "o1", "content": "I fixed the roof", "source_id": "diary"}]
    back = codec.observations_from_payload(payload)
    assert back.ids == ["o1"] and back["o1"].metadata == {}


def test_badge_suggestions_are_checked_before_any_is_sent():
    import asyncio

    sent = []

    class Agent:
        def get_peer_ids(self):
            return "public", "own"

        async def suggest_badges_to_world(self, **kw):
            sent.append(kw)

    good = [{"badge_type": "pro", "score": 0.5, "badge_description": "won"}]
    assert asyncio.run(codec.suggest_badges(Agent(), good)) == 1
    assert sent == [{"agent": ["own"], "score": 0.5, "badge_type": "pro", "badge_description": "won"}]
    for bad in (
        [{"badge_type": "pro"}],
        "pro",
        [good[0], {"badge_type": "pro", "score": True, "badge_description": "x"}],
    ):
        with pytest.raises(ValueError, match="badges must be"):
            asyncio.run(codec.suggest_badges(Agent(), bad))
    assert len(sent) == 1  # nothing sent for a malformed list


def test_a_learner_requests_simulated_duration_is_checked():
    assert "sim_s" not in codec.learner_request(
        0, {"seed": 1}, {"phase": 1}
    )  # 0: the report at the next tick
    assert codec.learner_request(2, {}, {"n": 5}, sim_s=9) == {"step": 2, "config": {}, "n": 5, "sim_s": 9.0}
    assert codec.request_sim_s(0) == 0.0 and codec.request_sim_s(9.5) == 9.5
    assert codec.request_sim_s(codec.MAX_REQUEST_SIM_S) == codec.MAX_REQUEST_SIM_S
    for bad in (-1, float("nan"), float("inf"), codec.MAX_REQUEST_SIM_S + 1, "9", None, True, [1]):
        assert codec.request_sim_s(bad) is None, bad
