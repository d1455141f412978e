"""Transcriptions waiting for one STT engine are heard in batches (engines/stt_batch.py): whichever the engine runs
first takes the others waiting with it, at most a bounded number, and never a less urgent one after a more urgent
one (a pause's guess does not hold up a committed turn); one failing fails alone, a batch timing out fails all of
it, and an asker that leaves takes only its own transcription away. Deterministic: the engine is held busy by a
call that waits on an event, the transcriptions queue behind it, the clock is the test's own, and the batches the
engine is given are recorded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import pytest

from ovos_realtime_plugin.engines.stt_batch import MAX_BATCH, TranscriptionQueue
from ovos_realtime_plugin.engines.worker import EngineThread, EngineTimeout, Urgency, urgent


class Batches:
    """An engine hearing batches of names: each is heard as itself, ``"broken"`` raises; its first call holds it
    busy until released, and every batch it is given is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.thread = EngineThread("batch-test", clock=lambda: self.now)
        self.queue = TranscriptionQueue(self.thread, self._hear, clock=lambda: self.now)
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.inside = threading.Event()  # the hold for the next batch to wait on (set: none)
        self.inside.set()

    def _hold(self) -> None:
        self.started.set()
        self.release.wait(30)

    def _hear(self, names: Sequence[str]) -> list[str | Exception]:
        self.batches.append(list(names))
        self.started.set()
        self.inside.wait(30)
        return [ValueError(f"cannot hear {name}") if name == "broken" else name for name in names]

    async def hold(self) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self.thread.run(self._hold))
        await asyncio.to_thread(self.started.wait, 30)
        return task

    def ask(self, name: str, level: Urgency = Urgency.NOW, timeout: float | None = None) -> asyncio.Task[str]:
        with urgent(level):  # the task copies the context, urgency included
            return asyncio.ensure_future(self.queue.hear(name, timeout))

    async def queued(self, count: int) -> None:
        """Let the new tasks take their steps (each asks the engine for its turn there), then ``count`` wait."""
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(self.thread._waiting) == count


@pytest.fixture
def engine() -> Iterator[Batches]:
    batches = Batches()
    yield batches
    batches.release.set()
    batches.inside.set()
    batches.thread.close()


async def test_transcriptions_waiting_together_are_heard_in_one_batch(engine: Batches) -> None:
    busy = await engine.hold()
    asked = [engine.ask(f"speaker {n}") for n in range(4)]
    await engine.queued(4)
    engine.release.set()
    assert await asyncio.gather(*asked) == [f"speaker {n}" for n in range(4)]
    await busy
    assert engine.batches == [[f"speaker {n}" for n in range(4)]]
    assert engine.thread._waiting == []  # the others' turns were given up
    assert await engine.ask("alone") == "alone" and engine.batches[-1] == ["alone"]


async def test_a_batch_holds_at_most_its_bound(engine: Batches) -> None:
    busy = await engine.hold()
    asked = [engine.ask(f"speaker {n}") for n in range(MAX_BATCH + 2)]
    await engine.queued(MAX_BATCH + 2)
    engine.release.set()
    await asyncio.gather(busy, *asked)
    assert [len(batch) for batch in engine.batches] == [MAX_BATCH, 2]


async def test_a_committed_turn_is_not_held_behind_a_batch_of_later_work(engine: Batches) -> None:
    busy = await engine.hold()
    later = [engine.ask(f"later {n}", Urgency.LATER) for n in range(3)]
    await engine.queued(3)
    engine.now += 0.5
    committed = engine.ask("committed", Urgency.NOW)
    await engine.queued(4)
    engine.release.set()
    await asyncio.gather(busy, committed, *later)
    assert engine.batches == [["committed"], ["later 0", "later 1", "later 2"]]


async def test_a_batch_takes_no_guess_after_a_committed_turn(engine: Batches) -> None:
    """A guess asked before a committed turn (an earlier deadline) is heard with it; one asked after would have
    waited for it, so it is not taken into its batch to make it longer."""
    busy = await engine.hold()
    asked: list[asyncio.Task[str]] = []
    for gap_s, name, level in [(0, "guess a", Urgency.SOON), (0.15, "guess b", Urgency.SOON),
                               (0.1, "committed", Urgency.NOW), (0.01, "guess c", Urgency.SOON)]:
        engine.now += gap_s
        asked.append(engine.ask(name, level))
        await engine.queued(len(asked))
    engine.release.set()
    await asyncio.gather(busy, *asked)
    assert engine.batches == [["guess a", "committed"], ["guess b", "guess c"]]


async def test_one_failing_transcription_fails_alone(engine: Batches) -> None:
    busy = await engine.hold()
    asked = [engine.ask(name) for name in ("first", "broken", "third")]
    await engine.queued(3)
    engine.release.set()
    first, broken, third = await asyncio.gather(*asked, return_exceptions=True)
    await busy
    assert engine.batches == [["first", "broken", "third"]]
    assert (first, third) == ("first", "third")
    assert isinstance(broken, ValueError) and str(broken) == "cannot hear broken"


async def test_a_batch_that_times_out_fails_all_of_it_and_the_next_is_heard(engine: Batches) -> None:
    busy = await engine.hold()
    engine.inside.clear()  # the next batch hangs
    asked = [engine.ask(f"speaker {n}", timeout=0.5) for n in range(3)]
    await engine.queued(3)
    engine.release.set()
    outcomes = await asyncio.gather(*asked, return_exceptions=True)
    await busy
    assert all(isinstance(outcome, EngineTimeout) for outcome in outcomes)
    engine.inside.set()
    assert await engine.ask("afterwards") == "afterwards"
    assert engine.batches[0] == ["speaker 0", "speaker 1", "speaker 2"] and engine.batches[-1] == ["afterwards"]


async def test_an_asker_that_leaves_takes_away_only_its_own_transcription(engine: Batches) -> None:
    busy = await engine.hold()
    asked = [engine.ask(name) for name in ("leader", "gone before its turn", "stays")]
    await engine.queued(3)
    asked[1].cancel()
    await engine.queued(2)
    engine.inside.clear()  # the batch is held while it runs
    engine.started.clear()
    engine.release.set()
    await asyncio.to_thread(engine.started.wait, 30)
    asked[0].cancel()  # its asker leaves while the batch it leads runs
    engine.inside.set()
    assert await asyncio.wait_for(asked[2], 30) == "stays"  # (a batch left unanswered would hang here)
    await busy
    assert engine.batches == [["leader", "stays"]]
    assert asked[0].cancelled() and asked[1].cancelled()
    assert await engine.ask("afterwards") == "afterwards"
