"""Role 'master': the agent that relays the world's requests to the other agents (see :mod:`.relay`).

Its behaviour (``master.json``, built by the world) is one state, ``relaying``, whose action
:meth:`WAgent.relay_requests` runs every tick: read the newest sample of the world's ``requests`` stream,
send each request not sent yet as an interaction to its target (connecting to agents it does not know yet,
by role), and report the sequence numbers sent through the stats (``relayed``). The master holds no model
and decides nothing: what to ask, whom and when is the world's.
"""

from unaiverse.agent import Agent, action
from unaiverse.clock import clock
from unaiverse.utils.logger import log

from . import relay


class WAgent(Agent):
    """The master agent of the training world."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending: dict[int, relay.RelayedRequest] = {}  # from the newest sample, not sent yet
        self.relayed: set[int] = set()  # sent, and still in the world's newest sample
        self.refused_samples = 0

    def _requests_stream(self):
        world = self.node_conn.get_world_node_peer_id() if self.node_conn is not None else None
        if world is None:
            return None
        for streams in self.find_streams(world, relay.REQUESTS_STREAM).values():
            for stream in streams.values():
                return stream
        return None

    def _read_sample(self) -> bool:
        """Take the newest sample, if a new one arrived; True when it listed requests already sent (the
        world has not seen the report yet: send it again)."""
        stream = self._requests_stream()
        text = stream.get(requested_by="master") if stream is not None else None
        if text is None:
            return False
        try:
            requests = relay.read_outbox(text)
        except ValueError as exc:
            self.refused_samples += 1
            log.error(f"refused a requests sample from the world: {exc}")
            return False
        seqs = {r.seq for r in requests}
        self.relayed &= seqs
        self.pending = {r.seq: r for r in requests if r.seq not in self.relayed}
        return bool(self.relayed)

    @action
    async def relay_requests(self) -> bool:
        """Send the world's pending requests to their targets; True when any was sent (or re-reported)."""
        report_again = self._read_sample()
        sent = []
        missing = False
        for seq, req in sorted(self.pending.items()):
            if req.target not in self.all_agents:
                missing = True
                continue
            if await self._send(
                action_name=req.action, target=req.target, action_kwargs=req.kwargs, volatile=True
            ):
                sent.append(seq)
        for seq in sent:
            self.relayed.add(seq)
            del self.pending[seq]
        if missing:  # a target the master has not met yet: get in touch with every agent of the world's roles
            roles = [r for r in self.CUSTOM_ROLES if r != relay.MASTER_ROLE]
            await self.connect_by_role(roles, accept_already_connected=True)
        if sent or report_again:
            _, own = self.get_peer_ids()
            self.stats.store_stat(
                relay.RELAYED, relay.dumps_relayed(self.relayed), group_key=own, timestamp=clock.get_time_ms()
            )
            await self.send_stats_to_world()
        return bool(sent)
