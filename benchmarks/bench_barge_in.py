"""Barge-in: speech_started → response.done (cancelled) while a long answer is being spoken.

The real default engines (Silero, piper) and an instant assistant with a long reply; "stop" is streamed at a
mic's pace once the first audio delta has arrived.

    python -m benchmarks.bench_barge_in [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator

from benchmarks.voice_client import open_session, send_audio, stats, until
from ovos_realtime_plugin.core.assistant import AssistantBase, AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import load_speech_engines, shipped_config
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_speech import silence, spoken

LONG_REPLY = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 30))


class InstantAssistant(AssistantBase):
    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        yield TextDelta(LONG_REPLY)


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
        done = await until_cancelled(ws, seen)
        latencies.append(done - seen["input_audio_buffer.speech_started"])
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        await until(ws, "input_audio_buffer.cleared")
    await ws.close()
    return latencies


async def until_cancelled(ws: object, seen: dict[str, float]) -> float:
    import time

    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))  # type: ignore[attr-defined]
        now = time.perf_counter()
        seen.setdefault(event["type"], now)
        if event["type"] == "response.done":
            return now


async def main(turns: int) -> None:
    speech = load_speech_engines(speech_choices({}, shipped_config()))

    def factory(session: SessionCore) -> InstantAssistant:
        return InstantAssistant()

    server = RealtimeServer(ServerSettings(port=0), factory, speech=speech.engines)
    await server.start()
    try:
        cancel = await barge_in(server.port, turns)
    finally:
        await server.stop()
        speech.close()
    p50, p95 = stats(cancel)
    print(f"barge-in, speech_started -> response.done(cancelled): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    asyncio.run(main(parser.parse_args().turns))
