"""Agent side of the learner roles: one unaiverse ``Agent`` base class serving every learner kind.

A learner's behaviour (written by the world, ``<kind>.json``) is::

    idle --<train request>--> training --work--> reporting --report--> idle
    idle --evaluate--------> evaluating --work--> reporting
    idle --finish----------> finished

The request actions (``run_phase``, ``run_curriculum_phase``, ``run_dag_node``, ``run_env_steps``, ``run_episode``,
``evaluate``, ``finish``) only accept the world's request; ``work`` then runs the step with the agent's
processor (``agents.learner.LearnerProcessor``, which builds the library objects from the config the world
sends), and ``report`` ships ``{kind, step, metrics}`` to the world through the stats channel
(``learner_report``). A request for a step already run is answered from the cache (a re-sent request).
"""

from __future__ import annotations

from typing import Any

from unaiverse.agent import Agent, action
from unaiverse.clock import clock
from unaiverse.interaction import Interaction

from wmverse.runtime import background

from . import codec

__all__ = ["LearnerAgent"]


class LearnerAgent(Agent):
    """Base of the learner roles' ``WAgent`` (set :attr:`KIND` in the subclass)."""

    KIND = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: dict[str, Any] | None = None  # accepted request: step, action, args, config
        self._report_body: dict[str, Any] | None = None
        self._done: dict[int, dict[str, Any]] = {}  # step index -> metrics already computed
        self._job: Any = None  # the running step (a concurrent.futures.Future), if any
        self._due = 0.0  # simulated time from which the running step's outcome may be used
        self._reported_state = None

    async def on_tick(self):
        """Ship stats whenever the behaviour settled in a new state (the dashboard follows closely)."""
        state = self.behav.get_state_name() if self.behav is not None else None
        if state is not None and state != self._reported_state and self.in_world():
            self._reported_state = state
            await self.send_stats_to_world()

    @property
    def learner(self) -> Any:
        """The processor (``agents.learner.LearnerProcessor``) inside unaiverse's wrapper."""
        proc = self.proc
        model = getattr(proc, "module", proc)
        if model is None or not hasattr(model, "run_request") or getattr(model, "kind", None) != self.KIND:
            raise RuntimeError(f"a {self.KIND} learner needs LearnerProcessor({self.KIND!r}) as processor")
        return model

    def _accept(
        self, name: str, step: int, args: dict[str, Any], config: dict | None, sim_s: Any = 0.0
    ) -> bool:
        span = codec.request_sim_s(sim_s)
        if config is None or step < 0 or span is None:
            return False
        self._pending = {"step": int(step), "action": name, "args": args, "config": config, "sim_s": span}
        return True

    # -- world requests (``sim_s``: the simulated seconds the step takes; its report is sent no earlier) ----
    @action
    async def run_phase(
        self,
        step: int = -1,
        phase: int = 0,
        config: dict | None = None,
        interaction: Interaction | None = None,
        sim_s: float = 0.0,
    ) -> bool:
        """World request (leworld): run LeWorld training phase ``phase``."""
        return self._accept("run_phase", step, {"phase": phase}, config, sim_s)

    @action
    async def run_curriculum_phase(
        self,
        step: int = -1,
        phase: int = 0,
        config: dict | None = None,
        interaction: Interaction | None = None,
        steps: int = 0,
        sim_s: float = 0.0,
    ) -> bool:
        """World request (canvas): run curriculum phase ``phase`` (only its next ``steps`` steps when > 0)."""
        args = {"phase": phase, "steps": steps} if steps else {"phase": phase}
        return self._accept("run_curriculum_phase", step, args, config, sim_s)

    @action
    async def run_dag_node(
        self,
        step: int = -1,
        node: str = "",
        config: dict | None = None,
        interaction: Interaction | None = None,
        sim_s: float = 0.0,
    ) -> bool:
        """World request (canvas, DAG curriculum): train DAG node ``node``."""
        return self._accept("run_dag_node", step, {"node": node}, config, sim_s)

    @action
    async def run_env_steps(
        self,
        step: int = -1,
        n: int = 0,
        config: dict | None = None,
        interaction: Interaction | None = None,
        sim_s: float = 0.0,
    ) -> bool:
        """World request (dynamics): act ``n`` real environment steps, learning online."""
        return self._accept("run_env_steps", step, {"n": n}, config, sim_s)

    @action
    async def run_episode(
        self,
        step: int = -1,
        config: dict | None = None,
        interaction: Interaction | None = None,
        sim_s: float = 0.0,
    ) -> bool:
        """World request (dynamics): play an episode with the planner and report it."""
        return self._accept("run_episode", step, {}, config, sim_s)

    @action
    async def evaluate(
        self,
        step: int = -1,
        episodes: int = 0,
        config: dict | None = None,
        interaction: Interaction | None = None,
        sim_s: float = 0.0,
    ) -> bool:
        """World request: evaluate on held-out data (the world decides the badge from it)."""
        return self._accept("evaluate", step, {"episodes": episodes} if episodes else {}, config, sim_s)

    @action
    async def finish(self, badges: list | None = None, interaction: Interaction | None = None) -> bool:
        """World request: training is over; suggest the badges the world decided (it records only those)."""
        await codec.suggest_badges(self, badges)
        return True

    # -- the agent's own steps ---------------------------------------------------------------------------
    @action
    async def work(self) -> bool:
        """Run the accepted request with the processor, off the clock (``wmverse.runtime.background``): the
        first call starts the job and every call returns False until it is done and the request's ``sim_s``
        simulated seconds have passed (the job is deferred to then: the world ticks on meanwhile, and the
        report leaves at the same tick however fast the machine), so the agent keeps answering ticks; errors
        are reported to the world, not raised."""
        p = self._pending
        if p is None:
            return False
        step = p["step"]
        if step not in self._done:
            if self._job is None:
                self._job = background.submit_in(
                    self.learner.lane, self.learner.run_request, p["action"], p["args"], p["config"]
                )
                self._due = clock.get_time() + p["sim_s"]
                background.defer(self._job, self._due)
            if not background.is_due(self._due, clock.get_time()) or not self._job.done():
                return False
            job, self._job = self._job, None
            try:
                self._done[step] = job.result()
            except (ValueError, RuntimeError, KeyError, TypeError) as e:
                self._done[step] = {"error": f"{type(e).__name__}: {e}"}
        self._report_body = {
            "kind": self.KIND,
            "step": step,
            "action": p["action"],
            "metrics": self._done[step],
        }
        self._pending = None
        return True

    @action
    async def report(self) -> bool:
        """Ship the step's metrics to the world (stat ``learner_report``, sent at once)."""
        if self._report_body is None:
            return False
        _, own = self.get_peer_ids()
        body = codec.learner_report_message(**self._report_body)
        self.stats.store_stat(codec.LEARNER_REPORT, body, group_key=own, timestamp=clock.get_time_ms())
        await self.send_stats_to_world()
        self._report_body = None
        return True
