"""One tick between a hub and its remotes, and what happens to a remote that is lost.

:class:`HubTicks` is the ticking half of :class:`~wmverse.runtime.hub.Hub`: every active remote gets a
``tick`` (time, node directory, membership, join answers, the operations addressed to its nodes) and answers
``done`` (after any number of ``busy``), checked by :func:`~wmverse.runtime.hub_checks.check_done` before
its operations are routed. A remote that broke the protocol is dropped (and a libp2p peer banned); one that
went silent or away is *lost*: its node names stay reserved for its peer id for ``rejoin_window_s``, so that
it can come back with the same identity; when the window ends without it, the run ends with exit 1
naming the missing agents (``HubConfig.rejoin_window_s``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from wmverse.runtime.channels import ChannelClosed, PeerUnreachable, ProtocolError
from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.hub_checks import Refused, brief, check_done, clean_line
from wmverse.runtime.wire import RemoteLink, RemoteNode, forget_remote_node, node_entry, set_subscription

__all__ = ["HubTicks", "LostRemote"]


class LostRemote:
    """A remote that went away: its names, its peer, and until when they are kept for it."""

    def __init__(self, link: RemoteLink, window_s: float, tick: int) -> None:
        self.names = sorted(link.names)
        self.peer = link.peer
        self.label = link.label
        self.tick = tick
        self.deadline = time.monotonic() + window_s


class HubTicks:
    """Mixin of :class:`~wmverse.runtime.hub.Hub` (which holds the attributes used here)."""

    def _directory(self) -> list[dict[str, Any]]:
        local = [node_entry(n, 0) for n in self.runtime.running]
        return local + [e for lk in self.links if lk.active for e in lk.entries]

    async def _remote_phase(self) -> None:
        active = sorted((lk for lk in self.links if lk.active), key=lambda lk: lk.rank)
        if not active:
            return
        runtime = self.runtime
        nodes = self._directory()
        nodes_json = json.dumps(nodes, sort_keys=True)
        members_json = json.dumps(runtime.router.members, sort_keys=True)
        elapsed_us = round(runtime.clock.elapsed_s * 1_000_000)

        async def exchange(link: RemoteLink) -> tuple[dict[str, Any], list[bytes]]:
            ops, blobs = link.queue.take()
            header: dict[str, Any] = {
                "type": "tick",
                "t": runtime.steps,
                "elapsed_us": elapsed_us,
                "ops": ops,
            }
            if link.sent_nodes != nodes_json:
                header["nodes"], link.sent_nodes = nodes, nodes_json
            if link.sent_members != members_json:
                header["members"], link.sent_members = runtime.router.members, members_json
            if link.answers:
                header["joins"], link.answers = link.answers, {}
            while True:
                try:
                    return await self._tick_with(link, header, blobs)
                except (ChannelClosed, OSError):
                    if not await self._restart_link(link):  # one of our own processes, killed: it resumes
                        raise

        results = await asyncio.gather(*(exchange(lk) for lk in active), return_exceptions=True)
        for link, result in zip(active, results, strict=True):
            if isinstance(result, TimeoutError):
                await self._drop(
                    link,
                    f"did not answer tick {runtime.steps} within {self.config.tick_timeout_s:g} s: dropped",
                )
            elif isinstance(result, ProtocolError):
                await self._drop(link, f"broke the protocol ({str(result)[:200]}): dropped", ban=True)
            elif isinstance(result, ChannelClosed | OSError):
                await self._drop(link, f"disconnected ({type(result).__name__}): purged from the world")
            elif isinstance(result, BaseException):
                raise result
            else:
                try:
                    await self._take_done(link, *result)
                except Refused as exc:
                    await self._drop(link, f"broke the protocol ({str(exc)[:200]}): dropped", ban=True)

    async def _tick_with(
        self, link: RemoteLink, header: dict[str, Any], blobs: list[bytes]
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Sends ``link`` its tick and waits for its answer (after any number of 'busy')."""
        steps = self.runtime.steps
        held = not self.config.realtime and not getattr(link.channel, "trusted", False)
        try:
            await asyncio.wait_for(link.channel.write(header, blobs), self.config.tick_timeout_s)
        except PeerUnreachable:
            if not held:
                raise  # else: its process (killed) may be started again within the tick timeout and resume
        give_up = time.monotonic() + self.config.max_busy_s
        while True:  # a remote computing a long step says "busy" before its deadline, then "done"
            answer = await link.channel.read(self.config.tick_timeout_s)
            if held and self._resumes(link, answer[0]):
                await self._resume_peer(link, answer[0])
                await asyncio.wait_for(link.channel.write(header, blobs), self.config.tick_timeout_s)
                continue
            if answer[0].get("type") != "busy":
                return answer
            if answer[0].get("t") != steps:
                raise Refused(f"said busy for tick {brief(answer[0].get('t'), 20)} during tick {steps}")
            if time.monotonic() > give_up:  # busy forever would hold a lockstep run
                raise TimeoutError

    async def _take_done(self, link: RemoteLink, header: dict[str, Any], blobs: list[bytes]) -> None:
        """A remote's answer, checked (:func:`~wmverse.runtime.hub_checks.check_done`) before any use."""
        if header["type"] == "fail":
            error = clean_line(header.get("error"))
            message = f"remote {'+'.join(link.scripts)} failed: {error}"
            if not self.config.realtime and getattr(link.channel, "trusted", False):
                raise ScriptFailure(message, None, None, None, None)
            await self._drop(link, f"failed, dropped: {error}")
            return
        if (
            header["type"] == "hello"
            and not getattr(link.channel, "trusted", False)
            and self.endpoint is not None
        ):
            # the same authenticated peer started again (killed and restarted, say): the old process is lost,
            # the new one is admitted through the usual hello (its names are kept for it)
            await self._drop(link, "started again from the same peer")
            fresh = self.endpoint.channel(link.peer)
            fresh.feed((header, blobs))
            self._start_serving(fresh)
            return
        if header["type"] != "done":
            raise Refused(f"sent {header['type'][:40]!r} instead of 'done'")
        decoded = check_done(header, blobs, self.runtime.steps, link.owned, link.names)
        for line in header.get("printed", []):
            if not self.runtime.config.quiet:
                self.printer.write(clean_line(line))
        self.printer.lines.extend(clean_line(line) for line in header.get("transitions", []))
        if self.runtime.transition_log is not None:  # the remote's state-machine transitions
            self.runtime.transition_log.extend(tuple(m) for m in header.get("hsm", []))
        link.delivered = header.get("delivered", link.delivered)
        await self._route(link, header.get("ops", []), blobs, decoded)

    async def _route(
        self, source: RemoteLink, ops: list[list[Any]], blobs: list[bytes], decoded: dict[int, Any]
    ) -> None:
        from wmverse.runtime.wire import apply_op

        router = self.runtime.router
        for op in ops:
            if op[0] == "sub":
                set_subscription(router, op[1], op[2], bool(op[3]))
                for link in self.links:
                    if link.active and link is not source:
                        link.queue.ops.append(list(op))
                continue
            target = router.by_peer.get(op[1])
            if target is None or target.closed:
                continue  # the peer left: as a send to a lost peer
            if getattr(target, "is_proxy", False):
                queue = target.queue()
                size = len(blobs[op[2]]) if op[0] == "msg" else 0
                if queue.nbytes + size > self._route_limit():
                    raise Refused(f"floods {target.node_name!r} ({queue.nbytes + size} bytes in one tick)")
                queue.add(op, blobs)
            else:
                await apply_op(router, op, blobs, decoded)

    def _route_limit(self) -> int:
        """Most bytes of messages one tick may carry to one remote (half the message limit: room for the rest)."""
        limits = getattr(self.endpoint, "limits", None)
        return (limits.max_message_bytes if limits is not None else 16 * 1024 * 1024) // 2

    def _local_subscription(self, channel: str, peer: str, subscribed: bool) -> None:
        for link in self.links:
            if link.active:
                link.queue.ops.append(["sub", channel, peer, subscribed])

    async def _drop(self, link: RemoteLink, why: str, ban: bool = False) -> None:
        """Ends ``link``: banned (broke the protocol) or lost (may rejoin within the window)."""
        link.active = False
        link.close()
        if ban:
            self._ban(link.channel)
        elif not getattr(link.channel, "trusted", False) and self.config.rejoin_window_s > 0:
            lost = LostRemote(link, self.config.rejoin_window_s, self.runtime.steps)
            for name in lost.names:
                self.lost[name] = lost
            why += f"; its nodes may rejoin within {self.config.rejoin_window_s:g} s"
        router = self.runtime.router
        for entry in link.entries:
            proxy = router.by_peer.get(entry["prv"])
            if isinstance(proxy, RemoteNode):
                await forget_remote_node(router, proxy)
        self.say(f"remote {link.label} {why}")

    def _check_lost(self) -> None:
        """Ends the run (ScriptFailure) when a lost remote's window passed without it rejoining."""
        now = time.monotonic()
        gone = sorted(
            {id(v): v for v in self.lost.values() if v.deadline <= now}.values(), key=lambda v: v.tick
        )
        if gone:
            names = ", ".join(n for v in gone for n in v.names)
            raise ScriptFailure(
                f"agent(s) {names} left the run at tick {gone[0].tick} and did not rejoin within "
                f"{self.config.rejoin_window_s:g} s: the world cannot go on without them",
                None,
                None,
                None,
                None,
            )

    def _reserved(self, name: str, peer: str) -> bool:
        """True when ``name`` is kept for another peer that left (its rejoin window is open)."""
        lost = self.lost.get(name)
        return lost is not None and lost.peer != peer
