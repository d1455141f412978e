"""Cancelling tasks so that they really end.

A cancellation can be lost: on Python 3.10 and 3.11 ``asyncio.wait_for(aw, timeout)`` returns ``aw``'s
result instead of raising ``CancelledError`` when the cancellation arrives in the same loop iteration as
that result (e.g. a ``queue.get()`` that just got an item), and the cancelled code goes on as if nothing
happened. Where a task must end (a response cancelled, a connection closed, the daemon stopping), a
task still running ``retry_s`` after its cancellation is cancelled again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

RETRY_S = 1.0
"""Long enough for a cancelled task's own clean-up, which a second cancellation would cut short."""


def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], retry_s: float = RETRY_S) -> asyncio.Future[None]:
    """Cancel every task now; the future returned is done once each has ended."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    return asyncio.ensure_future(_until_ended(pending, retry_s))


async def _until_ended(pending: set[asyncio.Future[Any]], retry_s: float) -> None:
    while pending:
        _, pending = await asyncio.wait(pending, timeout=retry_s)
        for task in pending:
            task.cancel()
