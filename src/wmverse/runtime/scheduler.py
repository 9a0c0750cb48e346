"""The deterministic scheduler: one fixed tick, every node steps once per tick, then time advances.

Order within a tick mirrors unaiverse's NodeSynchronizer: agent nodes in the order their scripts
registered them (``node.run()``), then the world node. After every node the scheduler checks whether
an @action raised (strict mode); after every tick whether the world is finished.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from wmverse.runtime import background
from wmverse.runtime.clock import SyntheticClock
from wmverse.runtime.config import RuntimeConfig
from wmverse.runtime.conn import Router
from wmverse.runtime.errors import ScriptFailure, describe_failure
from wmverse.runtime.roles import RoleCode


def world_is_finished(world: Any) -> bool:
    """The termination contract: ``world.is_finished()`` if defined, else ``world.finished``."""
    fn = getattr(world, "is_finished", None)
    if callable(fn):
        return bool(fn())
    return bool(getattr(world, "finished", False))


class Runtime:
    """Holds a run's clock, router and nodes, and steps them."""

    def __init__(
        self, world_folder: Path, config: RuntimeConfig, clock: SyntheticClock, out_dir: Path
    ) -> None:
        self.world_folder = world_folder
        self.config = config
        self.clock = clock
        self.out_dir = out_dir
        self.router = Router(wire=config.wire)
        self.role_code = RoleCode()
        self.nodes: list[Any] = []  # every LocalNode built
        self.running: list[Any] = []  # nodes whose run() was called, in call order
        self.current_script: Path | None = None
        self.current_node: Any = None
        self.pending_failure: ScriptFailure | None = None
        self.steps = 0
        self._index = 0
        #: Where agents' joins go when the world lives in another process (``remote.RemoteClient``); None: here.
        self.join_service: Any = None
        #: Wait for this process's background jobs after every tick (synthetic and lockstep clocks), so that
        #: a job always ends between the same two ticks; False on a realtime clock.
        self.wait_for_background = True
        #: Background lanes on (``background.lanes``): several learners of this process compute at once, each
        #: in a child process; False where a process hosts one script (run_asynch's children).
        self.parallel_jobs = True
        #: How the learners' child processes start: "fork" (fast) unless this process has loaded unaiverse's
        #: Go libp2p library (a joiner over the network), after which a forked child hangs: "spawn".
        self.lane_start_method = "fork"
        #: Awaited every few seconds while waiting for background jobs (a joiner's "busy" to its hub).
        self.on_busy: Any = None
        #: Records the run in the run store (``recorder.Recorder``, which sets itself here); None: not recorded.
        self.recorder: Any = None
        #: Completed state-machine transitions since the last tick's end, ``(node, from, to, action, sim
        #: time)`` (see ``patches.recorded_transitions``); None: not collected.
        self.transition_log: list[Any] | None = None
        #: Writes and resumes checkpoints (``checkpointing.Checkpointer``); None: no checkpoints.
        self.checkpointer: Any = None
        #: Where the runtime's own lines go (checkpoints written, resumed, stopping).
        self.say: Any = print
        #: Set by a first Ctrl-C: the run stops after the current tick (checkpoint, stats, dashboard written).
        self.stop_requested = False
        #: Set by a second Ctrl-C: the run quits at once (no checkpoint, no end-of-run hooks).
        self.aborted = False
        #: A node's ``run(resume_from_checkpoint=True)`` asked to resume the run; ``save_checkpoint_every``.
        self.resume_requested = False
        self.checkpoint_every_requested = 0.0

    # --- called by LocalNode -------------------------------------------------------------------
    def next_node_index(self) -> int:
        self._index += 1
        return self._index - 1

    def number_nodes_from_zero(self) -> None:
        """The next node built is numbered 0 (its peer ids and node id as in a process of its own). A remote
        process calls this before each of its scripts, so that an agent's ids, and so the run's stats, do
        not depend on which scripts share its process (``run_asynch.py --processes``)."""
        self._index = 0

    def register_run(self, node: Any) -> None:
        if node.registered:
            return
        node.registered = True
        self.running.append(node)
        if self.recorder is not None:
            self.recorder.node_started(node)

    def record_action_failure(self, message: str) -> None:
        """Called from the log sink inside @action's except block: remembers the live exception."""
        exc = sys.exc_info()[1]
        if exc is None or self.pending_failure is not None or not self.config.strict:
            return
        node = self.current_node
        who = f"node {node.node_name!r}" if node is not None else "a node"
        first_line = message.splitlines()[0]
        self.pending_failure = describe_failure(
            f"{first_line} ({who})", exc, getattr(node, "script", None), self.world_folder
        )

    # --- stepping ------------------------------------------------------------------------------
    @property
    def world_node(self) -> Any:
        for node in self.running:
            if node.node_type == node.WORLD:
                return node
        return None

    def order(self) -> list[Any]:
        agents = [n for n in self.running if n.node_type == n.AGENT]
        worlds = [n for n in self.running if n.node_type == n.WORLD]
        return agents + worlds

    async def step_nodes(self) -> None:
        """Steps every node of this process once at the current time (agents, then the world).

        What an agent sends another agent during the agents' phase reaches it at the next tick
        (:meth:`Router.hold`); what the agents send the world, the world handles in this tick."""
        if self.wait_for_background:  # jobs deferred to this tick are done before any node looks at them
            await background.settle(self.on_busy, now_s=self.clock.get_time())
        self.router.hold()
        try:
            for node in self.order():
                if node.node_type != node.AGENT and self.router.held is not None:
                    self.router.release()  # the agents' phase is over
                self.current_node = node
                try:
                    await node.step()
                except ScriptFailure:
                    raise
                except Exception as exc:  # noqa: BLE001 - any error of user code ends the run with a location
                    raise describe_failure(
                        f"tick {self.steps} of node {node.node_name!r}", exc, node.script, self.world_folder
                    ) from exc
                finally:
                    self.current_node = None
                if self.pending_failure is not None:
                    raise self.pending_failure
        finally:
            self.router.release()
        if self.wait_for_background:  # the jobs of this tick (deferred ones: from their due tick on)
            await background.settle(self.on_busy, now_s=self.clock.get_time())
        if self.checkpointer is not None:
            self.checkpointer.end_tick()

    def advance(self) -> None:
        """Ends the tick: the recorder gathers it, then it is counted and the clock moves by ``tick_ms``."""
        if self.recorder is not None:
            self.recorder.end_tick()
        self.steps += 1
        self.clock.advance(self.config.tick_ms / 1000.0)

    async def tick(self) -> None:
        """Steps every node once at the current time, then advances the clock by one tick."""
        await self.step_nodes()
        self.advance()

    def require_world_node(self) -> Any:
        """The world's node; a ScriptFailure saying what run_w.py must do when there is none."""
        node = self.world_node
        if node is None:
            raise ScriptFailure(
                "no world node was started: run_w.py must build Node(world, ...) and call node.run()",
                None,
                None,
                None,
                None,
            )
        return node

    def after_tick(self) -> None:
        """Checkpoint bookkeeping after the clock moved (finish a replay, save when due)."""
        if self.checkpointer is not None:
            line = self.checkpointer.after_tick()
            if line:
                self.say(line)

    async def run(self) -> str:
        """Ticks until the world is finished ('world'), max_steps ticks ran ('max_steps'), the world node's
        own ``run(cycles=..., max_time=...)`` limit is reached ('cycles'/'max_time'), or a first Ctrl-C asked
        for a graceful stop ('interrupted', after a checkpoint of the last tick)."""
        self.require_world_node()
        while self.steps < self.config.max_steps:
            await self.tick()
            self.after_tick()
            if world_is_finished(self.world_node.hosted):
                return "world"
            limit = self.world_node.limit_reached()
            if limit is not None:
                return limit
            if self.stop_requested:
                return "interrupted"
            # Nodes' awaits rarely suspend, so yield once per tick: Ctrl-C (asyncio cancels the main
            # task) then stops the run at the next tick instead of when the world ends.
            await asyncio.sleep(0)
        return "max_steps"
