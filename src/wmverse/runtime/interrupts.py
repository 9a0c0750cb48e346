"""Ctrl-C and SIGTERM during a run: the first stops it after the tick, the second quits at once."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["graceful_interrupts"]


@contextlib.contextmanager
def graceful_interrupts(runtime: Any, write: Callable[[str], None]) -> Iterator[None]:
    """A first Ctrl-C or SIGTERM sets ``runtime.stop_requested`` (the run stops after the current tick: a
    checkpoint, the stats and the dashboard are written); a second sets ``runtime.aborted`` and quits at once
    (``KeyboardInterrupt``). Installed only in the main thread (where signals are handled)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(_signum: int, _frame: object) -> None:
        if runtime.stop_requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous_term)
            runtime.aborted = True
            raise KeyboardInterrupt
        runtime.stop_requested = True
        write(
            "interrupt: stopping after this tick (checkpoint, stats and dashboard are written); "
            "Ctrl-C again quits at once"
        )

    # SIGTERM too: a flag read once per tick, where an exception raised at any point could be swallowed
    # (a signal that lands in a destructor is only printed, and the run went on to its end)
    previous = signal.signal(signal.SIGINT, on_interrupt)
    previous_term = signal.signal(signal.SIGTERM, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
