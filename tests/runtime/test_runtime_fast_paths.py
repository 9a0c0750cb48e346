"""The runtime's fast paths behave exactly as the unaiverse functions they replace.

Each replacement in ``wmverse.runtime.fast_paths`` runs on real unaiverse objects (agents, interaction
managers with interactions registered as unaiverse registers them, streams) next to the original on an identical copy of the scenario: the calls to ``complete`` (in order),
the callbacks, the final state of every interaction, manager and stream must be the same. A run of the tiny
world and of the benchmark world with a departing worker must give the same transitions, stats and
message counts with and without the fast paths.
"""

import asyncio
import importlib.util
import math
from pathlib import Path

import pytest
from unaiverse.agent import Agent
from unaiverse.custom import Custom
from unaiverse.interaction import Interaction, InteractionManager, InteractionStatus
from unaiverse.streams.streams import Stream

from wmverse.runtime import RuntimeConfig, fast_paths, recorder, run_world
from wmverse.runtime.clock import SyntheticClock, patched_time
from wmverse.store import Transition

ALL = list(fast_paths.PATCHES)
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "runtime.py"


class Peer(Agent):
    """A real agent whose completion callback records the order and can change the world mid-loop."""

    on_done_hook = None

    async def on_done(self, interaction):
        self.done_log.append(interaction.uuid)
        if self.on_done_hook is not None:
            self.on_done_hook(self, interaction)


class RecordingManager(InteractionManager):
    """unaiverse's manager, recording every ``complete`` call (is_sent/is_received stay unaiverse's)."""

    async def complete(self, interaction, reason, dest_state=None, target=None):
        self.agent.complete_log.append((interaction.uuid, reason.value, target))
        await super().complete(interaction, reason, dest_state=dest_state, target=target)


class OwnExpiry(Interaction):
    """An Interaction subclass with its own ``is_expired``: the fast path must call it."""

    calls = 0

    def is_expired(self, timeout_secs=None):
        OwnExpiry.calls += 1
        return self.action_name == "expire-me"


def _agent(clock, manager_cls=RecordingManager) -> Peer:
    agent = Peer(proc=None)
    agent.done_log, agent.complete_log = [], []
    agent.im = manager_cls(agent)
    agent.all_agents.update(dict.fromkeys(["p1", "p2", "p3", *GONE]))  # GONE leave after registering
    return agent


GONE = ("gone", "gone1", "gone2")


def _leave(agent, *names) -> None:
    for name in names:
        del agent.all_agents[name]


def _sent(agent, name, targets, **kw):
    inter = Interaction(action_name=kw.pop("action", "pong"), requester="me", target=targets, id=name, **kw)
    assert agent.im.register_sent(inter, public=False)
    return inter


def _received(agent, name, requester, cls=Interaction, **kw):
    inter = cls(action_name=kw.pop("action", "pong"), requester=requester, target=["me"], id=name, **kw)
    assert agent.im.register_received(inter, public=False)
    return inter


def _lazy(agent, name, **kw):
    inter = Interaction(action_name="tick", requester=Custom.SYSTEM_INTERACTION_LABEL, id=name, **kw)
    assert agent.im.register_lazy(inter, public=False)
    return inter


def _scenario(clock: SyntheticClock, agent: Peer) -> None:
    """Every branch of complete_expired: pending, expired (default/own timeout), no action, volatile,
    disconnected requester and targets, already completed, lazy; registered at t0, checked 10 s later."""
    _sent(agent, "pending", ["p1"], callback="on_done")
    _sent(agent, "two-targets-one-gone", ["p1", "gone1"], callback="on_done")
    _sent(agent, "all-gone", ["gone1", "gone2"], callback="on_done")
    _sent(agent, "own-timeout-5", ["p1"], timeout=5.0, callback="on_done")
    _sent(agent, "own-timeout-20", ["p1"], timeout=20.0, callback="on_done")
    _sent(agent, "own-timeout-10", ["p1"], timeout=10.0)  # exactly 10 s old: expired (>=)
    _sent(agent, "own-timeout-900", ["p2"], timeout=900.0)
    _sent(agent, "volatile", ["p2"], volatile=True)
    no_action = _sent(agent, "no-action", ["p1"], callback="on_done")
    no_action.action_name = None
    done = _sent(agent, "already-done", ["gone1"])
    done.status = InteractionStatus.COMPLETED
    _received(agent, "from-p1", "p1", callback="on_done")
    _received(agent, "from-p2-volatile", "p2", volatile=True)
    _received(agent, "from-p3", "p3", callback="on_done")
    _received(agent, "from-p3-short", "p3", timeout=5.0)
    _lazy(agent, "lazy-short", timeout=5.0)
    _lazy(agent, "lazy-long", timeout=50.0)
    _leave(agent, *GONE, "p3")  # p3 leaves: its requests are now from a disconnected requester
    clock.advance(10.0)


def _state(agent: Peer) -> dict:
    im = agent.im
    inters = {i.uuid: i for i in [*im.sent.values(), *im.received.values(), *im.lazy.values()]}
    for done in (im.sent_recently_completed, im.received_recently_completed, im.lazy_recently_completed):
        inters.update({i.uuid: i for i in done})
    return {
        "complete_calls": agent.complete_log,
        "callbacks": agent.done_log,
        "dicts": [sorted(d) for d in (im.sent, im.received, im.lazy)],
        "recent": [
            sorted(i.uuid for i in done)
            for done in (
                im.sent_recently_completed,
                im.received_recently_completed,
                im.lazy_recently_completed,
            )
        ],
        "inters": {
            u: (
                i.status,
                i.completion_reason,
                i.timestamp_completed,
                list(i.target),
                list(i.target_completion_reason),
                list(i.target_timestamp_completed),
            )
            for u, i in sorted(inters.items())
        },
    }


def _both(build, act, names=ALL, manager_cls=RecordingManager, clock_cls=SyntheticClock):
    """Runs build + act with unaiverse's code and with the fast paths; returns both states."""
    states, default = [], Custom.DEFAULT_INTER_TIMEOUT
    for chosen in ([], names):
        Custom.DEFAULT_INTER_TIMEOUT = default  # a callback may change it
        with patched_time(clock_cls()) as clock, fast_paths.fast_paths(chosen):
            agent = _agent(clock, manager_cls)
            build(clock, agent)
            act(clock, agent)
            states.append(_state(agent))
    return states


def _expire(clock, agent):
    asyncio.run(agent.im.complete_expired())


@pytest.mark.parametrize("default", [300.0, 7, 0.0, -1.0, math.nan, None], ids=repr)
def test_complete_expired_same_calls_and_state(default, monkeypatch):
    monkeypatch.setattr(Custom, "DEFAULT_INTER_TIMEOUT", default)
    slow, fast = _both(_scenario, _expire)
    assert fast == slow
    assert slow["complete_calls"]  # the scenario completes something whatever the default
    if default == 7:  # own 5 s and the 7 s default have expired; the 20 s and 900 s ones are capped at 7 s
        expired = {u for u, reason, _ in slow["complete_calls"] if reason == "retry_timeout"}
        assert {"own-timeout-5_me", "own-timeout-20_me", "own-timeout-900_me", "pending_me"} <= expired


def test_the_inlined_checks_really_run_on_a_synthetic_clock():
    with patched_time(SyntheticClock()) as clock:
        agent = _agent(clock, InteractionManager)
        assert fast_paths._fast_state(agent.im) is not None  # so the tests above compare the inlined code
    assert fast_paths._fast_state(agent.im) is None  # unaiverse's own clock: the original code runs


def test_complete_expired_plain_manager_and_other_clock():
    class OtherClock(SyntheticClock):  # not exactly the runtime's clock: the original code runs
        pass

    for kwargs in ({"manager_cls": InteractionManager}, {"clock_cls": OtherClock}):
        slow, fast = _both(_scenario, _expire, **kwargs)
        assert fast == slow and slow["inters"]["all-gone_me"][1] is not None


@pytest.mark.parametrize(
    "mutation", ["drop-later", "complete-later", "peer-leaves", "default-shrinks", "clock-moves", "add-later"]
)
def test_completion_that_changes_things_mid_loop(mutation, monkeypatch):
    """The first completion's callback changes what later interactions see: both versions must agree."""
    monkeypatch.setattr(Custom, "DEFAULT_INTER_TIMEOUT", 300.0)

    def build(clock, agent):
        first = _sent(agent, "first", ["gone"], callback="on_done")
        later = [_sent(agent, f"later{i}", ["p1", "p2"], callback="on_done") for i in range(3)]
        _received(agent, "from-p2", "p2", callback="on_done")

        def hook(agent, inter):
            if inter is not first:
                return
            if mutation == "drop-later":
                del agent.im.sent[later[1].uuid]  # still in the snapshot
            elif mutation == "complete-later":
                later[2].status = InteractionStatus.COMPLETED
            elif mutation == "peer-leaves":
                del agent.all_agents["p2"]
            elif mutation == "default-shrinks":
                Custom.DEFAULT_INTER_TIMEOUT = 1.0
            elif mutation == "clock-moves":
                clock.advance(400.0)
            else:
                added = _sent(agent, "added", ["p1"], callback="on_done")  # not in the snapshot
                added.action_name = None  # completed at the next tick

        agent.on_done_hook = hook
        clock.advance(2.0)
        _leave(agent, *GONE)

    def act(clock, agent):
        asyncio.run(agent.im.complete_expired())
        agent.complete_log.append("next tick")
        asyncio.run(agent.im.complete_expired())

    slow, fast = _both(build, act)
    assert fast == slow
    first = [("first_me", "disconnected", "gone")]
    later = [f"later{i}_me" for i in range(3)]
    tick = ["next tick"]
    expected = {
        "drop-later": first + tick,
        "complete-later": first + tick,
        "peer-leaves": first  # and at the next tick, the half-disconnected ones again
        + [(u, "disconnected", "p2") for u in later]
        + [("from-p2_p2", "disconnected", None)]
        + tick
        + [(u, "disconnected", "p2") for u in later],
        "default-shrinks": first + [(u, "retry_timeout", None) for u in [*later, "from-p2_p2"]] + tick,
        "clock-moves": first + [(u, "retry_timeout", None) for u in [*later, "from-p2_p2"]] + tick,
        "add-later": first + tick + [("added_me", "retry_timeout", None)],
    }[mutation]
    assert slow["complete_calls"] == expected


def test_same_object_in_two_dicts_and_subclass_with_own_expiry(monkeypatch):
    monkeypatch.setattr(Custom, "DEFAULT_INTER_TIMEOUT", 300.0)

    def build(clock, agent):
        both = _sent(agent, "both", ["gone"], callback="on_done")
        agent.im.received[both.uuid] = both  # met twice in the snapshot
        _received(agent, "own", "p1", cls=OwnExpiry, action="expire-me", callback="on_done")
        _received(agent, "own-kept", "p1", cls=OwnExpiry)
        _leave(agent, *GONE)
        clock.advance(1.0)

    OwnExpiry.calls = 0
    slow, fast = _both(build, _expire)
    assert fast == slow
    assert OwnExpiry.calls == 4  # two objects, each asked once per version
    assert ("own_p1", "retry_timeout", None) in slow["complete_calls"]


def _stream(name: str) -> Stream:
    return Stream(name=name, data_type="text")


def test_clear_expired_stream_data_same_effects(monkeypatch):
    monkeypatch.setattr(Custom, "DEFAULT_INTER_TIMEOUT", 5.0)
    streams = {}

    def build(clock, agent):
        owned = {f"me:s{i}": _stream(f"s{i}") for i in range(3)}
        streams[len(streams)] = owned
        a = _sent(agent, "with-streams", ["p1"])
        b = _received(agent, "created", "p1")
        c = _sent(agent, "completed", ["p2"])
        _sent(agent, "no-streams", ["p2"])
        for inter, keys in ((a, ["me:s0", "me:s1"]), (b, ["me:s1", "me:s2"]), (c, ["me:s2"])):
            for key in keys:
                owned[key].add_interaction(inter)
                owned[key].set("x", uuid=inter.uuid)
            inter.stream_proxy.bind({k: owned[k] for k in keys} | {"<data_sample_0>": "not a stream"})
        owned["me:s0"].set("old", uuid="orphan")
        b.status = InteractionStatus.CREATED
        c.status = InteractionStatus.COMPLETED
        owned["me:s0"].interactions_by_uuid.pop(a.uuid)  # a's interaction is gone from s0's table
        clock.advance(6.0)
        owned["me:s1"].set("fresh", uuid="fresh")

    def act(clock, agent):
        agent.im.clear_expired_stream_data()

    slow, fast = _both(build, act)
    assert fast == slow
    data = [{k: sorted(map(str, s.data_by_uuid)) for k, s in owned.items()} for owned in streams.values()]
    inters = [{k: sorted(s.interactions_by_uuid) for k, s in owned.items()} for owned in streams.values()]
    assert data[0] == data[1] and inters[0] == inters[1]
    assert data[0]["me:s0"] == [] and data[0]["me:s1"] == ["fresh"]  # something was really cleared


def test_context_manager_restores_exactly_and_leaves_foreign_patches():
    def installed():
        return {n: fast_paths._TABLE[n][0].__dict__[fast_paths._TABLE[n][1]] for n in ALL}

    originals = installed()
    assert originals == fast_paths._ORIGINALS  # unaiverse's own functions (no earlier test left a patch)
    assert all(f.__module__.startswith("unaiverse.") for f in originals.values())
    with pytest.raises(RuntimeError), fast_paths.fast_paths(ALL):
        assert InteractionManager.complete_expired is fast_paths._complete_expired
        with fast_paths.fast_paths(ALL):  # nested: nothing to do, nothing undone on exit
            pass
        assert InteractionManager.clear_expired_stream_data is fast_paths._clear_expired
        raise RuntimeError
    assert installed() == originals

    def foreign(self):
        return None

    InteractionManager.clear_expired_stream_data = foreign
    try:
        with fast_paths.fast_paths(ALL):
            assert InteractionManager.clear_expired_stream_data is foreign
        assert InteractionManager.clear_expired_stream_data is foreign
    finally:
        InteractionManager.clear_expired_stream_data = originals["clear_expired_stream_data"]
    with pytest.raises(ValueError):
        fast_paths.fast_paths(["nope"]).__enter__()


def _run(folder: Path, enabled: bool, monkeypatch, steps: int):
    """A run, and every state-machine transition it recorded (node, from, to, action, simulated time)."""
    moves = []

    def spy(*fields):
        moves.append(fields[:-1])  # the last field is the wall-clock time
        return Transition(*fields)

    monkeypatch.setattr(recorder, "Transition", spy)
    monkeypatch.setattr(fast_paths, "ENABLED", enabled)
    result = run_world(folder, RuntimeConfig(seed=0, max_steps=steps, quiet=True, out_dir=folder / "out"))
    assert result.exit_code == 0, result.error
    return result, moves


def _counting_table(monkeypatch) -> dict:
    """Wraps every replacement so the run-level tests can check that the runner installed them."""
    counts = dict.fromkeys(ALL, 0)
    for name, (cls, attr, fn) in list(fast_paths._TABLE.items()):

        def wrapper(*args, _fn=fn, _name=name, **kwargs):
            counts[_name] += 1
            return _fn(*args, **kwargs)

        monkeypatch.setitem(fast_paths._TABLE, name, (cls, attr, wrapper))
    return counts


def test_tiny_world_same_run_with_and_without(tmp_path, fresh_tiny, db_rows, monkeypatch):
    counts = _counting_table(monkeypatch)
    slow, slow_moves = _run(fresh_tiny(tmp_path / "slow"), False, monkeypatch, 300)
    assert not any(counts.values())
    fast, fast_moves = _run(fresh_tiny(tmp_path / "fast"), True, monkeypatch, 300)
    assert all(counts.values()), counts
    assert fast_moves == slow_moves and len(slow_moves) > 5
    assert fast.transitions == slow.transitions
    assert (fast.steps, fast.messages, fast.summary) == (slow.steps, slow.messages, slow.summary)
    assert db_rows(fast.stats_db) == db_rows(slow.stats_db)


#: The benchmark world's run_w.py: at t = 3.05 s the world drops Worker0002 and the hub forgets it (the hub's
#: requests from it complete as DISCONNECTED, its next pings are refused and time out, the default timeout
#: being 1 s); at t = 5.05 s Worker0002 forgets the hub (its waiting pings complete as DISCONNECTED).
RUN_W_WITH_DEPARTURE = """from src.world import WWorld
from unaiverse.clock import clock
from unaiverse.networking.node.node import Node
from wmverse.runtime import node as runtime_node

stages = [(3.05, "Hub", "Worker0002"), (5.05, "Worker0002", "Hub")]


def forget(node_name, other):
    node = next(n for n in runtime_node._ACTIVE.nodes if n.node_name == node_name)
    known = node.hosted.all_agents
    for peer in [p for p, prof in known.items() if prof.get_static_profile()["node_name"] == other]:
        del known[peer]


def drop_one_worker(node):
    if stages and clock.get_time(passed=True) >= stages[0][0]:
        _, node_name, other = stages.pop(0)
        forget(node_name, other)
        if other == "Worker0002":
            for peer, profile in node.hosted.all_agents.items():
                if profile.get_static_profile()["node_name"] == "Worker0002":
                    node.lost_peers.append(peer)


node = Node(WWorld(), node_name="BenchWorld", hidden=True, run_hook=drop_one_worker)
node.run()
"""


def test_benchmark_world_same_run_with_and_without(tmp_path, db_rows, monkeypatch):
    spec = importlib.util.spec_from_file_location("_wmv_runtime_benchmark_fp", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(Custom, "DEFAULT_INTER_TIMEOUT", 1.0)
    completions = []
    real_complete = InteractionManager.complete

    async def complete(self, interaction, reason, dest_state=None, target=None):
        completions.append((interaction.uuid, reason.value, dest_state, target))
        await real_complete(self, interaction, reason, dest_state=dest_state, target=target)

    monkeypatch.setattr(InteractionManager, "complete", complete)
    runs = {}
    for enabled in (False, True):
        folder = bench.make_world(tmp_path / f"w{int(enabled)}", 6)
        (folder / "run_w.py").write_text(RUN_W_WITH_DEPARTURE)
        completions.clear()
        runs[enabled] = (*_run(folder, enabled, monkeypatch, 80), list(completions))
    (slow, slow_moves, slow_done), (fast, fast_moves, fast_done) = runs[False], runs[True]
    assert fast_done == slow_done
    assert {"retry_timeout", "disconnected", "ok"} <= {reason for _, reason, _, _ in slow_done}
    assert fast_moves == slow_moves and len(slow_moves) > 100
    assert fast.transitions == slow.transitions
    assert (fast.steps, fast.messages) == (slow.steps, slow.messages)
    assert db_rows(fast.stats_db) == db_rows(slow.stats_db)
