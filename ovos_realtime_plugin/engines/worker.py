"""One thread per engine: OPM plugins are blocking and mostly not re-entrant."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ovos_realtime_plugin.server import metrics

T = TypeVar("T")


class EngineThread:
    """Runs an engine's blocking calls, one at a time, off the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ovos-realtime-{name}")

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with metrics.engine_queued(self.name):
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._timed, fn, *args)

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        with metrics.engine_call(self.name):
            return fn(*args)

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run on the engine's thread and wait (start-up and warm-up, before the loop serves anyone)."""
        return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
