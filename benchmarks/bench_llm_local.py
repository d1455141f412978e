"""When a real small model answers: Gemma 3 270M on llama-cpp-python's server (./.venv-llm, made by
scripts/setup_local_llm.sh), greedy (temperature 0), so every turn gets the same answer.

Baseline, in the same run: the model asked directly with the openai client (first token, first sentence
complete) and piper synthesizing that first sentence directly. Then the same question through ovos-realtime
(LLM responder, audio out): ``response.create`` → first ``response.output_audio.delta``. What is left after
the model's first sentence and piper's time on it is ovos-realtime's own overhead.

    .venv/bin/python -m benchmarks.bench_llm_local [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time

from openai import AsyncOpenAI
from websockets.asyncio.client import connect

from benchmarks.bench_llm import until
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import load_speech_engines, shipped_config
from ovos_realtime_plugin.llm.assistant import LlmAssistant
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.settings import LlmSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_local_llm import llama_server

INSTRUCTIONS = "You are a helpful voice assistant. Answer in two short sentences."
QUESTION = "Why is the sky blue?"
SENTENCE_END = re.compile(r"[.!?](\s|$)")
WARM_UP = 2


async def direct(client: AsyncOpenAI) -> tuple[float, float, str]:
    """The model alone: (first token s, first sentence complete s, that sentence)."""
    start = time.perf_counter()
    stream = await client.chat.completions.create(
        model="gemma", stream=True, temperature=0.0, max_tokens=80,
        messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": QUESTION}])
    first = sentence_at = None
    text = ""
    async for chunk in stream:
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece:
            first = first or time.perf_counter() - start
            text += piece
            if sentence_at is None and SENTENCE_END.search(text.strip() + " "):
                sentence_at = time.perf_counter() - start
    end = SENTENCE_END.search(text.strip() + " ")
    assert first is not None and sentence_at is not None and end is not None, text
    return first, sentence_at, text.strip()[:end.end()].strip()


async def measure(url: str, turns: int) -> tuple[list[tuple[float, float, str]], list[float], list[float]]:
    """(the model alone, piper alone on its first sentence, through ovos-realtime), each ``turns`` long."""
    speech = load_speech_engines(speech_choices({}, shipped_config()))
    assert speech.tts is not None
    backend = ChatBackend(LlmSettings(base_url=url, model="gemma", responder="llm", temperature=0.0))

    def factory(session: SessionCore) -> LlmAssistant:
        return LlmAssistant(backend, backend.settings)

    server = RealtimeServer(ServerSettings(port=0), factory, speech=speech.engines)
    client = AsyncOpenAI(base_url=url, api_key="none")
    try:
        await server.start()
        alone = [await direct(client) for _ in range(turns + WARM_UP)][WARM_UP:]
        piper = []
        for _ in range(turns):
            begin = time.perf_counter()
            await speech.tts.synthesize(alone[0][2], None, 1.0, "en-US")
            piper.append(time.perf_counter() - begin)
        ours = []
        for _ in range(turns + WARM_UP):
            async with connect(f"ws://127.0.0.1:{server.port}/v1/realtime?model=llm", max_size=None) as ws:
                await until(ws, "session.created")  # a new connection per turn: the same context every time
                await ws.send(json.dumps({"type": "session.update", "session": {
                    "type": "realtime", "output_modalities": ["audio"], "instructions": INSTRUCTIONS}}))
                await until(ws, "session.updated")
                await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                    "type": "message", "role": "user", "content": [{"type": "input_text", "text": QUESTION}]}}))
                await until(ws, "conversation.item.done")
                start = time.perf_counter()
                await ws.send(json.dumps({"type": "response.create", "response": {"max_output_tokens": 80}}))
                ours.append(await until(ws, "response.output_audio.delta") - start)
                await until(ws, "response.done")
        return alone, piper, ours[WARM_UP:]
    finally:
        await server.stop()
        await backend.close()
        await client.close()
        speech.close()


async def main(turns: int) -> None:
    async with llama_server() as url:
        alone, piper, ours = await measure(url, turns)
    first = statistics.median(a[0] for a in alone) * 1000
    sentence_ms = statistics.median(a[1] for a in alone) * 1000
    piper_ms = statistics.median(piper) * 1000
    ours_ms = statistics.median(ours) * 1000
    sentence = alone[0][2]
    print(f"Gemma 3 270M Q4_K_M on llama-cpp-python, {turns} turns, medians; first sentence: {sentence!r}")
    print(f"  the model alone: first token {first:.0f} ms, first sentence complete {sentence_ms:.0f} ms")
    print(f"  piper alone on that sentence: {piper_ms:.0f} ms")
    print(f"  through ovos-realtime: response.create -> first audio delta {ours_ms:.0f} ms "
          f"(p95 {sorted(ours)[min(len(ours) - 1, int(len(ours) * 0.95))] * 1000:.0f})")
    print(f"  ovos-realtime's own share: {ours_ms - sentence_ms - piper_ms:.0f} ms "
          f"= {ours_ms / (sentence_ms + piper_ms):.2f}x (model's first sentence + piper)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    asyncio.run(main(parser.parse_args().turns))
