"""A lockstep hub holds the tick while one of its own agent processes is restarted, then goes on with it.

run_asynch.py (``--restart-agents N``) gives the hub a ``restarter``: called with a rank whose process went
away (killed by a signal), it starts the process again with ``resume`` and returns the channel to it (None:
no restart left, or the process ended on its own, which is a failure as before). The hub then says welcome
again with ``resume_tick`` (the tick it was in), waits while the process replays its journal
(:mod:`wmverse.runtime.remote_resume`) until it says ``resumed``, and sends it that tick again: the world
and the other agents never see the restart, and the run is the one an undisturbed run would have been.

A served lockstep world (``run_w.py --lockstep N``) does the same for a joined process that its user starts
again with ``--journal DIR --resume`` (the same identity, so the same peer id): its hello arrives where the
hub waits for its answer, and the held tick is sent to it once it has resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wmverse.runtime.channels import ChannelClosed, ProtocolError
from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.hub_checks import Refused, check_hello, clean_line
from wmverse.runtime.wire import PROTOCOL

__all__ = ["HubRestart"]


class HubRestart:
    """Mixin of :class:`~wmverse.runtime.hub.Hub` (which holds the attributes used here)."""

    #: rank -> a started channel to the restarted process, or None (set by run_processes).
    restarter: Callable[[int], Any] | None = None

    async def _restart_link(self, link: Any) -> bool:
        """True when ``link``'s process was restarted and resumed at this tick (its channel replaced);
        False when it is not to be restarted. ScriptFailure when it was restarted but could not resume."""
        if self.restarter is None or self.config.realtime or not getattr(link.channel, "trusted", False):
            return False
        chan = self.restarter(link.rank)
        if chan is None:
            return False
        link.channel.close()
        self.say(f"agent process {'+'.join(link.scripts)} went away at tick {self.runtime.steps}: restarted")
        try:
            hello, _ = await chan.read(self.config.startup_timeout_s)
        except (TimeoutError, ChannelClosed, ProtocolError, OSError) as exc:
            chan.close()
            raise ScriptFailure(
                f"agent process {'+'.join(link.scripts)} was restarted but did not say hello: {exc}",
                None,
                None,
                None,
                None,
            ) from None
        await self._resume(link, chan, hello)
        return True

    def _resumes(self, link: Any, header: dict[str, Any]) -> bool:
        """Whether ``header`` (read where ``link``'s answer was expected) is its process, started again with
        its journal, asking to resume: a lockstep hub holds the tick for it."""
        return header.get("type") == "hello" and header.get("resume") is True and not self.config.realtime

    async def _resume_peer(self, link: Any, hello: dict[str, Any]) -> None:
        """A joined process of a served lockstep world came back (same peer id) to resume: a fresh channel
        (the killed process's flow-control counts are gone with it), its admission checked as at first."""
        link.channel.close()
        fresh = self.endpoint.channel(link.peer)
        problem = self._admission_problem(fresh, check_hello(hello, PROTOCOL))
        if problem is not None:
            await self._refuse(fresh, problem)
            raise Refused(f"asked to resume without the right to: {problem}"[:300])
        await self._resume(link, fresh, hello)

    async def _resume(self, link: Any, chan: Any, hello: dict[str, Any]) -> None:
        """The resume handshake on ``chan``: welcome with ``resume_tick``, wait for ``resumed``; ``chan``
        becomes the link's. When the process does not resume: ScriptFailure for a child of this process (the
        run ends naming it), :class:`Refused` for a joined peer (it is dropped; the run goes on without it)."""
        tick, who = self.runtime.steps, "+".join(link.scripts)
        self.say(f"agent process {who} replays its journal to resume at tick {tick}")
        try:
            if hello.get("type") != "hello" or (hello.get("rank") not in (None, link.rank)):
                raise ProtocolError(
                    f"expected its hello (rank {link.rank}), got {clean_line(str(hello))[:120]}"
                )
            await chan.write({**self._welcome(link.rank), "resume_tick": tick})
            answer, _ = await chan.read(self.config.max_busy_s)
            if answer.get("type") == "fail":
                raise ProtocolError(clean_line(answer.get("error"))[:2000])
            if answer.get("type") != "resumed" or answer.get("t") != tick:
                raise ProtocolError(f"expected 'resumed' at tick {tick}, got {clean_line(str(answer))[:120]}")
        except (TimeoutError, ChannelClosed, ProtocolError, OSError) as exc:
            chan.close()
            why = f"agent process {who} was started again at tick {tick} but did not resume: {exc}"
            if getattr(chan, "trusted", False):  # our own child: the run cannot go on without it
                raise ScriptFailure(why, None, None, None, None) from None
            raise Refused(why[:300]) from None  # a joined peer: dropped (and banned), the run goes on
        link.channel = chan
        self.say(f"agent process {who} resumed at tick {tick}")
