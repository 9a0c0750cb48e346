"""The tiny two-role world end to end: joining, delays on the simulated clock, routing, hooks, outputs."""

import re

from wmverse.runtime import RuntimeConfig, run_world


def _time_of(lines, needle):
    for line in lines:
        if needle in line:
            return float(re.match(r"\[t=\s*([0-9.]+)s\]", line).group(1))
    raise AssertionError(f"no line contains {needle!r}")


def test_world_finishes_by_itself(tiny_run):
    _, result = tiny_run
    assert result.exit_code == 0, result.error
    assert result.ended_by == "world"
    assert result.nodes == ["Asker", "Alice", "Bob", "TinyWorld"]
    assert result.steps < 300


def test_roles_are_assigned_and_handshakes_complete(tiny_run):
    _, result = tiny_run
    for name in ("Asker", "Alice", "Bob"):
        assert any(
            line.endswith(f"{name}: Handshake completed, world joined!") for line in result.transitions
        )
    assert any("Asker: asker here" in line for line in result.transitions)  # the asker role's welcome message


def test_delay_fires_at_the_right_simulated_time(tiny_run):
    _, result = tiny_run
    ready = _time_of(result.transitions, "Asker: ready to ask")
    asked = _time_of(result.transitions, "Asker: asking Bob")
    tick = 0.1
    assert 2.0 - 1e-9 <= asked - ready <= 2.0 + 2 * tick  # ASK_DELAY_S = 2.0 in the world
    assert result.sim_seconds >= asked


def test_state_wait_holds_for_the_right_simulated_time(tiny_run):
    _, result = tiny_run
    entered = _time_of(result.transitions, "TinyWorld: world greeted Alice")
    left = _time_of(result.transitions, "TinyWorld: world done waiting")
    assert 0.5 <= left - entered <= 0.5 + 2 * 0.1  # WORLD_WAIT_S = 0.5 on the world's 'greeted' state


def test_world_request_reaches_the_agent_after_the_world_delay(tiny):
    """With the relaxation opted into (``world_requests=True``: agents know their world's node as a peer);
    by default the live rule refuses the request (test_runtime_errors.py)."""
    from wmverse.runtime import RuntimeConfig, run_world

    result = run_world(tiny, RuntimeConfig(seed=0, max_steps=300, quiet=True, world_requests=True))
    assert result.exit_code == 0, result.error
    greeted = _time_of(result.transitions, "Alice: greeted by TinyWorld")
    assert 1.0 < greeted <= 1.0 + 3 * 0.1  # GREET_DELAY_S = 1.0 on the world's own machine
    assert not any("Bob: greeted" in line for line in result.transitions)


def test_request_reaches_only_the_named_agent(tiny_run):
    _, result = tiny_run
    assert any(line.endswith("Bob: answered Asker") for line in result.transitions)
    assert not any("Alice: answered" in line for line in result.transitions)
    assert "Asker: completed 1.00 asked Bob" in result.summary


def test_outputs_are_written(tiny_run, db_rows):
    folder, result = tiny_run
    assert result.stats_db is not None and result.stats_db.is_file()
    assert result.stats_db.parent == folder / "out"
    tables = db_rows(result.stats_db)
    dynamic = {row[2] for row in tables["dynamic_stats"]}
    static = {row[1] for row in tables["static_stats"]}
    assert "badges_given" in dynamic  # the world's custom stat
    assert "state" in static  # the agents' core stats, sent to the world as STATS_UPDATE
    page = result.dashboard.read_text(encoding="utf-8")
    assert '<script src="https://cdn.plot.ly' not in page and "Plotly" in page  # plotly.js inlined: offline


def test_same_seed_same_run(tiny_run, tmp_path, fresh_tiny, db_rows):
    _, first = tiny_run
    second = run_world(fresh_tiny(tmp_path), RuntimeConfig(seed=0, max_steps=300, quiet=True))
    assert second.exit_code == 0
    assert second.transitions == first.transitions
    assert db_rows(second.stats_db) == db_rows(first.stats_db)


def test_max_steps_ends_the_run_with_exit_zero(tiny):
    result = run_world(tiny, RuntimeConfig(max_steps=5, quiet=True))
    assert result.exit_code == 0 and result.ended_by == "max_steps" and result.steps == 5
    assert abs(result.sim_seconds - 0.5) < 1e-9


def test_the_order_agents_step_in_does_not_change_the_run(
    tiny_run, tmp_path, fresh_tiny, db_rows, monkeypatch
):
    """An agent handles what another agent sent during a tick at the next tick (``Router.hold``), whether it
    steps before or after the sender: the asker stepping last instead of first (once everyone has joined, at
    tick 0: joining reads the world's directory, not messages) gives the same run."""
    from wmverse.runtime.scheduler import Runtime

    _, first = tiny_run
    order = Runtime.order

    def reversed_agents(self):
        nodes = order(self)
        if self.steps < 1:
            return nodes
        agents = [n for n in nodes if n.node_type == n.AGENT]
        return agents[::-1] + [n for n in nodes if n.node_type != n.AGENT]

    monkeypatch.setattr(Runtime, "order", reversed_agents)
    second = run_world(fresh_tiny(tmp_path), RuntimeConfig(seed=0, max_steps=300, quiet=True))
    assert second.exit_code == 0, second.error
    assert (second.steps, second.summary) == (first.steps, first.summary)
    assert sorted(second.transitions) == sorted(first.transitions)  # the same lines at the same times
    assert db_rows(second.stats_db) == db_rows(first.stats_db)


def test_held_messages_reach_agents_only_when_released():
    """The router's hold: messages to agents wait for release (in delivery order), those to the world and
    to a node that left meanwhile do not wait / are dropped."""
    from types import SimpleNamespace

    from wmverse.runtime.conn import Router

    router = Router(wire=False)
    alice, bob, world = (
        SimpleNamespace(
            node_name=n,
            public_peer_id=f"pub-{n}",
            private_peer_id=f"prv-{n}",
            node_type=t,
            AGENT="agent",
            closed=False,
            conn=None,
            inbox=[],
        )
        for n, t in (("alice", "agent"), ("bob", "agent"), ("world", "world"))
    )
    for node in (alice, bob, world):
        router.register(node)
    router.hold()
    for k, peer in enumerate(["prv-alice", "prv-world", "prv-bob", "prv-alice"]):
        assert router.deliver(f"m{k}", peer)
    assert (alice.inbox, bob.inbox, world.inbox) == ([], [], ["m1"])
    bob.closed = True
    router.release()
    assert (alice.inbox, bob.inbox) == (["m0", "m3"], [])
    assert router.deliver("m4", "prv-alice") and alice.inbox[-1] == "m4"  # not held any more
