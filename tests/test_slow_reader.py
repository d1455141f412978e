"""A client that never reads costs the server at most its outbox budget, is disconnected with 1008, and
other sessions go on (issue 11)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures_server import Running, start_server
from tests.sdk_helpers import TIMEOUT, user_text
from tests.test_errors import AUTH, Raw, ws_url

AUDIO_BYTES = 1024 * 1024
RETRIEVES = 200  # ~280 MB of events if they were all kept


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
async def served() -> AsyncIterator[Running]:
    running = await start_server()
    yield running
    await running.server.stop()


async def test_a_client_that_never_reads_is_disconnected(served: Running) -> None:
    audio = base64.b64encode(b"\x01\x02" * (AUDIO_BYTES // 2)).decode()
    async with connect(ws_url(served), additional_headers=AUTH, max_size=None, max_queue=1) as slow, \
            connect(ws_url(served), additional_headers=AUTH) as other:
        raw = Raw(slow)
        created = await raw.until("session.created")
        await raw.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_audio", "audio": audio}]}})
        item_id = (await raw.until("conversation.item.done"))[-1]["item"]["id"]
        before = rss_bytes()
        for _ in range(RETRIEVES):
            await slow.send(json.dumps({"type": "conversation.item.retrieve", "item_id": item_id}))
        connection = next(c for c in served.server.connections if c.session.id == created[-1]["session"]["id"])
        await asyncio.wait_for(connection.overflowed.wait(), TIMEOUT)
        assert rss_bytes() - before < 50 * 1024 * 1024

        probe = Raw(other)
        await probe.until("session.created")
        await probe.item(user_text("hello"))
        await probe.send({"type": "response.create"})
        assert (await probe.until("response.done"))[-1]["response"]["status"] == "completed"

        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(slow.recv(), TIMEOUT)
        assert slow.close_code == 1008
        assert "slow client" in (slow.close_reason or "")
