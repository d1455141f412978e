"""Transcriptions that wait for the same STT engine are heard together: whichever of them the engine runs first
takes the others waiting with it, and the plugin decodes them in one call (:class:`~.stt.BatchedSTT`).

Each transcription still asks the engine for its turn as any call does (:class:`~.worker.EngineThread`, by
deadline); the one given the turn leads a batch of at most :data:`MAX_BATCH`, and the others' turns are given
up. A batch never makes someone wait longer for a transcript than they would anyway: it takes the waiting
transcriptions in deadline order, and once it holds one of an urgency (a committed turn, :attr:`Urgency.NOW`),
it takes no less urgent one after it (a pause's guess, :attr:`Urgency.SOON`), since that one would have waited.
A transcription that fails inside a batch fails alone; a batch that times out fails all of it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ovos_realtime_plugin.engines.worker import EngineThread, Urgency, urgency

MAX_BATCH = 4  # a larger batch saved no more per utterance (benchmarks/bench_stt_batch), and keeps its first longer

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False)
class _Waiting(Generic[Item, Result]):
    item: Item
    level: Urgency
    deadline: float
    arrival: int
    outcome: asyncio.Future[Result]
    turn: asyncio.Task[None] | None = None
    batch: list[_Waiting[Item, Result]] = field(default_factory=list)  # the ones it leads, itself first
    led: bool = False  # taken into a batch (its own or another's)


class TranscriptionQueue(Generic[Item, Result]):
    """Items waiting for ``thread``; ``hear_batch`` (run on it) gives each one's result or exception, in order."""

    def __init__(self, thread: EngineThread, hear_batch: Callable[[Sequence[Item]], Sequence[Result | Exception]],
                 limit: int = MAX_BATCH, clock: Callable[[], float] = time.monotonic) -> None:
        self._thread = thread
        self._hear_batch = hear_batch
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()  # the waiting list is taken from on the engine's thread
        self._waiting: list[_Waiting[Item, Result]] = []
        self._arrivals = itertools.count()
        self._leading: set[asyncio.Task[None]] = set()  # batches whose asker left: they still answer the others

    async def hear(self, item: Item, timeout: float | None) -> Result:
        """``item``'s result, heard in a batch led by whichever waiting item the engine runs first."""
        loop = asyncio.get_running_loop()
        level = urgency.get()
        job: _Waiting[Item, Result] = _Waiting(item, level, self._clock() + level.value, next(self._arrivals),
                                               loop.create_future())
        job.turn = asyncio.ensure_future(self._take_turn(job, timeout))  # (copies the context: the urgency)
        with self._lock:  # (before the turn's first step)
            self._waiting.append(job)
        try:
            await asyncio.wait((job.outcome, job.turn), return_when=asyncio.FIRST_COMPLETED)
            return await job.outcome
        except asyncio.CancelledError:
            self._leave(job)
            raise

    async def _take_turn(self, job: _Waiting[Item, Result], timeout: float | None) -> None:
        """``job``'s turn on the engine: it leads a batch then, unless another batch has taken it before."""
        try:
            outcomes = await self._thread.run(self._lead, job, timeout=timeout)
        except asyncio.CancelledError:
            raise  # taken by another batch (which answers it) or left by its asker
        except Exception as exc:  # the batch timed out (or a bug of ours): all of it fails
            with self._lock:
                if not job.led:  # (never taken: a late start on the thread left behind will not take it)
                    self._waiting.remove(job)
                    job.led, job.batch = True, [job]
            outcomes = [exc] * len(job.batch)
        for member, outcome in zip(job.batch, outcomes, strict=True):
            if member.outcome.done():
                continue
            if isinstance(outcome, Exception):
                member.outcome.set_exception(outcome)
            else:
                member.outcome.set_result(outcome)

    def _lead(self, job: _Waiting[Item, Result]) -> Sequence[Result | Exception]:
        """On the engine's thread: ``job`` and the ones it takes with it, heard together (nothing if another batch
        has taken ``job``)."""
        with self._lock:
            if job.led:
                return []
            job.batch = self._take(job)
            for member in job.batch:
                member.led = True
                self._waiting.remove(member)
                if member is not job and member.turn is not None:  # its turn is no longer needed
                    member.turn.get_loop().call_soon_threadsafe(member.turn.cancel)
        outcomes = self._hear_batch([member.item for member in job.batch])
        if len(outcomes) != len(job.batch):
            raise RuntimeError(f"the STT plugin heard {len(outcomes)} of a batch of {len(job.batch)}")
        return outcomes

    def _take(self, job: _Waiting[Item, Result]) -> list[_Waiting[Item, Result]]:
        """``job`` and, in deadline order, the waiting ones at least as urgent as every one taken before them."""
        batch, least = [job], job.level.value
        for other in sorted(self._waiting, key=lambda waiting: (waiting.deadline, waiting.arrival)):
            if len(batch) == self._limit:
                break
            if other is not job and other.level.value <= least:
                batch.append(other)
                least = min(least, other.level.value)
        return batch

    def _leave(self, job: _Waiting[Item, Result]) -> None:
        """Its asker is gone: out of the queue if still waiting; a batch it leads still answers the others."""
        with self._lock:
            leading = job.led and job.batch and job.batch[0] is job
            if not job.led:
                self._waiting.remove(job)
        job.outcome.cancel()
        if job.turn is None or job.turn.done():
            return
        if leading:
            self._leading.add(job.turn)
            job.turn.add_done_callback(self._leading.discard)
        else:
            job.turn.cancel()
