"""The world's requests to its agents, relayed by the master agent, as live unaiverse 0.1.31 requires.

A live agent accepts an interaction only from a peer it knows as an agent (``node.py:2375``), and a world node
never is one: the world cannot ask its agents anything directly. So its requests take this route:

1. A world action queues a request (:meth:`RequestRelay._request`): a sequence number, the target's peer id,
   the action and its keyword arguments.
2. The world publishes its pending requests on its own pubsub text stream :data:`REQUESTS_STREAM` (JSON,
   :func:`outbox_text`) whenever they change, and again every :data:`REPUBLISH_S` simulated seconds while any
   is pending; nothing is published while none is. A sample set during a tick goes out at the world's next
   cycle (unaiverse sends stream samples at the start of a cycle).
3. The master agent (role :data:`MASTER_ROLE`, node :data:`MASTER_NODE`, :mod:`.master`) reads each sample
   (checked by :func:`read_outbox`), sends every request it has not sent yet as an interaction from itself
   to the target (volatile, fire and forget), and reports the sequence numbers it sent through its stats
   (:data:`RELAYED`).
4. The world drops a request once the master reports it relayed (:meth:`RequestRelay.consume_relayed`).

A lost sample costs a republish; the master sends each sequence number once. Only a peer holding the master
role is listened to. The agents answer the world through their stats, as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from unaiverse.clock import clock
from unaiverse.streams.streams import Stream

__all__ = [
    "MASTER_NODE",
    "MASTER_ROLE",
    "MAX_OUTBOX_CHARS",
    "RELAYED",
    "REPUBLISH_S",
    "REQUESTS_STREAM",
    "RelayedRequest",
    "RequestRelay",
    "dumps_relayed",
    "outbox_text",
    "read_outbox",
    "read_relayed",
]

MASTER_ROLE = "master"
MASTER_NODE = "TrainingMaster"
REQUESTS_STREAM = "requests"
#: The master's stat listing the sequence numbers it relayed (JSON list of ints).
RELAYED = "relayed"
#: Simulated seconds between two publications of the same pending requests (a sample lost on the way).
REPUBLISH_S = 2.0
#: Largest outbox sample the master reads (characters of JSON); a bigger one is refused whole.
MAX_OUTBOX_CHARS = 16 * 1024 * 1024
_MAX_NAME = 64


@dataclass(frozen=True)
class RelayedRequest:
    """One request of the world: send ``action`` with ``kwargs`` to the agent ``target`` (a peer id)."""

    seq: int
    target: str
    action: str
    kwargs: dict[str, Any]


def outbox_text(requests: list[RelayedRequest]) -> str:
    """The stream sample for ``requests``: ``{"requests": [{"seq", "target", "action", "kwargs"}, ...]}``."""
    return json.dumps(
        {
            "requests": [
                {"seq": r.seq, "target": r.target, "action": r.action, "kwargs": r.kwargs} for r in requests
            ]
        },
        separators=(",", ":"),
    )


def read_outbox(text: Any) -> list[RelayedRequest]:
    """The requests of an outbox sample; ``ValueError`` naming what is wrong for anything malformed."""
    if not isinstance(text, str):
        raise ValueError(f"an outbox sample is JSON text, got {type(text).__name__}")
    if len(text) > MAX_OUTBOX_CHARS:
        raise ValueError(f"an outbox sample of {len(text)} characters is over {MAX_OUTBOX_CHARS}")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"an outbox sample is not JSON: {exc}"[:200]) from None
    items = data.get("requests") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("an outbox sample is an object with a 'requests' list")
    out = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"seq", "target", "action", "kwargs"}:
            raise ValueError("an outbox request has exactly the keys seq, target, action, kwargs")
        seq, target, act, kwargs = item["seq"], item["target"], item["action"], item["kwargs"]
        if type(seq) is not int or seq < 0:
            raise ValueError(f"an outbox request's seq is a non-negative integer, got {seq!r}"[:200])
        for name, value in (("target", target), ("action", act)):
            if not isinstance(value, str) or not 0 < len(value) <= _MAX_NAME or not value.isprintable():
                raise ValueError(f"an outbox request's {name} is a short printable string"[:200])
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise ValueError("an outbox request's kwargs is an object")
        out.append(RelayedRequest(seq, target, act, kwargs))
    return out


def dumps_relayed(seqs: Any) -> str:
    """The :data:`RELAYED` stat for the sequence numbers ``seqs`` (sorted JSON list)."""
    return json.dumps(sorted(seqs))


def read_relayed(value: Any) -> list[int]:
    """The sequence numbers of a :data:`RELAYED` stat (JSON text or a list); ``ValueError`` otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"a relayed report is not JSON: {exc}"[:200]) from None
    if not isinstance(value, list) or not all(type(s) is int and s >= 0 for s in value):
        raise ValueError("a relayed report is a list of non-negative integers")
    return value


class RequestRelay:
    """World mixin: queue requests, publish them for the master, drop them once relayed.

    Call :meth:`init_relay` in ``__init__`` (after ``World.__init__``) and :meth:`republish_requests` every
    tick. The host provides ``add_stream`` and ``all_agents`` (a unaiverse ``World`` does).
    """

    def init_relay(self) -> None:
        """Create the requests stream and an empty outbox."""
        added = self.add_stream(Stream(name=REQUESTS_STREAM, data_type="text", pubsub=True))
        self.requests_stream = next(iter(added.values()))
        self.outbox: dict[int, RelayedRequest] = {}
        self._next_seq = 0
        self._published_at = -1.0

    def master_peers(self) -> list[str]:
        """Peer ids of the joined agents holding the master role."""
        return sorted(p for p, prof in self.all_agents.items() if _role_of(prof) == MASTER_ROLE)

    async def _request(self, action_name: str, target: str, action_kwargs: dict[str, Any]) -> bool:
        """Queue ``action_name(**action_kwargs)`` for the agent ``target`` and publish; True (the master
        sends it)."""
        self.outbox[self._next_seq] = RelayedRequest(self._next_seq, target, action_name, action_kwargs)
        self._next_seq += 1
        self._publish()
        return True

    def _publish(self) -> None:
        """Set the stream's sample to the pending requests (sent at the world's next cycle), or clear it
        when none is pending (nothing is sent)."""
        if self.outbox:
            self.requests_stream.set(outbox_text(list(self.outbox.values())))
            self._published_at = clock.get_time()
        elif self.requests_stream.has_data(None):
            self.requests_stream.clear_data(None)

    def republish_requests(self) -> None:
        """Every tick: drop the requests to agents that left the world, and publish the pending ones again
        once :data:`REPUBLISH_S` passed since the last time (a sample lost on the way, or the master's report
        of it)."""
        gone = [seq for seq, r in self.outbox.items() if r.target not in self.all_agents]
        for seq in gone:
            del self.outbox[seq]
        if gone or (self.outbox and clock.get_time() - self._published_at >= REPUBLISH_S):
            self._publish()

    def consume_relayed(self, value: Any, peer_id: str) -> None:
        """Drop the requests the master ``peer_id`` reports relayed; a report from anyone else is an error."""
        if peer_id not in self.master_peers():
            raise ValueError(f"a relayed report from {peer_id}, which is not the world's master")
        dropped = [seq for seq in read_relayed(value) if self.outbox.pop(seq, None) is not None]
        if dropped:
            self._publish()


def _role_of(profile: Any) -> str:
    role = str(profile.get_dynamic_profile().get("connections", {}).get("role", ""))
    return role.split("~")[-1]
