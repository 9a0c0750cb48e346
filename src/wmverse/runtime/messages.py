"""How a local node handles each kind of unaiverse message it receives (Node's message loop, locally).

Handshakes (PROFILE / AGENT_APPROVAL), interaction requests and statuses, stream samples, role
suggestions, HSM edits from world masters, badge suggestions and the stats exchange.

:func:`dispatch` works on any :class:`Receiver`: the node's public attributes and its two public
operations ``purge`` and ``become_role`` (``LocalNode`` is one; this module does not import it).
"""

from __future__ import annotations

from typing import Any, Protocol

from unaiverse.networking.node.profile import NodeProfile
from unaiverse.networking.p2p.messages import Msg
from unaiverse.utils.logger import log

from wmverse.runtime.conn import LocalConn, Router


class Receiver(Protocol):
    """What :func:`dispatch` uses of the node that received a message."""

    AGENT: str
    WORLD: str
    node_type: str
    hosted: Any  # the hosted unaiverse Agent or World
    conn: LocalConn
    router: Router
    profile: NodeProfile
    private_peer_id: str
    joined_world: Any  # the world node an agent joined (None before)
    agents_expected_to_send_ack: dict[str, dict]

    async def purge(self, peer_id: str) -> None:
        """Forgets ``peer_id``: the hosted entity drops it and the connection is closed on both sides."""

    def become_role(
        self, role: int, world_node: Any, world_profile: NodeProfile | None, changing: bool
    ) -> None:
        """The hosted agent becomes ``role`` in the world of ``world_node``."""


def stats_answer(world: Any, filters: dict[str, Any] | None, asker: str) -> dict[str, Any] | None:
    """The world's answer to a STATS_REQUEST: data shaped as ``Stats.get_view`` (``{"world", "peers"}``),
    which the asker merges into its view. With ``stat_names``: ``answer_stats_request`` (a query of the
    stats' history), as live; without: the whole view since ``time_range`` (ms), where a live world
    sends its rendered dashboard page (megabytes of HTML and plotly.js) instead."""
    filters = filters or {}
    if filters.get("stat_names"):
        return world.answer_stats_request(filters, asker)
    return world.stats.get_view(since_timestamp=filters.get("time_range", 0) or 0)


#: The state-machine methods a world master may call on an agent's behaviour by message: edits of the
#: machine in memory. ``save``, ``load``, ``include``, ``save_pdf``... (files, code) are never reachable.
HSM_EDITS = frozenset(
    {
        "add_state",
        "add_transit",
        "add_teleport",
        "add_global_teleport",
        "set_state",
        "reset_state",
        "enable",
        "set_actionable",
        "set_wildcards",
        "add_wildcards",
        "update_wildcard",
        "set_welcome_message",
    }
)


def _plain(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _hsm_edit(content: Any) -> tuple[str | None, list[Any]]:
    """``(method, args)`` of an HSM request when it is an allowed edit with plain arguments, else (None, [])."""
    if not isinstance(content, dict):
        return None, []
    method, args = content.get("method"), content.get("args", [])
    if method not in HSM_EDITS or not isinstance(args, list | tuple) or not _plain(args):
        return None, []
    return method, list(args)


def priority(msg: Msg) -> int:
    """Sort key: world approvals, then agent approvals, then interactions, then the rest (as Node)."""
    order = {Msg.WORLD_APPROVAL: 0, Msg.AGENT_APPROVAL: 1, Msg.INTERACTION: 2}
    return order.get(msg.content_type, 3)


async def dispatch(node: Receiver, msg: Msg) -> None:
    """Handles one received message as Node.__handle_network_messages does (the cases a local run needs)."""
    ct = msg.content_type
    sender = msg.sender
    hosted = node.hosted
    if ct == Msg.PROFILE:
        profile = NodeProfile.from_dict(msg.content)
        if sender in hosted.all_agents:
            await hosted.add_agent(peer_id=sender, profile=profile)
        elif node.conn.is_connected(sender):
            reply = node.conn.make_msg(
                sender, Msg.AGENT_APPROVAL, {"my_profile": node.profile.get_all_profile()}
            )
            if await hosted.add_agent(peer_id=sender, profile=profile):
                node.router.deliver(reply, sender)
            else:
                await node.purge(sender)
    elif ct == Msg.AGENT_APPROVAL:
        if sender in node.agents_expected_to_send_ack:
            profile = NodeProfile.from_dict(msg.content["my_profile"])
            if await hosted.add_agent(peer_id=sender, profile=profile):
                del node.agents_expected_to_send_ack[sender]
            else:
                await node.purge(sender)
        else:
            log.error("Unexpected agent-connect approval, removing (disconnecting) " + sender)
    elif ct == Msg.INTERACTION:
        if node.node_type == node.AGENT:
            if sender not in hosted.all_agents:
                log.error("Unexpected interaction from unknown node: " + sender)
            elif hosted.im.room_for_registration():
                hosted.inject_received_interaction(sender, msg.content)
        else:  # as live (node.py:2386): a world takes no interaction, and drops whoever sends one
            log.error("Unexpected interaction received by this world node, sent by: " + sender)
            await node.purge(sender)
    elif ct == Msg.INTERACTION_STATUS:
        await hosted.im.update_sent_status(msg.content)
    elif ct == Msg.STREAM_SAMPLE:
        if node.node_type == node.AGENT:
            hosted.get_stream_sample(net_hash=msg.channel, sample_dict=msg.content)
        else:  # as live (node.py:2367)
            log.error("Unexpected stream samples received by this world node, sent by: " + sender)
            await node.purge(sender)
    elif ct == Msg.ROLE_SUGGESTION:
        if node.node_type == node.AGENT:
            if (
                sender == node.conn.get_world_node_peer_id()
                and msg.content["peer_id"] == node.private_peer_id
            ):
                node.become_role(msg.content["role"], node.joined_world, None, changing=True)
        elif sender in hosted.world_masters:
            for suggestion in msg.content:
                await hosted.set_role(peer_id=suggestion["peer_id"], role=suggestion["role"])
    elif ct == Msg.HSM:
        if node.node_type == node.AGENT and sender in hosted.world_masters:
            method, args = _hsm_edit(msg.content)
            if method is None:
                log.error(
                    f"Refused an HSM request from {sender}: only {sorted(HSM_EDITS)} with plain arguments"
                )
            elif not getattr(hosted.behav, method)(*args):
                log.error(f"Cannot run HSM action named {method} with args {args}")
    elif ct == Msg.BADGE_SUGGESTIONS:
        if node.node_type == node.WORLD:
            for badge in msg.content:
                hosted.add_badge(**badge)
    elif ct == Msg.STATS_UPDATE:
        if node.node_type == node.WORLD and sender in hosted.all_agents:
            hosted.add_peer_stats(msg.content)
    elif ct == Msg.STATS_REQUEST:
        if node.node_type == node.WORLD:
            await node.conn.send(sender, None, Msg.STATS_RESPONSE, stats_answer(hosted, msg.content, sender))
    elif ct == Msg.STATS_RESPONSE:
        if (
            node.node_type == node.AGENT
            and isinstance(msg.content, dict)
            and ("world" in msg.content or "peers" in msg.content)
        ):
            hosted.update_stats_view(msg.content, hosted.overwrite_stats)
    else:
        log.misc(f"Local runtime ignores a {ct} message from {sender}")
