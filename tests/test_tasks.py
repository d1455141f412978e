"""cancel_and_wait: a task whose cancellation got lost (Python <= 3.11 ``asyncio.wait_for``) still ends."""

from __future__ import annotations

import asyncio

from ovos_realtime_plugin.server.tasks import cancel_and_wait


async def test_a_cancellation_that_wait_for_swallows_is_repeated() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def consume() -> None:
        while True:
            await asyncio.wait_for(queue.get(), 10.0)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)  # one loop step: the consumer now waits on the queue
    queue.put_nowait(1)
    await asyncio.sleep(0)  # one loop step: the item is handed to it, and the cancellation below comes with it
    await asyncio.wait_for(cancel_and_wait([task], retry_s=0.05), 5.0)
    assert task.cancelled()


async def test_finished_tasks_are_left_as_they_are() -> None:
    done = asyncio.create_task(asyncio.sleep(0, result="kept"))
    await done
    await cancel_and_wait([done])
    assert done.result() == "kept"
