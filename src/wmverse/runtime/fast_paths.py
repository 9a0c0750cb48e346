"""Faster, exactly equivalent versions of a few unaiverse functions every agent runs at every tick.

:func:`fast_paths` replaces them for the duration of a run and puts the originals back on exit. Each
replacement gives the same results, makes the same calls in the same order (``complete(...)`` with the
same arguments, ``clear_expired_data``), logs the same lines and raises the same
exceptions as the function it replaces; it only skips Python work whose outcome is known:

- ``InteractionManager.complete_expired`` walks the same snapshot of ``sent``, ``received`` and ``lazy``
  with ``is_sent``/``is_received``/``Interaction.is_expired`` inlined: the same membership tests and
  comparisons in the same order, ``Custom.DEFAULT_INTER_TIMEOUT`` and the time read once and read again
  after every awaited ``complete`` (the only calls that can change anything). The time is hoisted only
  when the shared clock is the runtime's :class:`~wmverse.runtime.clock.SyntheticClock`, whose
  ``get_time`` has no side effect and moves only when the scheduler advances it; with any other clock,
  an overridden ``is_sent``/``is_received``/``is_expired``, a default timeout that is not exactly an
  ``int``/``float`` or an object that is not exactly an ``Interaction``, the original code runs (for the
  whole call, or for that object).
- ``InteractionManager.clear_expired_stream_data`` iterates each interaction's ``StreamProxy._stream_list``
  directly (what ``StreamProxy.__iter__`` returns an iterator over) and skips empty ones, the usual case.

Measured in ``benchmarks/runtime.py --agents 200 --ticks 200`` (time per call inside the run, garbage
collection excluded): ``complete_expired`` 33 -> 24 us (about 11 interactions each),
``clear_expired_stream_data`` 10.3 -> 8.8 us: about 0.35 s of a 7.4 s loop. The loop is memory-bound
(hundreds of thousands of cold objects), which bounds what such code can save; ``StreamProxy.bind`` and the
deep copy of an action's kwargs were tried too and dropped (about 0.7% of the loop each, within the noise).

A class attribute that is not unaiverse's own function when :func:`fast_paths` starts (another patch is in
place) is left alone. The replacements assume methods are looked up on classes (nobody stores a method on an
instance).
``WMVERSE_FAST_PATHS=0`` in the environment (or :data:`ENABLED` = False) keeps unaiverse's code, to
compare the two; :data:`PATCHES` names what :func:`fast_paths` installs by default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import Any

import unaiverse.interaction as _interaction_module
from unaiverse.clock import Clock
from unaiverse.custom import Custom
from unaiverse.interaction import CompletionReason, Interaction, InteractionManager, InteractionStatus
from unaiverse.streams.streamproxy import StreamProxy
from unaiverse.streams.streams import Stream

from wmverse.runtime.clock import SyntheticClock

__all__ = ["ENABLED", "PATCHES", "fast_paths"]

#: Whether :func:`fast_paths` patches anything (``WMVERSE_FAST_PATHS=0`` turns it off).
ENABLED: bool = os.environ.get("WMVERSE_FAST_PATHS", "1").strip().lower() not in ("0", "false", "no", "off")

#: The patches :func:`fast_paths` installs when not told which.
PATCHES: tuple[str, ...] = ("complete_expired", "clear_expired_stream_data")

# The originals, as unaiverse 0.1.31 defines them (taken at import, before any patch).
_COMPLETE_EXPIRED = InteractionManager.__dict__["complete_expired"]
_CLEAR_EXPIRED = InteractionManager.__dict__["clear_expired_stream_data"]
_IS_SENT = InteractionManager.__dict__["is_sent"]
_IS_RECEIVED = InteractionManager.__dict__["is_received"]
_IS_EXPIRED = Interaction.__dict__["is_expired"]
_PROXY_ITER = StreamProxy.__dict__["__iter__"]

# --- 1. expired interactions ---------------------------------------------------------------------------


def _fast_state(manager: InteractionManager) -> tuple[Any, SyntheticClock] | None:
    """(default timeout, synthetic clock) when the inlined checks are exact, else None."""
    shared = _interaction_module.clock
    instance = shared.__dict__.get("_Clock__instance") if type(shared) is Clock else None
    default = Custom.DEFAULT_INTER_TIMEOUT
    cls = type(manager)
    if (
        type(instance) is SyntheticClock
        and type(default) in (int, float)
        and cls.is_sent is _IS_SENT
        and cls.is_received is _IS_RECEIVED
        and Interaction.is_expired is _IS_EXPIRED
    ):
        return default, instance
    return None


async def _complete_expired(self) -> None:
    state = _fast_state(self)
    if state is None:
        return await _COMPLETE_EXPIRED(self)
    default, clock = state
    default_pos, default_le = default > 0.0, default <= 0.0
    now = None
    completed_status = InteractionStatus.COMPLETED
    # the same snapshot as the original, in the same order
    for interaction in [*self.sent.values(), *self.received.values(), *self.lazy.values()]:
        if interaction.status == completed_status:
            continue
        if state is None or type(interaction) is not Interaction:
            await _expire_one(self, interaction)  # the original loop body
            state = _fast_state(self)
            if state is not None:
                default, clock = state
                default_pos, default_le, now = default > 0.0, default <= 0.0, None
            continue
        # Interaction.is_expired(Custom.DEFAULT_INTER_TIMEOUT), inlined
        timeout = interaction.timeout
        if default_pos and timeout is not None and timeout > 0.0:
            secs = min(default, timeout)
        elif default_le:
            secs = timeout
        else:
            secs = default
        if secs is None or secs <= 0.0:
            expired = False
        else:
            if now is None:
                now = clock.get_time()
            expired = (now - interaction.timestamp_created) >= secs
        if expired or interaction.action_name is None:
            await self.complete(interaction, reason=CompletionReason.TIMEOUT)
        elif interaction.volatile and (
            interaction.uuid in self.sent or interaction in self.sent_recently_completed
        ):
            await self.complete(interaction, reason=CompletionReason.TIMEOUT)
        else:
            awaited = False
            if (
                interaction.uuid in self.received or interaction in self.received_recently_completed
            ) and interaction.requester not in self.agent.all_agents:
                await self.complete(interaction, reason=CompletionReason.DISCONNECTED)
                awaited = True
                state = _fast_state(self)
            if (
                (interaction.uuid in self.sent or interaction in self.sent_recently_completed)
                if state is not None
                else self.is_sent(interaction)
            ):
                for target in interaction.target:
                    if target not in self.agent.all_agents:
                        await self.complete(interaction, reason=CompletionReason.DISCONNECTED, target=target)
                        awaited = True
            if not awaited:
                continue
        state = _fast_state(self)  # after any awaited complete(): read the knobs and the time again
        if state is not None:
            default, clock = state
            default_pos, default_le, now = default > 0.0, default <= 0.0, None


async def _expire_one(self, interaction: Interaction) -> None:
    """The loop body of unaiverse's ``complete_expired``, for one interaction (not completed)."""
    if interaction.is_expired(Custom.DEFAULT_INTER_TIMEOUT) or interaction.action_name is None:
        await self.complete(interaction, reason=CompletionReason.TIMEOUT)
    elif interaction.volatile and self.is_sent(interaction):
        await self.complete(interaction, reason=CompletionReason.TIMEOUT)
    else:
        if self.is_received(interaction) and interaction.requester not in self.agent.all_agents:
            await self.complete(interaction, reason=CompletionReason.DISCONNECTED)
        if self.is_sent(interaction):
            for target in interaction.target:
                if target not in self.agent.all_agents:
                    await self.complete(interaction, reason=CompletionReason.DISCONNECTED, target=target)


def _clear_expired(self) -> None:
    plain_iter = StreamProxy.__iter__ is _PROXY_ITER
    # the same snapshot as the original, in the same order
    for interaction in [*self.received.values(), *self.sent.values(), *self.lazy.values()]:
        assert interaction is not None
        proxy = interaction.stream_proxy
        if plain_iter and type(proxy) is StreamProxy:
            streams = proxy._stream_list  # what StreamProxy.__iter__ iterates over
            if type(streams) is list and not streams:
                continue
        else:
            streams = proxy
        for stream in streams:
            # In case of data samples or default input values, skip
            if not isinstance(stream, Stream):
                continue
            _interaction = stream.get_interaction(interaction.uuid)
            if _interaction is None or _interaction.completed or _interaction.created:
                stream.clear_expired_data(Custom.DEFAULT_INTER_TIMEOUT)
                plain_iter = StreamProxy.__iter__ is _PROXY_ITER


# --- the context manager ---------------------------------------------------------------------------------

#: Patch name -> (class, attribute, replacement).
_TABLE: dict[str, tuple[type, str, Any]] = {
    "complete_expired": (InteractionManager, "complete_expired", _complete_expired),
    "clear_expired_stream_data": (InteractionManager, "clear_expired_stream_data", _clear_expired),
}

#: Patch name -> the function it replaces, as unaiverse defines it.
_ORIGINALS: dict[str, Any] = {
    "complete_expired": _COMPLETE_EXPIRED,
    "clear_expired_stream_data": _CLEAR_EXPIRED,
}


@contextlib.contextmanager
def fast_paths(names: Iterable[str] | None = None) -> Iterator[None]:
    """Installs the named replacements (default :data:`PATCHES`; none when :data:`ENABLED` is False) and
    restores exactly the class attributes it changed on exit, also when the body raises."""
    chosen = ([] if not ENABLED else list(PATCHES)) if names is None else list(names)
    unknown = [n for n in chosen if n not in _TABLE]
    if unknown:
        raise ValueError(f"unknown fast paths: {unknown}")
    saved: list[tuple[type, str, Any]] = []
    try:
        for name in chosen:
            cls, attr, replacement = _TABLE[name]
            current = cls.__dict__[attr]
            if current is not _ORIGINALS[name] or not current.__module__.startswith("unaiverse."):
                continue  # not unaiverse's own function (another patch, an enclosing fast_paths): left alone
            saved.append((cls, attr, current))
            setattr(cls, attr, replacement)
        yield
    finally:
        for cls, attr, original in reversed(saved):
            setattr(cls, attr, original)
