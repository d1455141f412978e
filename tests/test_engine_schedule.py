"""Engine calls from every session share one queue ordered by deadline (engines/worker.py): a response's first
sentence runs before another response's later sentences, a committed transcript before a speculative one, and
nothing waits forever. Deterministic: the engine is held busy by a call that waits on an event, the calls queue
behind it, the clock is the test's own, and the order they run in is recorded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from ovos_realtime_plugin.engines.worker import Cores, EngineThread, Urgency, urgent


class Held:
    """An engine whose first call holds it busy until released; every call records its name."""

    def __init__(self) -> None:
        self.now = 0.0
        self.thread = EngineThread("schedule-test", clock=lambda: self.now)
        self.ran: list[str] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def _hold(self) -> None:
        self.started.set()
        self.release.wait(30)

    async def hold(self) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self.thread.run(self._hold))
        await asyncio.to_thread(self.started.wait, 30)
        return task

    def call(self, name: str, level: Urgency) -> asyncio.Task[None]:
        with urgent(level):  # the task copies the context, urgency included
            return asyncio.ensure_future(self.thread.run(self.ran.append, name))

    async def queued(self, count: int) -> None:
        """Let the new tasks take one step (each reaches the queue there), then ``count`` calls wait."""
        await asyncio.sleep(0)
        assert len(self.thread._waiting) == count


@pytest.fixture
def held() -> Iterator[Held]:
    engine = Held()
    yield engine
    engine.release.set()
    engine.thread.close()


async def run_order(held: Held, first: tuple[str, Urgency], gap_s: float, second: tuple[str, Urgency]) -> list[str]:
    """The order two calls run in: ``first`` asked, then ``second`` ``gap_s`` later, behind a busy engine."""
    busy = await held.hold()
    calls = [held.call(*first)]
    await held.queued(1)
    held.now += gap_s
    calls.append(held.call(*second))
    await held.queued(2)
    held.release.set()
    await asyncio.gather(busy, *calls)
    return held.ran


async def test_a_first_sentence_runs_before_another_responses_third(held: Held) -> None:
    assert await run_order(held, ("response A, sentence 3", Urgency.LATER), 0.5,
                           ("response B, sentence 1", Urgency.NOW)) == ["response B, sentence 1",
                                                                        "response A, sentence 3"]


async def test_a_committed_transcript_runs_before_a_speculative_one(held: Held) -> None:
    assert await run_order(held, ("speculative", Urgency.SOON), 0.1,
                           ("committed", Urgency.NOW)) == ["committed", "speculative"]


async def test_a_later_sentence_is_not_starved_by_urgent_work(held: Held) -> None:
    """Slack, not strict priority: work asked long enough after it waits its turn."""
    assert await run_order(held, ("sentence 3", Urgency.LATER), 1.5,
                           ("a first sentence", Urgency.NOW)) == ["sentence 3", "a first sentence"]


async def test_equal_deadlines_keep_their_order_and_a_cancelled_call_leaves_the_queue(held: Held) -> None:
    busy = await held.hold()
    calls = [held.call(f"call {n}", Urgency.NOW) for n in range(4)]
    await held.queued(4)
    calls[1].cancel()
    held.release.set()
    await asyncio.gather(busy, *calls, return_exceptions=True)
    assert held.ran == ["call 0", "call 2", "call 3"] and held.thread._waiting == []
    await held.thread.run(held.ran.append, "afterwards")  # the engine is free again
    assert held.ran[-1] == "afterwards"


class Holding:
    """Calls that hold their worker (and core) until released, each released on its own."""

    def __init__(self) -> None:
        self.started: dict[str, threading.Event] = {}
        self.release: dict[str, threading.Event] = {}
        self.ran: list[str] = []

    def call(self, engine: EngineThread, name: str, level: Urgency = Urgency.NOW) -> asyncio.Task[None]:
        self.started[name], self.release[name] = threading.Event(), threading.Event()

        def hold() -> None:
            self.ran.append(name)
            self.started[name].set()
            self.release[name].wait(30)

        with urgent(level):
            return asyncio.ensure_future(engine.run(hold))

    async def wait_started(self, name: str) -> None:
        assert await asyncio.to_thread(self.started[name].wait, 30)


async def test_a_re_entrant_engine_runs_as_many_calls_at_once_as_it_has_workers() -> None:
    """Two workers: two calls run together (both start while neither is released); a third waits for a free
    worker, and the first worker freed takes the earliest deadline while the other call still runs."""
    now = 0.0
    engine = EngineThread("two-workers", clock=lambda: now, workers=2)
    calls = Holding()
    try:
        first, second = calls.call(engine, "a"), calls.call(engine, "b")
        await calls.wait_started("a")
        await calls.wait_started("b")  # (never, with one worker: "a" holds it)
        later = calls.call(engine, "later", Urgency.LATER)
        sooner = calls.call(engine, "sooner")
        await asyncio.sleep(0)
        assert len(engine._waiting) == 2 and engine._running == 2
        calls.release["a"].set()
        await first
        await calls.wait_started("sooner")
        assert sorted(calls.ran) == ["a", "b", "sooner"] and not later.done()  # b still holds the other worker
        for name in ("b", "sooner", "later"):
            calls.release[name].set()
        await asyncio.gather(second, sooner, later)
        assert calls.ran[-1] == "later" and engine._running == 0 and engine._waiting == []
    finally:
        for event in calls.release.values():
            event.set()
        engine.close()


def test_an_engine_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        EngineThread("none", workers=0)


async def test_engines_sharing_the_cores_run_no_more_calls_than_cores_and_a_freed_one_goes_to_the_earliest_deadline(
        ) -> None:
    """Two cores shared by two engines of two workers each. With a call of each running, a third call waits though
    its engine has a free worker. When a core frees, it goes to the most urgent waiting call, whichever engine
    it is for: a committed transcript (NOW, the STT) before a prepared sentence (SOON, the TTS) asked earlier."""
    now = 0.0
    cores = Cores(2)
    stt = EngineThread("stt-test", clock=lambda: now, workers=2, cores=cores)
    tts = EngineThread("tts-test", clock=lambda: now, workers=2, cores=cores)
    calls = Holding()
    try:
        first = calls.call(stt, "transcript 1")
        sentence = calls.call(tts, "sentence 1")
        await calls.wait_started("transcript 1")
        await calls.wait_started("sentence 1")
        prepared = calls.call(tts, "prepared sentence", Urgency.SOON)
        await asyncio.sleep(0)
        committed = calls.call(stt, "committed transcript")
        await asyncio.sleep(0)
        assert cores.busy == 2 and len(tts._waiting) == 1 and len(stt._waiting) == 1  # workers free, cores not
        calls.release["sentence 1"].set()
        await sentence
        await calls.wait_started("committed transcript")
        assert "prepared sentence" not in calls.ran and cores.busy == 2
        calls.release["transcript 1"].set()
        await first
        await calls.wait_started("prepared sentence")
        for name in ("committed transcript", "prepared sentence"):
            calls.release[name].set()
        await asyncio.gather(committed, prepared)
        assert cores.busy == 0 and stt._running == tts._running == 0
    finally:
        for event in calls.release.values():
            event.set()
        stt.close()
        tts.close()
    assert cores.engines == []


def test_engines_need_a_core() -> None:
    with pytest.raises(ValueError, match="at least one core"):
        Cores(0)
