"""Role 'tendency': an agent arguing that one tendency drives the person's behaviour.

Its behaviour (``tendency.json``, built by the world) is idle -> proposing -> staking -> awaiting resolution
-> idle. Each arrow out of idle, proposing and awaiting resolution is a request from the world, served by the
action of the same name below; the claims and stakes go back to the world through the stats channel
(``proposal`` / ``stakes_payload``, shipped at once with ``send_stats_to_world``). The model is the agent's
processor, a ``agents.debater.TendencyDebater`` given by the run script.
"""

from unaiverse.agent import Agent, action
from unaiverse.clock import clock
from unaiverse.interaction import Interaction

from . import codec


class WAgent(Agent):
    """A tendency agent of the training world."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_store = None  # training observations the world sent with the last propose request
        self.epoch = 0
        self._reported_state = None

    async def on_tick(self):
        """Ship the stats to the world whenever the behaviour settled in a new state (the dashboard's
        agents' states follow the agents closely instead of every ``send_stats_every`` seconds)."""
        state = self.behav.get_state_name() if self.behav is not None else None
        if state is not None and state != self._reported_state and self.in_world():
            self._reported_state = state
            await self.send_stats_to_world()

    @property
    def debater(self):
        """The agent's model (an ``agents.debater.TendencyDebater``) inside unaiverse's processor wrapper."""
        proc = self.proc
        model = getattr(proc, "module", proc)
        if model is None or not hasattr(model, "propose"):
            raise RuntimeError("a tendency agent needs a TendencyDebater processor (see agents/debater.py)")
        return model

    async def _report(self, stat_name: str, payload: str) -> None:
        _, own = self.get_peer_ids()
        self.stats.store_stat(stat_name, payload, group_key=own, timestamp=clock.get_time_ms())
        await self.send_stats_to_world()

    @action
    async def propose(
        self,
        epoch: int = 0,
        observations: list | None = None,
        seed: int = 0,
        judge: str = "lexical",
        claims_per_agent: int = 3,
        evidence_per_claim: int = 5,
        exploration: float = 0.01,
        interaction: Interaction | None = None,
    ) -> bool:
        """World request: propose this epoch's claims from the training observations."""
        if observations:
            self.train_store = codec.observations_from_payload(observations)
        if self.train_store is None:
            return False
        self.epoch = int(epoch)
        claims = self.debater.propose(
            self.train_store, self.epoch, seed, judge, claims_per_agent, evidence_per_claim, exploration
        )
        await self._report(codec.PROPOSAL, codec.proposal_message(self.epoch, self.debater.tendency, claims))
        return True

    @action
    async def stake(
        self, epoch: int = 0, claims: list | None = None, interaction: Interaction | None = None
    ) -> bool:
        """World request: stake observations PRO on own claims and CON on rivals' (all claims of the epoch)."""
        if self.train_store is None or claims is None:
            return False
        stakes = self.debater.stake(self.train_store, codec.claims_of(claims))
        await self._report(codec.STAKES, codec.stakes_message(int(epoch), self.debater.tendency, stakes))
        return True

    @action
    async def resolution(
        self,
        epoch: int = 0,
        allocation: float = -1.0,
        winner: str = "",
        badges: list | None = None,
        interaction: Interaction | None = None,
    ) -> bool:
        """World request: the epoch is resolved; adopt the allocation the world computed and suggest the
        badges the world said this agent earned (the world records only what it decided)."""
        if allocation < 0:
            return False
        self.debater.apply_resolution(allocation)
        await codec.suggest_badges(self, badges)
        return True
