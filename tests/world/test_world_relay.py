"""The world's requests travel through its master agent (``src/relay.py``, ``src/master.py``): the outbox
format and its checks, the world's queue (publish, republish, acknowledge) and who may acknowledge."""

import asyncio
import json
import types

import pytest
from unaiverse.streams.streams import Stream

from worlds.training.src import relay
from worlds.training.src.relay import RelayedRequest, RequestRelay, outbox_text, read_outbox, read_relayed


def _profile(role):
    return types.SimpleNamespace(get_dynamic_profile=lambda: {"connections": {"role": role}})


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def get_time(self):
        return self.now


class World(RequestRelay):
    """What RequestRelay uses of the training world: add_stream and all_agents."""

    def __init__(self):
        self.all_agents = {"m": _profile("world_agent~master"), "t": _profile("world_agent~tendency")}
        self.init_relay()

    def add_stream(self, stream):
        return {"requests": stream}

    def sample(self):
        return self.requests_stream.get()  # the stream's current sample (None once cleared)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(relay, "clock", fake)
    return fake


def test_an_outbox_reads_back_what_was_written():
    reqs = [
        RelayedRequest(0, "peer-a", "propose", {"epoch": 1, "observations": [{"x": "y"}]}),
        RelayedRequest(7, "b", "finish", {}),
    ]
    assert read_outbox(outbox_text(reqs)) == reqs
    assert read_outbox(outbox_text([])) == []


@pytest.mark.parametrize(
    "sample, why",
    [
        (b"{}", "JSON text"),
        ("not json", "not JSON"),
        ("[]", "'requests' list"),
        ('{"requests": {}}', "'requests' list"),
        ('{"requests": [{"seq": 0, "target": "a", "action": "x"}]}', "exactly the keys"),
        (
            '{"requests": [{"seq": 0, "target": "a", "action": "x", "kwargs": {}, "extra": 1}]}',
            "exactly the keys",
        ),
        ('{"requests": [{"seq": -1, "target": "a", "action": "x", "kwargs": {}}]}', "seq"),
        ('{"requests": [{"seq": 1.0, "target": "a", "action": "x", "kwargs": {}}]}', "seq"),
        ('{"requests": [{"seq": true, "target": "a", "action": "x", "kwargs": {}}]}', "seq"),
        ('{"requests": [{"seq": 0, "target": "", "action": "x", "kwargs": {}}]}', "target"),
        ('{"requests": [{"seq": 0, "target": "' + "a" * 65 + '", "action": "x", "kwargs": {}}]}', "target"),
        ('{"requests": [{"seq": 0, "target": "a\\n", "action": "x", "kwargs": {}}]}', "target"),
        ('{"requests": [{"seq": 0, "target": "a", "action": 3, "kwargs": {}}]}', "action"),
        ('{"requests": [{"seq": 0, "target": "a", "action": "x", "kwargs": []}]}', "kwargs"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_a_malformed_outbox_is_refused_with_the_reason(sample, why):
    with pytest.raises(ValueError, match=why):
        read_outbox(sample)


def test_an_oversized_outbox_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(relay, "MAX_OUTBOX_CHARS", 100)
    with pytest.raises(ValueError, match="over 100"):
        read_outbox(outbox_text([RelayedRequest(0, "a", "x", {"pad": "z" * 200})]))


def test_relayed_reports_are_lists_of_sequence_numbers():
    assert read_relayed(relay.dumps_relayed({3, 1})) == [1, 3] and read_relayed([0]) == [0]
    for bad in ("{", "[1.5]", "[-1]", '{"a": 1}', "[true]", 5):
        with pytest.raises(ValueError):
            read_relayed(bad)


def test_the_world_publishes_queued_requests_until_its_master_reports_them(clock):
    world = World()
    assert world.sample() is None  # nothing pending, nothing published
    assert asyncio.run(world._request("propose", "t", {"epoch": 1})) is True
    assert asyncio.run(world._request("stake", "t", {"epoch": 1}))
    assert [(r.seq, r.action) for r in read_outbox(world.sample())] == [(0, "propose"), (1, "stake")]
    clock.now = relay.REPUBLISH_S / 2
    world.republish_requests()
    assert world._published_at == 0.0  # not due again yet
    clock.now = relay.REPUBLISH_S
    world.republish_requests()
    assert world._published_at == relay.REPUBLISH_S  # due again: a sample (or its report) may have been lost
    assert len(read_outbox(world.sample())) == 2
    world.consume_relayed(json.dumps([0]), "m")
    assert [r.seq for r in read_outbox(world.sample())] == [1]
    world.consume_relayed("[0, 1]", "m")  # a report repeated: nothing breaks
    assert world.outbox == {} and not world.requests_stream.has_data(None)  # cleared: nothing is sent


def test_requests_to_an_agent_that_left_are_dropped(clock):
    world = World()
    asyncio.run(world._request("propose", "t", {}))
    asyncio.run(world._request("finish", "m", {}))
    del world.all_agents["t"]  # the tendency left the world
    world.republish_requests()
    assert [r.target for r in read_outbox(world.sample())] == ["m"] and list(world.outbox) == [1]


def test_only_the_master_may_acknowledge_requests(clock):
    world = World()
    asyncio.run(world._request("propose", "t", {}))
    with pytest.raises(ValueError, match="not the world's master"):
        world.consume_relayed("[0]", "t")  # a tendency agent cannot make the world forget a request
    with pytest.raises(ValueError, match="not the world's master"):
        world.consume_relayed("[0]", "stranger")
    assert list(world.outbox) == [0]
    assert world.master_peers() == ["m"]


def test_the_world_owns_a_pubsub_text_stream_for_its_requests():
    world = World()
    assert isinstance(world.requests_stream, Stream)
    assert (
        world.requests_stream.is_pubsub() and world.requests_stream.props.get_name() == relay.REQUESTS_STREAM
    )
