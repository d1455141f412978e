"""The idle trimmer: the heap is trimmed once the heavy engines have been quiet, never beside a running call.

A manual clock and a manual timer: each scheduled callback is run by the test when it chooses."""

from __future__ import annotations

from collections.abc import Callable

from ovos_realtime_plugin.heap import IdleTrimmer


class Manual:
    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.trims = 0

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, fn))

    def trim(self) -> None:
        self.trims += 1

    def run_due(self) -> None:
        """Fire the timers that are due, as the timer thread would."""
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _, fn in due:
            fn()


def trimmer(manual: Manual) -> IdleTrimmer:
    return IdleTrimmer(1.0, trim_fn=manual.trim, clock=manual.clock, schedule=manual.schedule)


def test_one_trim_a_quiet_second_after_the_last_call() -> None:
    manual = Manual()
    idle = trimmer(manual)
    for _ in range(3):  # three calls in a row: one timer
        with idle.busy():
            manual.now += 0.2
    assert manual.trims == 0 and len(manual.timers) == 1
    manual.now += 0.5
    manual.run_due()
    assert manual.trims == 0
    manual.now += 0.6
    manual.run_due()
    assert manual.trims == 1 and manual.timers == []


def test_no_trim_while_a_call_runs_and_none_without_a_call() -> None:
    manual = Manual()
    idle = trimmer(manual)
    with idle.busy():
        manual.now += 0.25
    manual.now += 1.0
    with idle.busy():  # a call is running when the timer fires: it waits for the next quiet second
        manual.run_due()
        assert manual.trims == 0
        manual.now += 2.0
        manual.run_due()
        assert manual.trims == 0
    manual.now += 1.0
    manual.run_due()
    assert manual.trims == 1
    manual.now += 5.0
    manual.run_due()  # nothing ran since: nothing to hand back
    assert manual.trims == 1 and manual.timers == []
