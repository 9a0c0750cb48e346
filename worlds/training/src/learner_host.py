"""World side of the learner roles: a mixin for a unaiverse ``World`` that drives learners by requests.

``LearnerHost`` gives the world a SECOND state machine (``self.learner_behav``, acted every tick from
``on_tick``) whose world actions are the learners' training steps::

    learners_open --request_learner_steps--> steps_requested --learner_reports_in--> reports_in
    reports_in --judge_learner_reports--> learners_open

Each learner goes at its own pace: a report is judged as soon as it arrives and that learner is asked its
next step, while the others work on theirs. A step declares how many simulated seconds it takes
(``LearnerStep.sim_s``, from the kind's cost model); the learner reports no earlier, so the order of
events does not depend on the machine, and the runtime lets the learners' processes compute side by side
across ticks (``wmverse.runtime.background.defer``).

``request_learner_steps`` sends every idle joined learner its next request of the plan (``run_phase 2``,
``run_env_steps 150``, ``evaluate``... with the learner's config) or, once evaluated, ``finish`` with the
badge the world decided; ``judge_learner_reports`` stores each report as stats (``learner_step``,
``learner_eval``) and, for evaluations, applies the kind's badge rule. Reports arrive through the stats
channel (``learner_report``), checked by :func:`.codec.read_learner_report`.
"""

from __future__ import annotations

import os
from typing import Any

from unaiverse.agent import action
from unaiverse.clock import clock

from . import codec
from .behaviours import WORLD_LEARNERS
from .learner_plans import FINISH, LEARNER_SPECS, LearnerSpec, LearnerTracker, learner_kind_of, learner_spec

__all__ = ["LearnerHost", "RESEND_LEARNER_AFTER_S"]

#: Simulated seconds before a learner request with no report is sent again.
RESEND_LEARNER_AFTER_S = 60.0
#: Simulated seconds the world waits for a learner's badge suggestion after ``finish``.
LEARNER_BADGE_WAIT_S = 20.0


class LearnerHost:
    """Mixin for the training world (see the module docstring). Call :meth:`init_learners` in ``__init__``."""

    def init_learners(self, environ: Any = None) -> None:
        """Build the learner specs from ``WMVERSE_*`` variables and the learners' state machine."""
        env = os.environ if environ is None else environ
        self.learner_specs: dict[str, LearnerSpec] = {k: learner_spec(k, env) for k in LEARNER_SPECS}
        self.learners: dict[str, LearnerTracker] = {}  # peer id -> tracker
        self._learner_inbox: list[tuple[str, dict]] = []
        self.learner_badges: dict[str, dict] = {}  # peer id -> badge still to be suggested
        self._last_finish_at = -1.0
        self.learner_behav = WORLD_LEARNERS.build(self)

    # -- roles -----------------------------------------------------------------------------------------
    @staticmethod
    def learner_role(profile: Any) -> str | None:
        """The learner kind of a joining node (named ``Learner<Kind>``), else None."""
        return learner_kind_of(profile.get_static_profile().get("node_name"))

    def register_learner(self, peer_id: str, kind: str) -> None:
        """Start tracking a learner that joined (called from ``add_agent``)."""
        if peer_id not in self.learners:
            self.learners[peer_id] = LearnerTracker(peer_id, self.learner_specs[kind])
            self._store("learner_kind", kind, peer_id)

    @property
    def learners_done(self) -> bool:
        """True when every joined learner was evaluated, told its badge and suggested it (or
        :data:`LEARNER_BADGE_WAIT_S` passed); vacuously true with no learner."""
        if not all(t.done for t in self.learners.values()):
            return False
        settled = all(self.stats.get_last_value("state", group_key=p) == "finished" for p in self.learners)
        if (
            self.learner_badges or not settled
        ) and clock.get_time() - self._last_finish_at < LEARNER_BADGE_WAIT_S:
            return False  # wait for the badge suggestions and for every learner to report it finished
        for pid, pending in sorted(self.learner_badges.items()):
            print(f"[world] the {pending['kind']} learner never suggested its badge ({pid})", flush=True)
        self.learner_badges.clear()
        return True

    # -- world actions ---------------------------------------------------------------------------------
    @action
    async def request_learner_steps(self) -> bool:
        """Send every joined learner its next request (or ``finish`` with its badge); True if any was sent."""
        sent = False
        now = clock.get_time()
        for pid, t in sorted(self.learners.items()):
            if t.awaiting is not None and now - t.asked_at > RESEND_LEARNER_AFTER_S:
                t.awaiting, t.next_index = None, t.awaiting  # ask again (the agent answers from its cache)
            step = t.next_step()
            if step is not None:
                kwargs = codec.learner_request(step.index, t.spec.config_payload(), step.args, step.sim_s)
                if await self._request(step.action, pid, kwargs):
                    t.mark_asked(step, now)
                    sent = True
            elif t.trained and not t.finish_sent:
                badges = [t.badge] if t.badge is not None else []
                if t.badge is not None:
                    self.learner_badges[pid] = {"kind": t.kind, "badge": t.badge}
                if await self._request(FINISH, pid, codec.finish_request(badges)):
                    t.finish_sent = True
                    self._last_finish_at = now
                    sent = True
        return sent or any(t.awaiting is not None for t in self.learners.values())

    @action
    async def learner_reports_in(self) -> bool:
        """True once any requested step's report arrived (or one is overdue: the next pass re-sends it).

        Learners are driven one by one, not in rounds: a learner that reported gets its next request at once,
        while the others are still at work on theirs."""
        waiting = {pid: t for pid, t in self.learners.items() if t.awaiting is not None}
        if not waiting or any(
            pid in waiting and report.step == waiting[pid].awaiting for pid, report in self._learner_inbox
        ):
            return True
        now = clock.get_time()
        return any(now - t.asked_at > RESEND_LEARNER_AFTER_S for t in waiting.values())

    @action
    async def judge_learner_reports(self) -> bool:
        """Record the reports as stats; evaluations decide badges (the kind's rule)."""
        inbox, self._learner_inbox = self._learner_inbox, []
        for pid, report in inbox:
            t = self.learners.get(pid)
            if t is None:
                continue
            metrics = report.metrics
            step = t.record(report.step, metrics)
            if step is None:
                continue
            if "error" in metrics:
                print(f"[world] {t.kind} learner failed at {step.label}: {metrics['error']}", flush=True)
                t.next_index, t.badge, t.evaluation = len(t.steps), None, {"error": metrics["error"]}
            if len(t.reports) == 1:  # (again) once the agent's stats group exists on the world's side
                self._store("learner_kind", t.kind, pid)
            record = {"step": step.index, "action": step.action, "label": step.label, "metrics": metrics}
            self._store("learner_step", record, pid)
            if step.is_evaluation or "error" in metrics:
                self._store("learner_eval", t.evaluation or {}, pid)
                verdict = f"badge {t.badge.reason}" if t.badge else "no badge"
                print(
                    f"[world] {t.kind} learner: {t.spec.summary_line(t.evaluation or {})} -> {verdict}",
                    flush=True,
                )
            else:
                print(f"[world] {t.kind} learner: {step.label} done ({_brief(metrics)})", flush=True)
        return True

    # -- agents -> world -------------------------------------------------------------------------------
    def consume_learner_report(self, value: str, peer_id: str) -> None:
        """Check and queue a ``learner_report`` (judged by the next ``judge_learner_reports``)."""
        report = codec.read_learner_report(value)
        t = self.learners.get(peer_id)
        if t is None or report.kind != t.kind:
            raise ValueError(f"learner report from {peer_id} that is not a joined {report.kind} learner")
        self._learner_inbox.append((peer_id, report))

    def record_learner_badge(self, peer_id: str, badge_type: str, agent_token: Any) -> bool:
        """Award a learner's suggested badge if the world decided it; False when ``peer_id`` has none."""
        learner = self.learner_badges.get(peer_id)
        if learner is None or learner["badge"].badge_type != badge_type:
            return False
        b = self.learner_badges.pop(peer_id)["badge"]
        self._award(peer_id, b.score, b.badge_type, agent_token, b.description)
        self.recorded_badges.append(
            {
                "learner": learner["kind"],
                "peer_id": peer_id,
                "badge_type": b.badge_type,
                "score": b.score,
                "reason": b.reason,
                "description": b.description,
            }
        )
        self._store("badges", list(self.recorded_badges))
        return True

    def learner_summary_lines(self) -> list[str]:
        """End-of-run lines, one per learner."""
        lines = []
        for _, t in sorted(self.learners.items(), key=lambda kv: kv[1].kind):
            state = "done" if t.done else f"stopped at step {t.next_index}/{len(t.steps)}"
            ev = t.spec.summary_line(t.evaluation) if t.evaluation and "error" not in t.evaluation else "-"
            badge = f"[{t.badge.badge_type}] {t.badge.reason}" if t.badge else "no badge"
            lines.append(f"{t.spec.title:<9} {state}; {ev}; {badge}")
        return lines


def _brief(metrics: dict) -> str:
    keys = ("loss", "surprise", "train_loss", "buffer_size", "total_env_steps")
    return ", ".join(f"{k}={metrics[k]:.4g}" for k in keys if isinstance(metrics.get(k), (int, float)))
