"""Voice latency and throughput with the default offline engines (faster-whisper tiny.en, piper, Silero).

Printed, each as a median (and p95) over several turns, with the engines' own cost measured in the same run
as the baseline:

- **speech_stopped → first audio delta**: a fixed utterance streamed at real-time pace, an instant assistant.
  Baseline: the engines called directly, back to back (STT of the utterance + TTS of the reply's first
  sentence) — the floor with no overlap. With early transcription (the default) the STT runs during the
  silence window, so the server can beat that floor; without it, it cannot.
- **ingest**: a minute of speech and pauses streamed as fast as the socket takes it, VAD on, no transcription:
  audio seconds per wall second.
- **barge-in**: speech_started → response.done (cancelled) while a long answer is being spoken.

    python -m benchmarks.bench_voice [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.session import RealtimeSession
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_speech import silence, spoken

REPLY = "It is twelve o'clock. The weather is fine."
LONG_REPLY = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 30))
BYTES_PER_MS = 48  # PCM16 at 24 kHz
CHUNK_MS = 100


class InstantAssistant:
    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        text = request.items[-1].text() if request.items else ""
        yield TextDelta(LONG_REPLY if "long" in text else REPLY)


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def send_audio(ws: ClientConnection, audio: bytes, paced: bool) -> None:
    step = BYTES_PER_MS * CHUNK_MS
    start = time.perf_counter()
    for n, offset in enumerate(range(0, len(audio), step)):
        chunk = base64.b64encode(audio[offset:offset + step]).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        if paced:
            await asyncio.sleep(max(0.0, start + (n + 1) * CHUNK_MS / 1000 - time.perf_counter()))


async def until(ws: ClientConnection, kind: str, seen: dict[str, float] | None = None) -> float:
    """Read events until ``kind``; returns when it arrived. Records the first arrival of every type in ``seen``."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))
        now = time.perf_counter()
        if seen is not None:
            seen.setdefault(event["type"], now)
        if event["type"] == "error":
            raise RuntimeError(event["error"]["message"])
        if event["type"] == kind:
            return now


async def open_session(port: int, session: dict[str, Any]) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", max_size=None)
    await until(ws, "session.created")
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", **session}}))
    await until(ws, "session.updated")
    return ws


async def first_audio_latency(port: int, turns: int) -> list[float]:
    utterance = silence(300) + spoken("what time is it") + silence(900)
    ws = await open_session(port, {"output_modalities": ["audio"]})
    latencies = []
    for _ in range(turns):
        seen: dict[str, float] = {}
        sender = asyncio.create_task(send_audio(ws, utterance, paced=True))
        await until(ws, "response.done", seen)
        await sender
        latencies.append(seen["response.output_audio.delta"] - seen["input_audio_buffer.speech_stopped"])
    await ws.close()
    return latencies


async def ingest_rate(port: int) -> float:
    pattern = spoken("turn on the kitchen lights and play some music") + silence(700)
    audio = (pattern * (60_000 // (len(pattern) // BYTES_PER_MS) + 1))
    ws = await open_session(port, {"output_modalities": ["text"], "audio": {"input": {"turn_detection": {
        "type": "server_vad", "create_response": False}}}})
    turns = len(audio) // len(pattern)
    start = time.perf_counter()
    sender = asyncio.create_task(send_audio(ws, audio, paced=False))
    for _ in range(turns):
        await until(ws, "input_audio_buffer.speech_stopped")
    await sender
    seconds = time.perf_counter() - start
    await ws.close()
    return len(audio) / BYTES_PER_MS / 1000 / seconds


async def barge_in(port: int, turns: int) -> list[float]:
    ws = await open_session(port, {"output_modalities": ["audio"], "audio": {"input": {"turn_detection": {
        "type": "server_vad", "create_response": False}}}})
    interruption = silence(200) + spoken("stop")
    latencies = []
    for _ in range(turns):
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "a long one"}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        await until(ws, "response.output_audio.delta")
        seen: dict[str, float] = {}
        await send_audio(ws, interruption, paced=True)
        done = await until(ws, "response.done", seen)
        latencies.append(done - seen["input_audio_buffer.speech_started"])
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        await until(ws, "input_audio_buffer.cleared")
    await ws.close()
    return latencies


async def engine_floor(speech: LoadedSpeech, turns: int) -> list[float]:
    assert speech.stt is not None and speech.tts is not None
    utterance = spoken("what time is it")
    floor = []
    for _ in range(turns):
        start = time.perf_counter()
        await speech.stt.transcribe(utterance, 24000, "en-US")
        await speech.tts.synthesize(REPLY.split(". ")[0] + ".", None, 1.0, "en-US")
        floor.append(time.perf_counter() - start)
    return floor


async def serve(speech: LoadedSpeech, early: bool) -> RealtimeServer:
    def factory(session: RealtimeSession) -> InstantAssistant:
        return InstantAssistant()

    server = RealtimeServer(ServerSettings(port=0, early_transcripts=early), factory, speech=speech.engines)
    await server.start()
    return server


async def main(turns: int) -> None:
    speech = load_speech_engines(speech_choices({}, shipped_config()))
    floor = await engine_floor(speech, turns)
    results: dict[str, list[float]] = {}
    for early in (True, False):
        server = await serve(speech, early)
        results["early" if early else "late"] = await first_audio_latency(server.port, turns)
        if early:
            ingest = await ingest_rate(server.port)
            cancel = await barge_in(server.port, turns)
        await server.stop()
    speech.close()
    base, _ = stats(floor)
    print(f"engine floor (STT + first TTS sentence, direct): p50 {base * 1000:.0f} ms")
    for name, label in (("early", "early transcript (default)"), ("late", "transcribe after the turn")):
        p50, p95 = stats(results[name])
        print(f"speech_stopped -> first audio, {label}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"{p50 / base:.2f}x the engine floor")
    print(f"ingest with VAD: {ingest:.0f}x real time")
    p50, p95 = stats(cancel)
    print(f"barge-in, speech_started -> response.done(cancelled): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    asyncio.run(main(parser.parse_args().turns))
