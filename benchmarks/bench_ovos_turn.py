"""A Realtime text turn answered by a real OVOS skill: ``response.create`` sent → first
``response.output_text.delta`` received, through the whole ovos-realtime server (raw websockets client),
the messagebus and the hello-world skill. Two buses, measured in the same run:

- ``stock``:            ``ovos-messagebus`` in its own process (Nagle on);
- ``nodelay-inproc``:   our EmbeddedBus on a thread of this process, as ``ovos-realtime --standalone`` runs it.

Each bus gets the ovos-core skills service (warm padatious cache); the server is wired as the daemon
wires it (one shared bus connection, an OvosAssistant per connection).

    .venv/bin/python -m benchmarks.bench_ovos_turn [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.bench_bus import pct, with_inproc_bus, with_subprocess_bus
from benchmarks.bench_roundtrip import unlimited
from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings

UTTERANCE = "hello world"
WARM_UP = 2


async def until(ws: ClientConnection, event_type: str) -> dict[str, object]:
    while True:
        event: dict[str, object] = json.loads(await ws.recv())
        if event["type"] == event_type:
            return event


async def turn(ws: ClientConnection) -> float:
    """One turn; seconds from ``response.create`` sent to the first text delta."""
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": UTTERANCE}]}}))
    await until(ws, "conversation.item.done")
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "response.create"}))
    first: float | None = None
    while True:
        event = json.loads(await ws.recv())
        if first is None and event["type"] == "response.output_text.delta":
            first = time.perf_counter() - start
        if event["type"] == "response.done":
            status = event["response"]["status"]
            if status != "completed" or first is None:
                raise RuntimeError(f"turn ended {status} with {'a' if first else 'no'} text delta: {event}")
            return first


async def measure(bus_port: int, turns: int) -> list[float]:
    """Milliseconds to the first text delta, ``turns`` turns after the warm-up, one Realtime session."""
    bus = BusConnection(port=bus_port)
    await bus.connect()
    server = RealtimeServer(ServerSettings(port=0, limits=unlimited()),
                            assistant_factory(bus, OvosAssistantSettings()))
    await server.start()
    try:
        async with connect(f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime") as ws:
            await until(ws, "session.created")
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                             "output_modalities": ["text"]}}))
            await until(ws, "session.updated")
            samples = [await turn(ws) * 1000 for _ in range(turns + WARM_UP)]
            return samples[WARM_UP:]
    finally:
        await server.stop()
        await bus.close()


async def main(turns: int) -> None:
    run = functools.partial(measure, turns=turns)
    with tempfile.TemporaryDirectory() as tmp:
        print("stock ovos-messagebus ...", flush=True)
        stock = await with_subprocess_bus("stock", run, Path(tmp))
        print("embedded NODELAY bus ...", flush=True)
        nodelay = await with_inproc_bus(run)
    print(f"\nresponse.create → first text delta, '{UTTERANCE}' (hello-world skill), {turns} turns each")
    print(f"{'bus':<24}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in (("stock ovos-messagebus", stock), ("embedded NODELAY", nodelay)):
        print(f"{name:<24}{pct(values, 0.5):>10.1f}{pct(values, 0.95):>10.1f}")
    print(f"median stock / NODELAY: {statistics.median(stock) / statistics.median(nodelay):.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    asyncio.run(main(parser.parse_args().turns))
