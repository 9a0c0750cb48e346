"""The training world: seven tendency agents debate, the world trains and validates (issue 3).

``WWorld`` assigns every joiner the role ``tendency``, writes that role's behaviour (``tendency.json``),
holds the observations and the held-out split (in a ``wmverse.world.TrainingSession``) and runs the
Trainer and the Validator as WORLD ACTIONS of its own state machine (``self.behav``)::

    waiting_for_tendencies -> ready -> collecting_proposals -> proposals_in -> collecting_stakes
    -> stakes_in -> resolved -> validated -> announced -> ready (next epoch) | finished

Requests to agents are unaiverse interactions (``propose``, ``stake``, ``resolution``); agents answer
through the stats channel (``proposal``, ``stakes_payload``), consumed in ``_process_custom_stat``. When
training finishes (Trainer's convergence rule or max epochs) the last ``resolution`` tells the agents
which badges the world decided; each agent suggests its own (``suggest_badges_to_world``) and the world
records only suggestions that match its decision (agents suggest, the world decides).

Learners (issues 4-6): agents named ``Learner<Kind>`` join as ``leworld``, ``canvas`` or ``dynamics``; a
second state machine of the world (``self.learner_behav``, from ``wmverse.world.learners.hosting``) sends
them their training steps as requests (phases, curriculum phases, env steps, evaluation), records their
reports as stats and decides their badges. The world finishes when the debate AND every joined learner
are done.

Configuration comes from ``WMVERSE_*`` environment variables (``TrainingWorldConfig.from_env``, and the
learners' specs ``wmverse.world.learners.*.from_env``).
"""

import importlib
import json
import os
from pathlib import Path

from unaiverse.agent import action
from unaiverse.clock import clock
from unaiverse.hsm import HybridStateMachine
from unaiverse.networking.node.profile import NodeProfile
from unaiverse.world import World

from wmverse.debate.tendency import parse_tendency
from . import codec
from .config import TrainingWorldConfig
from .learner_host import LearnerHost
from .session import TrainingSession
from .stats import WStats
from .summary import format_summary

ROLE = "tendency"
RESEND_AFTER_S = 10.0  # simulated seconds before a request is sent again to agents that did not answer
BADGE_WAIT_S = 20.0  # simulated seconds the world waits for the agents' badge suggestions


class WWorld(LearnerHost, World):
    """The world hosting the debate and the learners; see the module docstring."""

    def __init__(self, config: TrainingWorldConfig | None = None, **kwargs):
        self.config = config if config is not None else TrainingWorldConfig.from_env()
        out_dir = Path(self.config.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        db = self.config.stats_db_path
        for suffix in ("", "-wal", "-shm"):  # a training run starts from an empty database
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        self.stats_db_path = str(db)
        world_folder = os.path.dirname(os.path.abspath(__file__))
        stats = WStats(is_world=True, db_path=self.stats_db_path, cache_window_hours=24.0)
        super().__init__(world_folder=world_folder, stats=stats, **kwargs)

        self.session = TrainingSession(self.config)
        self.finished = False  # debate done AND every joined learner done
        self.debate_finished = False
        self.init_learners()
        self.dashboard_path: str | None = None
        self.peer_of = {}  # tendency -> peer id (learnt from the agents' first proposals)
        self.protocol_errors: list[str] = []
        self.decided_badges = {}  # peer id -> list of BadgeDecision still to be suggested by that agent
        self.recorded_badges: list[dict] = []
        self._replied: set[str] = set()
        self._asked: set[tuple[str, str]] = set()
        self._asked_at = 0.0
        self._finish_started_at = -1.0
        self.behav = self._build_world_behaviour()

    # -- roles and behaviours --------------------------------------------------------------------------
    def assign_role(self, profile: NodeProfile, is_world_master: bool) -> str:
        """``Learner<Kind>`` nodes are learners; every other joiner argues for a tendency (which one is
        decided by its processor)."""
        return self.learner_role(profile) or ROLE

    async def add_agent(self, peer_id, profile, *args, **kwargs) -> bool:
        """Register the agent; learners also get a tracker of their plan."""
        added = await super().add_agent(peer_id, profile, *args, **kwargs)
        kind = self.learner_role(profile)
        if added is not False and kind is not None:
            self.register_learner(peer_id, kind)
        return added

    def create_behav_files(self):
        """Write ``tendency.json``: idle -> proposing -> staking -> awaiting_resolution -> idle."""
        from .tendency import WAgent

        dummy = WAgent(proc=None)
        behav = HybridStateMachine(dummy)
        behav.set_welcome_message("🧭 Joined the training world as a tendency agent")
        behav.set_role(ROLE)
        behav.add_state("idle", msg="💤 Idle: waiting for the world to open an epoch")
        behav.add_state("proposing", msg="📨 Claims sent to the world, waiting for the call to stake")
        behav.add_state("staking", msg="📨 Stakes sent to the world")
        behav.add_state("awaiting_resolution", msg="⏳ Awaiting the world's resolution")
        behav.add_transit("idle", "proposing", action="propose", msg="📝 Proposing claims")
        behav.add_transit("proposing", "staking", action="stake", msg="⚖️ Staking observations")
        behav.add_transit("staking", "awaiting_resolution", action="nop")
        behav.add_transit(
            "awaiting_resolution", "idle", action="resolution", msg="📊 Adopting the new allocation"
        )
        # A lost resolution must not leave an agent deaf to the next epoch
        behav.add_transit("awaiting_resolution", "proposing", action="propose", msg="📝 Proposing claims")
        behav.set_state("idle")
        behav.save(os.path.join(self.world_folder, f"{ROLE}.json"), only_if_changed=dummy)

        def learner_agent(kind):
            return importlib.import_module(f"{__package__}.{kind}").WAgent(proc=None)

        self.write_learner_behaviours(self.world_folder, learner_agent)

    def _build_world_behaviour(self) -> HybridStateMachine:
        b = HybridStateMachine(self)
        b.set_welcome_message("🌍 Training world up: waiting for the seven tendency agents")
        b.add_state("waiting_for_tendencies", msg="👥 Waiting for the seven tendency agents")
        b.add_transit(
            "waiting_for_tendencies", "ready", action="tendencies_joined", msg="👥 All tendencies joined"
        )
        b.add_transit(
            "ready",
            "collecting_proposals",
            action="ask_to_propose",
            msg="📣 Asking every tendency to propose",
        )
        b.add_transit(
            "collecting_proposals", "proposals_in", action="proposals_received", msg="📥 All claims in"
        )
        b.add_transit(
            "proposals_in",
            "collecting_stakes",
            action="ask_to_stake",
            msg="📣 Asking every tendency to stake",
        )
        b.add_transit("collecting_stakes", "stakes_in", action="stakes_received", msg="📥 All stakes in")
        b.add_transit(
            "stakes_in", "resolved", action="resolve_epoch", msg="🏛️ Trainer: resolve, reallocate, decay lr"
        )
        b.add_transit(
            "resolved", "validated", action="validate_epoch", msg="🔎 Validator: judging held-out data"
        )
        b.add_transit(
            "validated", "announced", action="announce_resolution", msg="📣 Announcing the resolution"
        )
        b.add_transit("announced", "ready", action="continue_training")
        b.add_transit("announced", "finished", action="finish_training")
        b.add_state("finished", msg="🏁 Training finished", blocking=True)
        b.set_state("waiting_for_tendencies")
        return b

    # -- helpers ---------------------------------------------------------------------------------------
    def _tendency_peers(self) -> list[str]:
        peers = []
        for pid, profile in self.all_agents.items():
            role = str(profile.get_dynamic_profile().get("connections", {}).get("role", ""))
            if role.split("~")[-1] == ROLE:
                peers.append(pid)
        return sorted(peers)

    def _store(self, name, value, group_key=None):
        self.stats.store_stat(
            name, value, group_key=group_key or self.get_peer_ids()[1], timestamp=clock.get_time_ms()
        )

    def _check_protocol(self) -> None:
        if self.protocol_errors:
            raise RuntimeError("tendency agents broke the protocol: " + "; ".join(self.protocol_errors))

    async def _ask(self, action_name: str, peers: list[str], per_peer_kwargs) -> bool:
        """Send ``action_name`` to every peer not asked yet in this phase; True once all were reached.

        Requests are volatile (fire and forget): the answers come back through the stats channel, and an
        agent does not report completion to a world it never handshook as a peer.
        """
        for pid in peers:
            if (action_name, pid) in self._asked:
                continue
            inter = await self._send(
                action_name=action_name, target=pid, action_kwargs=per_peer_kwargs(pid), volatile=True
            )
            if inter is not None:
                self._asked.add((action_name, pid))
        self._asked_at = clock.get_time()
        return all((action_name, pid) in self._asked for pid in peers)

    async def on_tick(self):
        """Interaction housekeeping every tick (what ``AgentBasics.behave`` does for agents): close the
        fire-and-forget requests and drain completed ones, so the manager never fills up."""
        await self.im.complete_expired()
        self.im.drain_completed()
        await self.learner_behav.act()
        if self.debate_finished and self.learners_done and not self.finished:
            self._store("learners_finished", 1)
            self.stats.save_to_disk()
            self.finished = True

    def _missing_replies(self) -> list[str]:
        return [p for p in self._tendency_peers() if p not in self._replied]

    # -- world actions: Trainer ----------------------------------------------------------------------------
    @action
    async def tendencies_joined(self) -> bool:
        """True once seven tendency agents are in the world."""
        return len(self._tendency_peers()) >= len(self.session.tendencies)

    @action
    async def ask_to_propose(self) -> bool:
        """Open the next epoch and ask every tendency agent to propose claims."""
        self._check_protocol()
        epoch = self.session.begin_epoch()
        self._replied, self._asked = set(), set()
        payload = self.session.training_payload()
        settings = self.session.request_settings()
        return await self._ask(
            "propose",
            self._tendency_peers(),
            lambda pid: {"epoch": epoch, "observations": payload, **settings},
        )

    @action
    async def proposals_received(self) -> bool:
        """True when every tendency's claims arrived; re-asks silent agents after a while."""
        self._check_protocol()
        if self.session.has_all_claims():
            return True
        missing = self._missing_replies()
        if missing and clock.get_time() - self._asked_at > RESEND_AFTER_S:
            payload, settings, epoch = (
                self.session.training_payload(),
                self.session.request_settings(),
                self.session.epoch,
            )
            self._asked -= {("propose", p) for p in missing}
            await self._ask(
                "propose", missing, lambda pid: {"epoch": epoch, "observations": payload, **settings}
            )
        return False

    @action
    async def ask_to_stake(self) -> bool:
        """Send every claim of the epoch to every tendency agent and ask it to stake."""
        self._replied = set()
        claims = codec.encode(self.session.all_claims())
        epoch = self.session.epoch
        return await self._ask(
            "stake", self._tendency_peers(), lambda pid: {"epoch": epoch, "claims": claims}
        )

    @action
    async def stakes_received(self) -> bool:
        """True when every tendency's stakes arrived; re-asks silent agents after a while."""
        self._check_protocol()
        if self.session.has_all_stakes():
            return True
        missing = self._missing_replies()
        if missing and clock.get_time() - self._asked_at > RESEND_AFTER_S:
            claims, epoch = codec.encode(self.session.all_claims()), self.session.epoch
            self._asked -= {("stake", p) for p in missing}
            await self._ask("stake", missing, lambda pid: {"epoch": epoch, "claims": claims})
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
            badges = [
                {"badge_type": d.badge_type, "score": d.score, "badge_description": d.description}
                for d in self.decided_badges.get(pid, [])
            ]
            return {
                "epoch": rec.epoch,
                "allocation": rec.allocations[t],
                "winner": rec.winner.value,
                "badges": badges,
            }

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
    def _process_custom_stat(self, stat_name, value, peer_id, timestamp):
        """Consume the agents' proposals, stakes and learner reports (never stored as stats)."""
        if stat_name == "learner_report":
            try:
                self.consume_learner_report(value, peer_id)
            except Exception as e:
                self.protocol_errors.append(f"{stat_name} from {peer_id}: {e}")
            return True
        if stat_name not in ("proposal", "stakes_payload"):
            return False
        try:
            body = json.loads(value)
            tendency = parse_tendency(body["tendency"])
            known = self.peer_of.get(tendency)
            if known is not None and known != peer_id:
                raise ValueError(f"two agents argue for {tendency.value}: {known} and {peer_id}")
            if known is None:
                self.peer_of[tendency] = peer_id
                self._store("tendency", tendency.value, peer_id)
            if int(body["epoch"]) != self.session.epoch:
                return True  # a late answer to an earlier epoch
            if stat_name == "proposal":
                self.session.record_claims(tendency, codec.decode(body["claims"]))
            else:
                self.session.record_stakes(tendency, codec.decode(body["stakes"]))
            self._replied.add(peer_id)
        except Exception as e:  # add_peer_stats would only log it: make the world's next action fail instead
            self.protocol_errors.append(f"{stat_name} from {peer_id}: {e}")
        return True

    def add_badge(self, peer_id, score, badge_type, agent_token, badge_description=None):
        """Record a badge only if the world decided it (agents suggest, the world decides)."""
        learner = self.learner_badges.get(peer_id)
        if learner is not None and learner["badge"].badge_type == badge_type:
            b = self.learner_badges.pop(peer_id)["badge"]
            super().add_badge(peer_id, b.score, b.badge_type, agent_token, b.description)
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
            return
        decisions = self.decided_badges.get(peer_id, [])
        match = next((d for d in decisions if d.badge_type == badge_type), None)
        if match is None:
            print(
                f"[world] rejected badge suggestion {badge_type!r} for {peer_id}: not decided by the world",
                flush=True,
            )
            return
        decisions.remove(match)
        super().add_badge(
            peer_id=peer_id,
            score=match.score,
            badge_type=match.badge_type,
            agent_token=agent_token,
            badge_description=match.description,
        )
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

    # -- end-of-run hooks (runtime contract) -------------------------------------------------------------
    def is_finished(self) -> bool:
        """True once the debate finished (converged or max epochs, badges settled) and every joined learner
        was evaluated and told its badge."""
        return self.finished

    def render_dashboard(self, path: str | None = None) -> str:
        """Write the self-contained dashboard (plotly.js inlined) and return its path."""
        target = Path(path) if path else self.config.dashboard_path
        target.parent.mkdir(parents=True, exist_ok=True)
        html = self.stats.plot()
        if html is None:
            raise RuntimeError("no stats to draw yet")
        target.write_text(html, encoding="utf-8")
        self.dashboard_path = str(target)
        return self.dashboard_path

    def summary(self) -> str:
        """Allocation table, validation accuracy and p-value, badges (the runtime adds the output paths)."""
        text = format_summary(self.session, self.recorded_badges)
        lines = self.learner_summary_lines()
        if lines:
            text += "\n\nLearners:\n" + "\n".join("  " + line for line in lines)
        return text
