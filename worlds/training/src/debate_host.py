"""The debate side of the training world: a mixin whose world actions are the Trainer's and Validator's steps.

The world's debate machine (``behaviours.WORLD_DEBATE``) runs these actions in order::

    waiting_for_tendencies -> ready -> collecting_proposals -> proposals_in -> collecting_stakes
    -> stakes_in -> resolved -> validated -> announced -> ready (next epoch) | finished

Requests to agents are unaiverse interactions (``propose``, ``stake``, ``resolution``); agents answer through
the stats channel, read by :meth:`DebateHost.consume_debate_reply`. The maths is the session's
(:class:`.session.TrainingSession`); this mixin only talks to the agents and records stats. When training
finishes, the last ``resolution`` tells each agent the badges the world decided; the agent suggests them
back and the world records only suggestions matching its decision.
"""

from __future__ import annotations

from typing import Any

from unaiverse.agent import action
from unaiverse.clock import clock

from . import codec
from .session import TrainingSession

__all__ = ["BADGE_WAIT_S", "DebateHost", "RESEND_AFTER_S", "ROLE"]

ROLE = "tendency"
RESEND_AFTER_S = 10.0  # simulated seconds before a request is sent again to agents that did not answer
BADGE_WAIT_S = 20.0  # simulated seconds the world waits for the agents' badge suggestions


class DebateHost:
    """Mixin for the training world (see the module docstring). Call :meth:`init_debate` in ``__init__``.

    The host class provides ``_store(name, value, group_key=None)``, ``_request`` (:mod:`.relay`), ``stats``,
    ``all_agents`` and ``_award(peer_id, score, badge_type, agent_token, description)``.
    """

    def init_debate(self, config: Any) -> None:
        """Load the observations and split them (the session), reset the debate's bookkeeping."""
        self.session = TrainingSession(config)
        self.debate_finished = False
        self.peer_of = {}  # tendency -> peer id (learnt from the agents' first proposals)
        self.protocol_errors: list[str] = []
        self.decided_badges = {}  # peer id -> list of BadgeDecision still to be suggested by that agent
        self.recorded_badges: list[dict] = []
        self._replied: set[str] = set()
        self._asked: set[tuple[str, str]] = set()
        self._asked_at = 0.0
        self._finish_started_at = -1.0

    # -- helpers ---------------------------------------------------------------------------------------
    def _tendency_peers(self) -> list[str]:
        peers = []
        for pid, profile in self.all_agents.items():
            role = str(profile.get_dynamic_profile().get("connections", {}).get("role", ""))
            if role.split("~")[-1] == ROLE:
                peers.append(pid)
        return sorted(peers)

    def _check_protocol(self) -> None:
        if self.protocol_errors:
            raise RuntimeError("agents broke the protocol: " + "; ".join(self.protocol_errors))

    async def _ask(self, action_name: str, peers: list[str], per_peer_kwargs) -> bool:
        """Queue ``action_name`` for every peer not asked yet in this phase (the master relays it); True once
        all were queued. The answers come back through the stats channel.
        """
        for pid in peers:
            if (action_name, pid) in self._asked:
                continue
            if await self._request(action_name, pid, per_peer_kwargs(pid)):
                self._asked.add((action_name, pid))
        self._asked_at = clock.get_time()
        return all((action_name, pid) in self._asked for pid in peers)

    def _missing_replies(self) -> list[str]:
        return [p for p in self._tendency_peers() if p not in self._replied]

    # -- world actions: Trainer ----------------------------------------------------------------------------
    @action
    async def tendencies_joined(self) -> bool:
        """True once seven tendency agents and the master (who relays the world's requests) are in the world."""
        return len(self._tendency_peers()) >= len(self.session.tendencies) and bool(self.master_peers())

    @action
    async def ask_to_propose(self) -> bool:
        """Open the next epoch and ask every tendency agent to propose claims."""
        self._check_protocol()
        epoch = self.session.begin_epoch()
        self._replied, self._asked = set(), set()
        request = codec.propose_request(
            epoch, self.session.training_payload(), self.session.request_settings()
        )
        return await self._ask("propose", self._tendency_peers(), lambda pid: request)

    @action
    async def proposals_received(self) -> bool:
        """True when every tendency's claims arrived; re-asks silent agents after a while."""
        self._check_protocol()
        if self.session.has_all_claims():
            return True
        missing = self._missing_replies()
        if missing and clock.get_time() - self._asked_at > RESEND_AFTER_S:
            request = codec.propose_request(
                self.session.epoch, self.session.training_payload(), self.session.request_settings()
            )
            self._asked -= {("propose", p) for p in missing}
            await self._ask("propose", missing, lambda pid: request)
        return False

    @action
    async def ask_to_stake(self) -> bool:
        """Send every claim of the epoch to every tendency agent and ask it to stake."""
        self._replied = set()
        request = codec.stake_request(self.session.epoch, self.session.all_claims())
        return await self._ask("stake", self._tendency_peers(), lambda pid: request)

    @action
    async def stakes_received(self) -> bool:
        """True when every tendency's stakes arrived; re-asks silent agents after a while."""
        self._check_protocol()
        if self.session.has_all_stakes():
            return True
        missing = self._missing_replies()
        if missing and clock.get_time() - self._asked_at > RESEND_AFTER_S:
            request = codec.stake_request(self.session.epoch, self.session.all_claims())
            self._asked -= {("stake", p) for p in missing}
            await self._ask("stake", missing, lambda pid: request)
        return False

    @action
    async def resolve_epoch(self) -> bool:
        """Trainer: resolve the debate, reallocate, decay the learning rate, check convergence."""
        rec = self.session.resolve()
        self._store("epoch", rec.epoch)
        self._store("learning_rate", rec.learning_rate)
        self._store("winner", rec.winner.value)
        self._store("allocation_delta", rec.delta)
        self._store("converged", int(rec.converged))
        for t, pid in sorted(self.peer_of.items(), key=lambda kv: kv[0].index):
            self._store("allocation", rec.allocations[t], pid)
            self._store("claim_score", rec.claim_scores[t], pid)
            self._store("stakes_pro", rec.stakes_pro[t], pid)
            self._store("stakes_con", rec.stakes_con[t], pid)
            self._store("claims_proposed", rec.n_claims[t], pid)
        return True

    # -- world actions: Validator --------------------------------------------------------------------------
    @action
    async def validate_epoch(self) -> bool:
        """Validator: judge the held-out observations with the current claims and allocations."""
        v = self.session.validate()
        rec = self.session.history[-1]
        self._store("val_accuracy", v.value)
        self._store("p_value", v.p_value)
        self._store("validation_metric", v.metric)
        tc = self.config.train
        print(
            f"[world] epoch {rec.epoch}/{tc.max_epochs} lr={rec.learning_rate:.3f} winner={rec.winner.value} "
            f"delta={rec.delta:.4f} {v.metric}={v.value:.1%} ({v.correct}/{v.n}) p={v.p_value:.3g}"
            + (" converged" if rec.converged else ""),
            flush=True,
        )
        return True

    @action
    async def announce_resolution(self) -> bool:
        """Tell every agent its new allocation (and, when training is over, the badges the world decided)."""
        rec = self.session.history[-1]
        if self.session.finished:
            when = clock.get_time_as_string()
            self.decided_badges = {}
            for d in self.session.badge_decisions(when):
                self.decided_badges.setdefault(self.peer_of[d.tendency], []).append(d)
        tendency_of = {pid: t for t, pid in self.peer_of.items()}

        def kwargs(pid):
            t = tendency_of[pid]
            badges = self.decided_badges.get(pid, [])
            return codec.resolution_request(rec.epoch, rec.allocations[t], rec.winner.value, badges)

        return await self._ask("resolution", self._tendency_peers(), kwargs)

    @action
    async def continue_training(self) -> bool:
        """True while training goes on (not converged, epochs left)."""
        return not self.session.finished

    @action
    async def finish_training(self) -> bool:
        """Once training is over: wait for the agents' badge suggestions, then close the run."""
        if not self.session.finished:
            return False
        now = clock.get_time()
        if self._finish_started_at < 0:
            self._finish_started_at = now
        pending = sum(len(v) for v in self.decided_badges.values())
        settled = all(
            self.stats.get_last_value("state", group_key=p) == "idle" for p in self._tendency_peers()
        )
        if (pending or not settled) and now - self._finish_started_at < BADGE_WAIT_S:
            return False  # wait for the badge suggestions and for every agent to report it is idle again
        if pending:
            print(f"[world] {pending} decided badge(s) were never suggested by their agents", flush=True)
        self._store("final_winner", self.session.history[-1].winner.value)
        self._store("final_allocations", {t.value: a for t, a in self.session.allocations.items()})
        self._store("badges", list(self.recorded_badges))
        self._store("training_finished", 1)
        self.stats.save_to_disk()
        self.debate_finished = True
        return True

    # -- agents -> world -------------------------------------------------------------------------------
    def consume_debate_reply(self, stat_name: str, value: Any, peer_id: str) -> None:
        """Record a tendency agent's claims or stakes for the current epoch (late answers are dropped).

        A malformed reply, or a second agent arguing for a tendency that already has one, is a protocol
        error: the world's next action fails naming it.
        """
        try:
            reply = codec.read_debate_reply(stat_name, value)
            known = self.peer_of.get(reply.tendency)
            if known is not None and known != peer_id:
                raise ValueError(f"two agents argue for {reply.tendency.value}: {known} and {peer_id}")
            if known is None:
                self.peer_of[reply.tendency] = peer_id
                self._store("tendency", reply.tendency.value, peer_id)
            if reply.epoch != self.session.epoch:
                return  # a late answer to an earlier epoch
            if stat_name == codec.PROPOSAL:
                self.session.record_claims(reply.tendency, reply.items)
            else:
                self.session.record_stakes(reply.tendency, reply.items)
            self._replied.add(peer_id)
        except Exception as e:  # add_peer_stats would only log it: make the world's next action fail instead
            self.protocol_errors.append(f"{stat_name} from {peer_id}: {e}")

    def record_debate_badge(self, peer_id: str, badge_type: str, agent_token: Any) -> None:
        """Award a tendency agent's suggested badge if the world decided it, else refuse it."""
        decisions = self.decided_badges.get(peer_id, [])
        match = next((d for d in decisions if d.badge_type == badge_type), None)
        if match is None:
            print(
                f"[world] rejected badge suggestion {badge_type!r} for {peer_id}: not decided by the world",
                flush=True,
            )
            return
        decisions.remove(match)
        self._award(peer_id, match.score, match.badge_type, agent_token, match.description)
        self.recorded_badges.append(
            {
                "tendency": match.tendency.value,
                "peer_id": peer_id,
                "badge_type": match.badge_type,
                "score": match.score,
                "reason": match.reason,
                "description": match.description,
            }
        )
