"""A lockstep hub holds the tick while one of its own agent processes is restarted, then goes on with it.

run_asynch.py (``--restart-agents N``) gives the hub a ``restarter``: called with a rank whose process went
away (killed by a signal), it starts the process again with ``resume`` and returns the channel to it (None:
no restart left, or the process ended on its own, which is a failure as before). The hub then says welcome
again with ``resume_tick`` (the tick it was in), waits while the process replays its journal
(:mod:`wmverse.runtime.remote_resume`) until it says ``resumed``, and sends it that tick again: the world
and the other agents never see the restart, and the run is the one an undisturbed run would have been.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wmverse.runtime.channels import ChannelClosed, ProtocolError
from wmverse.runtime.errors import ScriptFailure
from wmverse.runtime.hub_checks import clean_line

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
        tick, who = self.runtime.steps, "+".join(link.scripts)
        self.say(f"agent process {who} went away at tick {tick}: restarted, replaying its journal")
        try:
            hello, _ = await chan.read(self.config.startup_timeout_s)
            if hello.get("type") != "hello" or hello.get("rank") != link.rank:
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
            raise ScriptFailure(
                f"agent process {who} was restarted at tick {tick} but did not resume: {exc}",
                None,
                None,
                None,
                None,
            ) from None
        link.channel = chan
        self.say(f"agent process {who} resumed at tick {tick}")
        return True
