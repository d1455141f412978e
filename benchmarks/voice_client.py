"""A bare Realtime client for the voice benchmarks: JSON over a websockets connection, audio paced like a mic."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

BYTES_PER_MS = 48  # PCM16 at 24 kHz
CHUNK_MS = 100


def stats(values: list[float]) -> tuple[float, float]:
    """Median and p95."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def send_audio(ws: ClientConnection, audio: bytes, paced: bool) -> float:
    """Append ``audio`` in 100 ms chunks; paced, chunk ``n`` leaves when a mic would have it. Returns the
    wall time at which the stream's millisecond 0 was spoken (the first chunk is sent 100 ms after it)."""
    step = BYTES_PER_MS * CHUNK_MS
    start = time.perf_counter()
    for n, offset in enumerate(range(0, len(audio), step)):
        chunk = base64.b64encode(audio[offset:offset + step]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        if paced:
            await asyncio.sleep(max(0.0, start + (n + 1) * CHUNK_MS / 1000 - time.perf_counter()))
    return start - CHUNK_MS / 1000


async def until(ws: ClientConnection, kind: str, seen: dict[str, float] | None = None) -> float:
    """Read events until ``kind``; returns when it arrived. Records the first arrival of every type in ``seen``."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))
        now = time.perf_counter()
        if seen is not None:
            seen.setdefault(event["type"], now)
        if event["type"] == "error":
            raise RuntimeError(event["error"]["message"])
        if event["type"] == "response.done" and event["response"]["status"] != "completed":
            raise RuntimeError(f"response {event['response']['status']}: {event['response']['status_details']}")
        if event["type"] == kind:
            return now


async def open_session(port: int, session: dict[str, Any]) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", max_size=None)
    await until(ws, "session.created")
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", **session}}))
    await until(ws, "session.updated")
    return ws


async def text_turn(ws: ClientConnection, text: str) -> float:
    """``response.create`` → first audio delta of a typed turn (the assistant and TTS, no STT)."""
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    await until(ws, "conversation.item.done")
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "response.create"}))
    seen: dict[str, float] = {}
    await until(ws, "response.done", seen)
    return seen["response.output_audio.delta"] - start
