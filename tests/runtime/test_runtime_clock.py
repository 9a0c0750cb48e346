"""The synthetic clock and the time patches of unaiverse's modules."""

import pytest

from wmverse.runtime.clock import PERF_COUNTER_BASE_S, TIME_PATCHED_MODULES, SyntheticClock, patched_time


def test_clock_moves_only_when_advanced():
    clock = SyntheticClock(epoch_s=1000.0)
    assert clock.get_time() == 1000.0
    assert clock.next_cycle() is True and clock.get_time() == 1000.0
    clock.advance(0.25)
    clock.advance(0.25)
    assert clock.get_time() == pytest.approx(1000.5)
    assert clock.get_time(passed=True) == pytest.approx(0.5)
    assert clock.get_cycle() == 2
    assert clock.get_cycle_time() == pytest.approx(1000.5)
    assert clock.cycle2time(1) == pytest.approx(1000.25)
    assert clock.time2cycle(clock.cycle2time(1)) == 1


def test_monotonic_ms_never_repeats_without_advancing():
    clock = SyntheticClock(epoch_s=10.0)
    a = clock.get_time_ms(monotonic=True)
    b = clock.get_time_ms(monotonic=True)
    assert a == 10_000 and b == 10_001


def test_advance_rejects_non_positive_steps():
    with pytest.raises(ValueError, match="positive"):
        SyntheticClock().advance(0.0)


def test_patched_time_reaches_hsm_modules_and_is_restored():
    import importlib
    import time

    from unaiverse.clock import clock as shared

    clock = SyntheticClock(epoch_s=50.0)
    clock.advance(3.0)
    modules = [importlib.import_module(m) for m in TIME_PATCHED_MODULES]
    with patched_time(clock):
        for m in modules:
            assert m.time.perf_counter() == pytest.approx(PERF_COUNTER_BASE_S + 3.0)
            assert m.time.monotonic() == pytest.approx(PERF_COUNTER_BASE_S + 3.0)
            m.time.sleep(100.0)  # returns at once
        assert shared.get_time() == pytest.approx(53.0)
    for m in modules:
        assert m.time is time
