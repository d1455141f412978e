"""When the LLM answers: ``response.create`` sent → first ``response.output_audio.delta``, split into

- **LLM first token**: the chat server wrote the answer's first text chunk (request built, sent, parsed);
- **first sentence complete**: it wrote the chunk that ends the first sentence (the model's pace);
- **first TTS chunk**: the client got the first audio delta (that sentence synthesized by piper, encoded, sent).

The model is the scripted Chat Completions server of the tests (tests/fixtures_llm.py) streaming a fixed answer
one word per chunk at ``--token-ms`` per chunk, on loopback: what is measured is this server's overhead around
a model of that speed, with the real offline TTS. Baseline: piper synthesizing the first sentence, called directly.

    .venv/bin/python -m benchmarks.bench_llm [--turns 10] [--token-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from websockets.asyncio.client import ClientConnection, connect

from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import load_speech_engines, shipped_config
from ovos_realtime_plugin.llm.assistant import LlmAssistant
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.settings import LlmSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_llm import ChatServer, say

ANSWER = "The sky looks blue because air scatters blue light more than red. At sunset the light travels further."
FIRST_SENTENCE = ANSWER.split(". ")[0] + "."
WARM_UP = 2


def words() -> list[str]:
    pieces = ANSWER.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


SENTENCE_CHUNK = 1 + next(i for i, w in enumerate(words()) if w.endswith("."))
"""The chunk that ends the first sentence (chunk 0 is the role)."""


async def until(ws: ClientConnection, kind: str) -> float:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if event["type"] == "error":
            raise RuntimeError(event["error"]["message"])
        if event["type"] == kind:
            return time.perf_counter()


async def turn(ws: ClientConnection, chat: ChatServer) -> tuple[float, float, float]:
    chat.script.append(say(*words()))
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "why is the sky blue"}]}}))
    await until(ws, "conversation.item.done")
    start = time.perf_counter()
    await ws.send(json.dumps({"type": "response.create"}))
    first_audio = await until(ws, "response.output_audio.delta")
    await until(ws, "response.done")
    return chat.sent_at[1] - start, chat.sent_at[SENTENCE_CHUNK] - start, first_audio - start


async def main(turns: int, token_ms: float) -> None:
    speech = load_speech_engines(speech_choices({}, shipped_config()))
    assert speech.tts is not None
    chat = ChatServer(pace_s=token_ms / 1000)
    await chat.start()
    backend = ChatBackend(LlmSettings(base_url=chat.url, model="bench", responder="llm"))

    def factory(session: SessionCore) -> LlmAssistant:
        return LlmAssistant(backend, backend.settings)

    server = RealtimeServer(ServerSettings(port=0), factory, speech=speech.engines)
    await server.start()
    floor = []
    for _ in range(turns):
        begin = time.perf_counter()
        await speech.tts.synthesize(FIRST_SENTENCE, None, 1.0, "en-US")
        floor.append(time.perf_counter() - begin)
    try:
        async with connect(f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime", max_size=None) as ws:
            await until(ws, "session.created")
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                             "output_modalities": ["audio"]}}))
            await until(ws, "session.updated")
            samples = [await turn(ws, chat) for _ in range(turns + WARM_UP)][WARM_UP:]
    finally:
        await server.stop()
        await backend.close()
        await chat.stop()
        speech.close()
    print(f"model pace: {token_ms:g} ms per chunk (one word), {turns} turns, medians (p95):")
    paced = (2 * token_ms, (SENTENCE_CHUNK + 1) * token_ms, (SENTENCE_CHUNK + 1) * token_ms)
    for index, label in enumerate(("LLM first token", "first sentence complete", "first TTS chunk (audio delta)")):
        values = sorted(s[index] * 1000 for s in samples)
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"  response.create -> {label}: {statistics.median(values):.1f} ms ({p95:.1f}), "
              f"of which the model's pace {paced[index]:g} ms")
    tts = statistics.median(floor) * 1000
    gap = statistics.median((s[2] - s[1]) * 1000 for s in samples)
    print(f"  first sentence complete -> first audio: {gap:.1f} ms; piper alone on that sentence: {tts:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--token-ms", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.token_ms))
