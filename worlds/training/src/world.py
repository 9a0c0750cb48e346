"""The training world: seven tendency agents debate a person, three learners train world models.

``WWorld`` assigns every joiner a role (``Learner<Kind>`` nodes are learners, ``Tendency<Name>`` nodes argue
for a tendency, ``TrainingMaster`` relays the world's requests; anyone else is refused), writes the roles'
behaviour files from the tables in :mod:`.behaviours`, and runs two state machines of its own every tick:
the debate (:class:`.debate_host.DebateHost`: the Trainer and the Validator as world actions) and the
learners' plans (:class:`.learner_host.LearnerHost`). Its requests reach the agents through the master, as
live unaiverse requires (:mod:`.relay`); agents answer through the stats channel; :mod:`.codec` reads and
checks every answer. The world decides every badge (agents suggest,
the world records only what it decided) and finishes when the debate AND every joined learner are done.

Configuration comes from ``WMVERSE_*`` environment variables (:meth:`.config.TrainingWorldConfig.from_env`
and the learners' :meth:`from_env` in :mod:`.learner_plans`).
"""

import importlib
import os
from pathlib import Path

from unaiverse.clock import clock
from unaiverse.networking.node.profile import NodeProfile
from unaiverse.world import World

from . import codec
from .behaviours import MASTER, TENDENCY, WORLD_DEBATE, learner_behaviour
from .config import TrainingWorldConfig
from .debate_host import ROLE, DebateHost
from .learner_host import LearnerHost
from .relay import MASTER_NODE, MASTER_ROLE, RELAYED, RequestRelay
from .stats import WStats
from .summary import format_summary


class WWorld(DebateHost, LearnerHost, RequestRelay, World):
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

        self.finished = False  # debate done AND every joined learner done
        self.init_relay()
        self.init_debate(self.config)
        self.init_learners()
        self.dashboard_path: str | None = None
        self.behav = WORLD_DEBATE.build(self)

    # -- roles and behaviours --------------------------------------------------------------------------
    def assign_role(self, profile: NodeProfile, is_world_master: bool) -> str | None:
        """``Learner<Kind>`` nodes are learners, ``Tendency<Name>`` nodes argue for that tendency of the
        session; anyone else gets no role (the join is refused: a stranger cannot take part in the debate)."""
        learner = self.learner_role(profile)
        if learner is not None:
            return learner
        name = str(profile.get_static_profile().get("node_name") or "").lower()
        if name == MASTER_NODE.lower():
            return MASTER_ROLE
        roster = {f"tendency{t.value}" for t in self.session.tendencies}
        return ROLE if name in roster else None

    async def add_agent(self, peer_id, profile, *args, **kwargs) -> bool:
        """Register the agent; learners also get a tracker of their plan."""
        added = await super().add_agent(peer_id, profile, *args, **kwargs)
        kind = self.learner_role(profile)
        if added is not False and kind is not None:
            self.register_learner(peer_id, kind)
        return added

    def create_behav_files(self):
        """Write every role's behaviour file (``tendency.json``, ``<kind>.json``) from its table."""

        def save(behaviour, stem):
            dummy = importlib.import_module(f"{__package__}.{stem}").WAgent(proc=None)
            machine = behaviour.build(dummy)
            machine.save(os.path.join(self.world_folder, f"{behaviour.role}.json"), only_if_changed=dummy)

        save(TENDENCY, "tendency")
        save(MASTER, "master")
        for kind, spec in self.learner_specs.items():
            save(learner_behaviour(kind, spec.title, spec.train_actions), kind)

    # -- shared helpers of the two hosts ---------------------------------------------------------------
    def _store(self, name, value, group_key=None):
        self.stats.store_stat(
            name, value, group_key=group_key or self.get_peer_ids()[1], timestamp=clock.get_time_ms()
        )

    def _award(self, peer_id, score, badge_type, agent_token, description) -> None:
        """Record a badge the world decided (unaiverse's ``World.add_badge``)."""
        World.add_badge(
            self,
            peer_id=peer_id,
            score=score,
            badge_type=badge_type,
            agent_token=agent_token,
            badge_description=description,
        )

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
        self.republish_requests()

    # -- agents -> world -------------------------------------------------------------------------------
    def _process_custom_stat(self, stat_name, value, peer_id, timestamp):
        """Consume the agents' proposals, stakes and learner reports (never stored as stats)."""
        if stat_name == codec.LEARNER_REPORT:
            try:
                self.consume_learner_report(value, peer_id)
            except Exception as e:
                self.protocol_errors.append(f"{stat_name} from {peer_id}: {e}")
            return True
        if stat_name == RELAYED:
            try:
                self.consume_relayed(value, peer_id)
            except Exception as e:
                self.protocol_errors.append(f"{stat_name} from {peer_id}: {e}")
            return True
        if stat_name in (codec.PROPOSAL, codec.STAKES):
            self.consume_debate_reply(stat_name, value, peer_id)
            return True
        return False

    def add_badge(self, peer_id, score, badge_type, agent_token, badge_description=None):
        """Record a suggested badge only if the world decided it (agents suggest, the world decides)."""
        if not self.record_learner_badge(peer_id, badge_type, agent_token):
            self.record_debate_badge(peer_id, badge_type, agent_token)

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
