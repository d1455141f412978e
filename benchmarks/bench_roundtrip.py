"""Text round trip through ovos-realtime vs a bare JSON echo server on the same stack (aiohttp), in the same run.

Both servers answer one client request with the same frames: the baseline replays a recorded turn
(json.loads + json.dumps of each event, nothing else), ovos-realtime produces it through the whole
protocol core with an instant assistant. A second baseline does the same with orjson, the JSON library
ovos-realtime uses, so the cost of the core alone shows too. One connection each, one growing conversation
(as a long session); they are measured in alternating blocks so that the machine's drift hits all alike.
Printed: medians, p95, the ratios, and first-delta latency.

    python -m benchmarks.bench_roundtrip [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from websockets.asyncio.client import connect

from ovos_realtime_plugin.core.assistant import AssistantBase, AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings

BLOCKS = 10
TURN = [
    json.dumps({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "hi"}]}}),
    json.dumps({"type": "response.create"}),
]


class InstantAssistant(AssistantBase):
    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        for word in ("Hello ", "there, ", "how ", "are ", "you?"):
            yield TextDelta(word)


async def record_turn(url: str) -> list[str]:
    async with connect(url) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                         "output_modalities": ["text"]}}))
        await ws.recv()
        frames: list[str] = []
        for message in TURN:
            await ws.send(message)
        while True:
            frame = str(await ws.recv())
            frames.append(frame)
            if '"rate_limits.updated"' in frame:
                return frames


async def open_client(url: str, setup: bool) -> Any:
    ws = await connect(url, max_size=None)
    if setup:
        await ws.recv()
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                         "output_modalities": ["text"]}}))
        await ws.recv()
    return ws


async def measure(ws: Any, turns: int, totals: list[float], firsts: list[float]) -> None:
    for _ in range(turns):
        start = time.perf_counter()
        first = None
        for message in TURN:
            await ws.send(message)
        while True:
            frame = str(await ws.recv())
            if first is None and '"response.output_text.delta"' in frame:
                first = time.perf_counter() - start
            if '"rate_limits.updated"' in frame:
                break
        totals.append(time.perf_counter() - start)
        firsts.append(first or 0.0)


async def main(turns: int) -> None:
    server = RealtimeServer(ServerSettings(port=0, limits=unlimited()), lambda s: InstantAssistant())
    await server.start()
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime"
    recorded = await record_turn(url)

    def echo_with(loads: Any, dumps: Any) -> Any:
        async def echo(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)  # as ovos-realtime's
            await ws.prepare(request)
            pending = 0
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                loads(message.data)
                pending += 1
                if pending == len(TURN):
                    pending = 0
                    for frame in recorded:
                        await ws.send_str(dumps(loads(frame)))
            return ws
        return echo

    async with echo_server(echo_with(json.loads, json.dumps)) as base_port, \
            echo_server(echo_with(orjson.loads, lambda e: orjson.dumps(e).decode())) as fast_port:
        base_ws, our_ws = await open_client(f"ws://127.0.0.1:{base_port}/", False), await open_client(url, True)
        fast_ws = await open_client(f"ws://127.0.0.1:{fast_port}/", False)
        base: list[float] = []
        fast: list[float] = []
        ours: list[float] = []
        first: list[float] = []
        for ws in (base_ws, fast_ws, our_ws):  # warm-up
            await measure(ws, 20, [], [])
        # alternate blocks, so that drift in the machine's speed (other load, clocks) hits all alike
        for _ in range(BLOCKS):
            await measure(base_ws, turns // BLOCKS, base, [])
            await measure(fast_ws, turns // BLOCKS, fast, [])
            await measure(our_ws, turns // BLOCKS, ours, first)
        for ws in (base_ws, fast_ws, our_ws):
            await ws.close()
    await server.stop()
    p = statistics.quantiles
    print(f"frames per turn: {len(recorded)}; turns: {turns}")
    print(f"baseline echo   median {statistics.median(base) * 1e3:7.3f} ms  p95 {p(base, n=20)[18] * 1e3:7.3f} ms")
    print(f"echo on orjson  median {statistics.median(fast) * 1e3:7.3f} ms  p95 {p(fast, n=20)[18] * 1e3:7.3f} ms")
    print(f"ovos-realtime   median {statistics.median(ours) * 1e3:7.3f} ms  p95 {p(ours, n=20)[18] * 1e3:7.3f} ms")
    print(f"ratio ovos-realtime / echo (median): {statistics.median(ours) / statistics.median(base):.2f}x "
          "(goal <= 1.3x)")
    print(f"ratio ovos-realtime / echo on orjson, ovos-realtime's JSON library (median): "
          f"{statistics.median(ours) / statistics.median(fast):.2f}x")
    print(f"first text delta, instant assistant: p50 {statistics.median(first) * 1e3:.3f} ms")


@contextlib.asynccontextmanager
async def echo_server(handler: Any) -> AsyncIterator[int]:
    """The baseline: a bare aiohttp WebSocket server, the same stack as ovos-realtime's; yields its port."""
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


def unlimited() -> Any:
    from ovos_realtime_plugin.core.ratelimit import RateLimitSettings

    return RateLimitSettings(requests_per_minute=10**9, tokens_per_minute=10**12)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    asyncio.run(main(parser.parse_args().turns))
    _ = SessionCore  # the core under test
