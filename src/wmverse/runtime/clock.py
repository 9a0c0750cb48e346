"""One synthetic clock for a whole in-process world, and the patches that make unaiverse read it.

unaiverse keeps one shared clock (``unaiverse.clock.clock``) for timestamps and cycles, but its state
machines measure waits, delays, timeouts and retry budgets with ``time.perf_counter()`` read straight
from the ``time`` module. :class:`SyntheticClock` replaces the shared clock; :func:`patched_time`
swaps the ``time`` name inside exactly those unaiverse modules for :class:`SyntheticTimeModule`, so
every duration the framework measures is simulated time. Nothing sleeps: ``sleep`` returns at once.
"""

from __future__ import annotations

import bisect
import contextlib
import importlib
import time as _real_time
from collections.abc import Iterator
from datetime import UTC, datetime

from unaiverse.clock import _Clock

#: unaiverse modules whose module-level ``time`` reference is redirected to the synthetic clock.
#: They are the ones that read ``time.perf_counter()`` / ``time.monotonic()`` for HSM waits,
#: transition delays, interaction timeouts, stepwise retry budgets and policy-filter waits.
TIME_PATCHED_MODULES: tuple[str, ...] = (
    "unaiverse.hsm.state",
    "unaiverse.hsm.action",
    "unaiverse.interaction",
    "unaiverse.agent_basics",
    "unaiverse.utils.misc",
)

#: Fixed epoch (seconds since 1970) the synthetic time starts from, so runs are reproducible.
DEFAULT_EPOCH_S = 1_700_000_000.0

#: What the patched ``perf_counter``/``monotonic`` read at tick 0. Not zero: unaiverse treats a start time
#: of 0 as "never started" (``hsm/action.py:365`` ignores a transition's delay when its state started at 0).
PERF_COUNTER_BASE_S = 1000.0


class SyntheticClock(_Clock):
    """A unaiverse ``_Clock`` whose time only moves when :meth:`advance` is called.

    Contract: ``get_time()`` returns ``epoch_s + elapsed`` where ``elapsed`` is the sum of all
    ``advance`` steps; ``get_cycle()`` counts the advances (it starts at 0, as a node that ran its
    first ``next_cycle``); ``next_cycle()`` never blocks and never moves time (the scheduler owns
    time). No NTP or HTTP request is ever made.
    """

    def __init__(self, epoch_s: float = DEFAULT_EPOCH_S, min_delta: float = -1.0) -> None:
        super().__init__(min_delta=min_delta, current_time=epoch_s)
        self.epoch_s = float(epoch_s)
        self._elapsed_us = 0  # integer microseconds: 23 ticks of 0.1 s are exactly 2.3 s
        self.cycle = 0
        self._cycle_times: list[float] = [self.epoch_s]
        self._last_ms = -1

    # --- advancing -------------------------------------------------------------------------
    def advance(self, dt_s: float) -> None:
        """Moves time forward by ``dt_s`` (> 0) simulated seconds and starts a new cycle."""
        step_us = round(dt_s * 1_000_000)
        if step_us <= 0:
            raise ValueError(f"advance needs a positive step (>= 1 microsecond), got {dt_s}")
        self._elapsed_us += step_us
        self.cycle += 1
        self._cycle_times.append(self.get_time())

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds since tick 0."""
        return self._elapsed_us / 1_000_000

    def next_cycle(self) -> bool:
        """Always succeeds without moving time: cycles are driven by :meth:`advance`."""
        return True

    # --- reading ---------------------------------------------------------------------------
    def get_time(self, passed: bool = False) -> float:
        return self.elapsed_s if passed else self.epoch_s + self.elapsed_s

    def get_time_ms(self, monotonic: bool = False) -> int:
        now = int(round(self.get_time() * 1000.0))
        if monotonic and now <= self._last_ms:
            now = self._last_ms + 1  # strictly increasing without waiting
        self._last_ms = max(self._last_ms, now)
        return now

    def get_time_as_string(self) -> str:
        return datetime.fromtimestamp(self.get_time(), tz=UTC).isoformat(timespec="milliseconds")

    def get_cycle(self) -> int:
        return self.cycle

    def get_cycle_time(self) -> float:
        return self._cycle_times[self.cycle]

    def cycle2time(self, cycle: int, delta: float | None = None) -> float:
        if delta is not None and delta > 0:
            return cycle * delta
        if 0 <= cycle < len(self._cycle_times):
            return self._cycle_times[cycle]
        return -1.0

    def time2cycle(self, timestamp: float, delta: float | None = None) -> int:
        if delta is not None and delta > 0:
            return self.cycle - int((self.get_time() - timestamp) / delta)
        if timestamp > self._cycle_times[-1]:
            return len(self._cycle_times)
        i = bisect.bisect_left(self._cycle_times, timestamp)  # cycle times strictly increase
        return i if i < len(self._cycle_times) and self._cycle_times[i] == timestamp else -1

    # unaiverse slows a node's clock down when nothing happens; a synthetic clock has fixed ticks.
    def run_slower(self) -> None:
        return None

    def run_natural_speed(self) -> None:
        return None

    def is_slowed_down(self) -> bool:
        return False


class SyntheticTimeModule:
    """Stands in for the ``time`` module inside the patched unaiverse modules.

    ``perf_counter``/``monotonic`` return the clock's elapsed seconds plus a fixed base, ``time`` its epoch time,
    ``sleep`` returns immediately; every other attribute is the real ``time`` module's.
    """

    def __init__(self, clock: SyntheticClock) -> None:
        self._clock = clock

    def perf_counter(self) -> float:
        return PERF_COUNTER_BASE_S + self._clock.elapsed_s

    def monotonic(self) -> float:
        return PERF_COUNTER_BASE_S + self._clock.elapsed_s

    def time(self) -> float:
        return self._clock.get_time()

    def sleep(self, _seconds: float) -> None:
        return None

    def __getattr__(self, name: str):
        return getattr(_real_time, name)


@contextlib.contextmanager
def patched_time(clock: SyntheticClock) -> Iterator[SyntheticClock]:
    """Installs ``clock`` as unaiverse's shared clock and redirects the listed modules' ``time``.

    Everything is restored on exit, also when the body raises.
    """
    from unaiverse.clock import clock as shared_clock

    fake = SyntheticTimeModule(clock)
    saved: list[tuple[object, object]] = []
    previous_instance = shared_clock.__dict__.get("_Clock__instance")
    try:
        for name in TIME_PATCHED_MODULES:
            module = importlib.import_module(name)
            saved.append((module, module.__dict__["time"]))
            module.time = fake
        shared_clock.set(clock)
        yield clock
    finally:
        for module, original in saved:
            module.time = original
        shared_clock.set(previous_instance)
