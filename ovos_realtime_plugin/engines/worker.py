"""One thread per engine: OPM plugins are blocking and mostly not re-entrant.

A call given a ``timeout`` that does not return in time raises :class:`EngineTimeout` (the response or transcript
fails, as for a plugin that raises) and the engine moves to a fresh thread, leaving the stuck one behind: later
work does not queue behind a plugin that hangs. Work already queued behind it waits for its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ovos_realtime_plugin import heap
from ovos_realtime_plugin.server import metrics

T = TypeVar("T")


class EngineTimeout(TimeoutError):
    """An engine call did not return within its time."""


class EngineThread:
    """Runs an engine's blocking calls, one at a time, off the event loop."""

    def __init__(self, name: str, *, heavy: bool = False) -> None:
        """``heavy``: its calls allocate a model run's worth of memory (STT, TTS), handed back once the heavy
        engines are quiet (:data:`heap.IDLE`); VAD's small, constant calls are left out of that count."""
        self.name = name
        self._quiet: heap.IdleTrimmer | None = heap.IDLE if heavy else None
        self._pool = self._new_pool()

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ovos-realtime-{self.name}")

    async def run(self, fn: Callable[..., T], *args: object, timeout: float | None = None) -> T:
        pool = self._pool
        with metrics.engine_queued(self.name):
            future = asyncio.get_running_loop().run_in_executor(pool, self._timed, fn, *args)
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                if self._pool is pool:  # leave the stuck thread behind
                    self._pool = self._new_pool()
                    pool.shutdown(wait=False)
                raise EngineTimeout(f"the {self.name} engine did not answer within {timeout:g} s") from None

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        with metrics.engine_call(self.name), self._quiet.busy() if self._quiet else contextlib.nullcontext():
            return fn(*args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run on the engine's thread and wait (start-up and warm-up, before the loop serves anyone)."""
        return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
