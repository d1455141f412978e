"""Fuzz: thousands of mutated client frames against the real server; no frame may crash a connection.

Every example (hypothesis draws the dialect and the random source of the mutations, so a failure is
reproduced from what it prints) opens a connection, sends a run of mutated frames (:mod:`tests.fuzz_frames`), then
a probe ``session.update`` whose ``session.updated`` proves the session went on. Every event the server sent
on the way is validated against the official SDK's types, and the socket must still be open.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from tests.fixtures_server import API_KEY, Running, start_server
from tests.fuzz_frames import frame
from tests.sdk_helpers import TIMEOUT, check_typed

EXAMPLES = 100  # × FRAMES_PER_EXAMPLE = 10,000 frames, ~40 s
FRAMES_PER_EXAMPLE = 100


@pytest.fixture(scope="module")
def served() -> Iterator[Running]:
    """The real server on its own event loop thread, so hypothesis drives it from plain synchronous code."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(start_server(), loop).result(TIMEOUT)
    yield running
    asyncio.run_coroutine_threadsafe(running.server.stop(), loop).result(TIMEOUT)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(TIMEOUT)
    loop.close()


def _connect(served: Running, beta: bool) -> ClientConnection:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if beta:
        headers["OpenAI-Beta"] = "realtime=v1"
    # max_queue=None: events still coming after the probe must not stall the client's reader (and its close)
    return connect(f"{served.url}/realtime?model=gpt-realtime", additional_headers=headers, max_size=None,
                   max_queue=None, open_timeout=TIMEOUT)


def _until_probe(ws: ClientConnection, marker: str, beta: bool) -> list[dict[str, Any]]:
    """Every event up to the probe's ``session.updated``, each checked against the SDK's types."""
    events: list[dict[str, Any]] = []
    while True:
        raw = json.loads(ws.recv(TIMEOUT))
        check_typed(raw, beta)
        events.append(raw)
        if raw["type"] == "session.updated" and raw["session"].get("instructions") == marker:
            return events


def test_no_frame_closes_a_connection(served: Running) -> None:
    sent: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(rng=st.randoms(use_true_random=False), beta=st.booleans())
    def run(rng: random.Random, beta: bool) -> None:
        batch = [frame(rng) for _ in range(FRAMES_PER_EXAMPLE)]
        marker = f"probe {len(sent)}"
        with _connect(served, beta) as ws:
            for sent_frame in batch:
                ws.send(sent_frame)
            ws.send(json.dumps({"type": "session.update", "session": _probe(marker, beta)}))
            _until_probe(ws, marker, beta)
            ws.ping().wait(TIMEOUT)  # still open: a closed socket would raise here
        sent.append(len(batch))

    run()
    assert sum(sent) >= EXAMPLES * FRAMES_PER_EXAMPLE


def _probe(marker: str, beta: bool) -> dict[str, Any]:
    return {"instructions": marker} if beta else {"type": "realtime", "instructions": marker}
