"""One thread per engine: OPM plugins are blocking and mostly not re-entrant (an engine known to be re-entrant may
run on several threads: ``workers``).

A call given a ``timeout`` that does not return in time raises :class:`EngineTimeout` (the response or transcript
fails, as for a plugin that raises) and the engine moves to a fresh thread, leaving the stuck one behind: later
work does not queue behind a plugin that hangs. Work already queued behind it waits for its own timeout.

Calls from every session share an engine, so they wait in one queue ordered by deadline (earliest first), not by
arrival: a call's deadline is when it was asked for plus the slack of its :class:`Urgency`, which the caller sets
in the :data:`urgency` context variable. Someone waits for a response's first sentence and for a committed
transcript now; a speculative transcript (a pause that may not end the turn) or a prepared answer can wait a
little; a later sentence is heard only after the ones before it have played. Slack rather than strict priority, so
nothing waits forever behind a stream of more urgent work.

Engines that compute on this machine's cores and run several calls at once (the default STT and piper) share
those cores (:class:`Cores`): their calls run at most one per core in all, and a freed core goes to the waiting call
with the earliest deadline whichever engine it is for. A committed transcript is then not slowed by two
speculative sentences running beside it, four threads on two cores.

A call may also wait only so long for its turn (``max_wait_s`` past its deadline): past that it fails with
:class:`EngineBusy` without running, as a call that timed out does. A burst of turns beyond what the engine can
answer in time then fails those it could not reach, instead of queueing each later turn behind all the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from enum import Enum
from typing import TypeVar

from ovos_realtime_plugin import heap
from ovos_realtime_plugin.server import metrics

T = TypeVar("T")
log = logging.getLogger(__name__)


class EngineTimeout(TimeoutError):
    """An engine call did not return within its time."""


class EngineBusy(EngineTimeout):
    """An engine call waited past its bound for its turn and was not run."""


class Urgency(Enum):
    """How soon someone waits for a call's result: its slack in seconds past the moment it is asked for."""

    NOW = 0.0
    """A committed transcript, a response's first sentence, detection of speech, anything not marked."""
    SOON = 0.2
    """A speculative transcript of a pause, an answer prepared before its turn ends."""
    LATER = 1.0
    """A response's later sentence: the ones before it play first."""


urgency: ContextVar[Urgency] = ContextVar("engine_urgency", default=Urgency.NOW)
"""The urgency of the engine calls made in this context (set by whoever asks for the work)."""


@contextlib.contextmanager
def urgent(level: Urgency) -> Iterator[None]:
    """Engine calls made inside the block have urgency ``level``."""
    token = urgency.set(level)
    try:
        yield
    finally:
        urgency.reset(token)


class Cores:
    """The cores that the engines sharing them compute on: their calls run at most ``count`` at a time in all, the
    earliest deadline first, each engine within its own workers. An engine alone has its own, one per worker."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f"engines need at least one core, not {count}")
        self.count = count
        self.busy = 0
        self.engines: list[EngineThread] = []

    def free(self) -> bool:
        return self.busy < self.count

    def dispatch(self) -> None:
        """Hand each free core to the waiting call with the earliest deadline among the engines with a free
        worker (failing on the way those that waited past their bound)."""
        while self.free():
            chosen: tuple[tuple[float, int], EngineThread] | None = None
            for engine in self.engines:
                head = engine._head() if engine._running < engine.workers else None
                if head is not None and (chosen is None or head < chosen[0]):
                    chosen = (head, engine)
            if chosen is None:
                return
            chosen[1]._start_head()


class EngineThread:
    """Runs an engine's blocking calls off the event loop, ``workers`` at a time (one, unless the engine is known
    to be re-entrant)."""

    def __init__(self, name: str, *, heavy: bool = False, clock: Callable[[], float] = time.monotonic,
                 max_wait_s: float | None = None, workers: int = 1, cores: Cores | None = None) -> None:
        """``heavy``: its calls allocate a model run's worth of memory (STT, TTS), handed back once the heavy
        engines are quiet (:data:`heap.IDLE`); VAD's small, constant calls are left out of that count.
        ``max_wait_s``: how long past its deadline a call may wait for its turn (``None``: as long as it takes).
        ``cores``: the cores it shares with other engines (default: its own, one per worker)."""
        if workers < 1:
            raise ValueError(f"an engine needs at least one worker, not {workers}")
        self.name = name
        self.max_wait_s = max_wait_s
        self.workers = workers
        self._quiet: heap.IdleTrimmer | None = heap.IDLE if heavy else None
        self._pool = self._new_pool()
        self._clock = clock
        self._waiting: list[tuple[float, int, asyncio.Future[None], float]] = []  # (deadline, arrival, turn, expiry)
        self._arrivals = itertools.count()
        self._running = 0  # calls running now, at most ``workers``
        self.cores = cores or Cores(workers)
        self.cores.engines.append(self)

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"ovos-realtime-{self.name}")

    async def run(self, fn: Callable[..., T], *args: object, timeout: float | None = None) -> T:
        """``fn(*args)`` on the engine's thread once every call with an earlier deadline has run (see the
        module's docstring); ``timeout`` counts from when it starts."""
        with metrics.engine_queued(self.name):
            await self._turn(self._clock() + urgency.get().value)
            try:
                pool = self._pool
                future = asyncio.get_running_loop().run_in_executor(pool, self._timed, fn, *args)
                try:
                    return await asyncio.wait_for(future, timeout)
                except TimeoutError:
                    if self._pool is pool:  # leave the stuck thread behind (the others' calls end there)
                        self._pool = self._new_pool()
                        pool.shutdown(wait=False)
                    raise EngineTimeout(f"the {self.name} engine did not answer within {timeout:g} s") from None
            finally:
                self._next()

    async def _turn(self, deadline: float) -> None:
        """Return when this call may run: at once when a worker and a core are free, else when a finished call
        hands its core on (:meth:`_next`)."""
        if self._running < self.workers and not self._waiting and self.cores.free():
            self._take()
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        bound = self.max_wait_s
        entry = (deadline, next(self._arrivals), turn, math.inf if bound is None else deadline + bound)
        heapq.heappush(self._waiting, entry)
        if bound is not None:  # fails it even while the call ahead runs on (the engine's own timeout bounds that)
            expiry = loop.call_later(max(0.0, entry[3] - self._clock()), self._expire, turn)
            turn.add_done_callback(lambda _: expiry.cancel())
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._next()  # it was picked as it was cancelled: pass the turn on
            elif entry in self._waiting:  # (else _next has already dropped it)
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
            raise

    def _next(self) -> None:
        """A running call is done: its worker and core go to the waiting call with the earliest deadline (of the
        engines sharing the core), unless it has waited past its bound (then it fails, and the next one is looked
        at)."""
        self._running -= 1
        self.cores.busy -= 1
        self.cores.dispatch()

    def _head(self) -> tuple[float, int] | None:
        """The (deadline, arrival) of the waiting call that would run next, dropping those left or past their
        bound."""
        while self._waiting:
            deadline, arrival, turn, expiry = self._waiting[0]
            if turn.done():
                heapq.heappop(self._waiting)
            elif self._clock() > expiry:
                heapq.heappop(self._waiting)
                self._expire(turn)
            else:
                return deadline, arrival
        return None

    def _start_head(self) -> None:
        """Give the call at the head of the queue (:meth:`_head`) a worker and a core."""
        _, _, turn, _ = heapq.heappop(self._waiting)
        self._take()
        turn.set_result(None)

    def _take(self) -> None:
        """A call starts: it holds one of this engine's workers and one of the shared cores until :meth:`_next`."""
        self._running += 1
        self.cores.busy += 1

    def _expire(self, turn: asyncio.Future[None]) -> None:
        """Fail a call that waited past its bound (it leaves the queue when its turn would come)."""
        if not turn.done():
            log.warning("the %s engine is busy: a call waited more than %g s for its turn and was not run",
                        self.name, self.max_wait_s)
            turn.set_exception(EngineBusy(f"the {self.name} engine is busy: this call waited more than "
                                          f"{self.max_wait_s:g} s for its turn"))

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        with metrics.engine_call(self.name), self._quiet.busy() if self._quiet else contextlib.nullcontext():
            return fn(*args)

    def with_workers(self, workers: int, cores: Cores | None = None) -> EngineThread:
        """This engine on ``workers`` threads instead, sharing ``cores`` if given (at load, before any call is
        queued: this one is closed)."""
        widened = EngineThread(self.name, heavy=self._quiet is not None, clock=self._clock, max_wait_s=self.max_wait_s,
                               workers=workers, cores=cores)
        self.close()
        return widened

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run on the engine's thread and wait (start-up and warm-up, before the loop serves anyone)."""
        return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self in self.cores.engines:
            self.cores.engines.remove(self)
