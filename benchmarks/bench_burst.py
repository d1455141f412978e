"""Many clients at once: a burst of simultaneous text turns, and many open sessions at a steady rate.

The server runs in a child process (so its CPU time is its own, read from /proc), with an instant assistant.
The same client load is run against a bare websockets server that replays a recorded turn (json.loads +
json.dumps of each frame, nothing else), measured in the same run as the baseline. Printed per server: first
text delta p50/p95 of the burst (all turns sent at once) and of the steady load, and server CPU ms per turn.

    python -m benchmarks.bench_burst [--sessions 200] [--rate 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from benchmarks.daemon_process import cpu_seconds
from ovos_realtime_plugin.core.assistant import AssistantBase, AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings

TURN = [
    json.dumps({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                              "content": [{"type": "input_text", "text": "hi"}]}}),
    json.dumps({"type": "response.create"}),
]
TEXT_ONLY = json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
RECORDED: list[str] = []


class InstantAssistant(AssistantBase):
    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        for word in ("Hello ", "there, ", "how ", "are ", "you?"):
            yield TextDelta(word)


# -- the servers (child processes) -----------------------------------------------------------------
async def serve_ovos() -> None:
    limits = RateLimitSettings(requests_per_minute=10**9, tokens_per_minute=10**12)
    server = RealtimeServer(ServerSettings(port=0, limits=limits, max_sessions=10_000, max_frames_per_s=10**6),
                            lambda s: InstantAssistant())
    await server.start()
    print(server.port, flush=True)
    await asyncio.Event().wait()


async def serve_echo(recorded: list[str]) -> None:
    async def echo(ws: ServerConnection) -> None:
        await ws.send(recorded[0])
        pending = 0
        async for message in ws:
            if json.loads(message)["type"] == "session.update":
                await ws.send(json.dumps(json.loads(recorded[1])))
                continue
            pending += 1
            if pending == len(TURN):
                pending = 0
                for frame in recorded[2:]:
                    await ws.send(json.dumps(json.loads(frame)))

    async with serve(echo, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()


def start(kind: str, recorded: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_burst", "--serve", kind],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(recorded) + "\n")
    proc.stdin.close()
    port = proc.stdout.readline().strip()
    return proc, f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"


# -- the clients --------------------------------------------------------------------------------------
async def open_session(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None, open_timeout=60)
    await ws.recv()
    await ws.send(TEXT_ONLY)
    await ws.recv()
    return ws


async def turn(ws: ClientConnection) -> float:
    """One text turn; seconds from sending it to the first text delta."""
    start = time.perf_counter()
    first = 0.0
    for message in TURN:
        await ws.send(message)
    while True:
        frame = str(await ws.recv())
        if not first and '"response.output_text.delta"' in frame:
            first = time.perf_counter() - start
        if '"rate_limits.updated"' in frame:
            return first


async def record(url: str) -> list[str]:
    ws = await connect(url)
    frames = [str(await ws.recv())]
    await ws.send(TEXT_ONLY)
    frames.append(str(await ws.recv()))
    for message in TURN:
        await ws.send(message)
    while '"rate_limits.updated"' not in frames[-1]:
        frames.append(str(await ws.recv()))
    await ws.close()
    return frames


async def load(url: str, pid: int, sessions: int, rate: float, seconds: float) -> dict[str, Any]:
    clients = list(await asyncio.gather(*(open_session(url) for _ in range(sessions))))
    await asyncio.gather(*(turn(ws) for ws in clients[:20]))  # warm-up
    cpu = cpu_seconds(pid)
    burst = await asyncio.gather(*(turn(ws) for ws in clients))
    burst_cpu = (cpu_seconds(pid) - cpu) / sessions
    cpu, tasks = cpu_seconds(pid), []
    begin, count = time.perf_counter(), int(rate * seconds)
    for n in range(count):
        await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(turn(clients[n % sessions])))
    steady = list(await asyncio.gather(*tasks))
    steady_cpu = (cpu_seconds(pid) - cpu) / count
    await asyncio.gather(*(ws.close() for ws in clients))
    return {"burst": burst, "burst_cpu": burst_cpu, "steady": steady, "steady_cpu": steady_cpu}


def report(name: str, result: dict[str, Any]) -> None:
    def pct(values: list[float]) -> str:
        q = statistics.quantiles(values, n=20)
        return f"p50 {statistics.median(values) * 1e3:7.1f} ms  p95 {q[18] * 1e3:7.1f} ms"

    print(f"{name:14s} burst  first delta {pct(result['burst'])}  server CPU {result['burst_cpu'] * 1e3:.2f} ms/turn")
    print(f"{name:14s} steady first delta {pct(result['steady'])}  server CPU {result['steady_cpu'] * 1e3:.2f} ms/turn")


async def main(sessions: int, rate: float, seconds: float) -> None:
    ours, url = start("ovos", [])
    try:
        recorded = await record(url)
        echo, echo_url = start("echo", recorded)
        try:
            base = await load(echo_url, echo.pid, sessions, rate, seconds)
            result = await load(url, ours.pid, sessions, rate, seconds)
        finally:
            echo.kill()
    finally:
        ours.kill()
    print(f"{sessions} sessions; burst of {sessions} simultaneous turns; steady {rate:g} turns/s for {seconds:g} s")
    report("baseline echo", base)
    report("ovos-realtime", result)
    p95 = [statistics.quantiles(r["burst"], n=20)[18] for r in (result, base)]
    print(f"ovos-realtime / echo: burst p95 {p95[0] / p95[1]:.2f}x, "
          f"CPU per turn {result['burst_cpu'] / max(base['burst_cpu'], 1e-9):.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", choices=["ovos", "echo"])
    args = parser.parse_args()
    if args.serve == "ovos":
        asyncio.run(serve_ovos())
    elif args.serve == "echo":
        asyncio.run(serve_echo(json.loads(sys.stdin.readline())))
    else:
        asyncio.run(main(args.sessions, args.rate, args.seconds))
