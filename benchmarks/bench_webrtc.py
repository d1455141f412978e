"""WebRTC next to WebSocket, in one run, with the default offline engines and an instant assistant:

- **call set-up**: offer posted → ``oai-events`` data channel open (a Python aiortc peer as the browser).
- **end of speech → first answer audio**: ``input_audio_buffer.speech_stopped`` → the first loud frame on the
  answer track at the peer (WebRTC: Opus, pacing and jitter buffer included), next to the same utterance sent
  at a mic's pace over WebSocket (→ the first loud ``response.output_audio.delta``).
- the server's voice trace of each (:mod:`ovos_realtime_plugin.server.voice_trace`, ms after ``speech_stopped``).

    python -m benchmarks.bench_webrtc [--turns 5]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

import numpy as np

from benchmarks.bench_roundtrip import InstantAssistant
from benchmarks.voice_client import open_session, send_audio, stats
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import load_speech_engines, shipped_config
from ovos_realtime_plugin.server import voice_trace
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from tests.fixtures_speech import silence, spoken
from tests.webrtc_client import LOUD, Browser

KEY = "sk-bench"


def utterance() -> bytes:
    return silence(300) + spoken("what time is it") + silence(900)


async def call_setup(base: str, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        browser = Browser()
        start = time.perf_counter()
        answer = await browser.call(base, KEY)
        assert answer.status == 201, answer.body
        times.append(time.perf_counter() - start)
        await browser.close()
    return times


async def webrtc_first_audio(base: str, turns: int) -> list[float]:
    browser = Browser()
    await browser.call(base, KEY)
    await browser.start({"type": "realtime", "output_modalities": ["audio"]})
    latencies: list[float] = []
    for _ in range(turns):
        browser.loud_at = None
        browser.say(utterance())
        await browser.until("input_audio_buffer.speech_stopped")
        stopped = time.perf_counter()
        await browser.until("output_audio_buffer.stopped", timeout=60)
        assert browser.loud_at is not None
        latencies.append(browser.loud_at - stopped)
    await browser.close()
    return latencies


async def websocket_first_audio(port: int, turns: int) -> list[float]:
    ws = await open_session(port, {"output_modalities": ["audio"]})
    latencies: list[float] = []
    for _ in range(turns):
        sender = asyncio.create_task(send_audio(ws, utterance(), paced=True))
        stopped = loud = None
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if event["type"] == "input_audio_buffer.speech_stopped":
                stopped = time.perf_counter()
            elif event["type"] == "response.output_audio.delta" and loud is None and is_loud(event["delta"]):
                loud = time.perf_counter()
            elif event["type"] == "response.done":
                break
        await sender
        assert stopped is not None and loud is not None
        latencies.append(loud - stopped)
    await ws.close()
    return latencies


def is_loud(delta: str) -> bool:
    return int(np.abs(np.frombuffer(base64.b64decode(delta), "<i2").astype(np.int32)).max(initial=0)) > LOUD


async def main(turns: int) -> None:
    speech = load_speech_engines(speech_choices({}, shipped_config()))
    loopback = WebRTCSettings(ice_host_addresses=("127.0.0.1",))
    settings = ServerSettings(port=0, api_keys=frozenset({KEY}), webrtc=loopback)
    server = RealtimeServer(settings, lambda session: InstantAssistant(), speech=speech.engines)
    await server.start()
    base = f"http://127.0.0.1:{server.port}/v1"
    setup = await call_setup(base, turns * 2)
    rtc = await webrtc_first_audio(base, turns)
    await server.stop()
    rtc_stages = traced()
    ws_server = RealtimeServer(ServerSettings(port=0), lambda session: InstantAssistant(), speech=speech.engines)
    await ws_server.start()
    ws = await websocket_first_audio(ws_server.port, turns)
    await ws_server.stop()
    ws_stages = traced()
    speech.close()
    for name, values in (("WebRTC call set-up (offer -> data channel open)", setup),
                         ("WebRTC speech_stopped -> first loud audio at the peer", rtc),
                         ("WebSocket speech_stopped -> first loud audio delta", ws)):
        median, p95 = stats(values)
        print(f"{name:55s} median {median * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms")
    print(f"ratio WebRTC / WebSocket first audio (median): {stats(rtc)[0] / stats(ws)[0]:.2f}x")
    print("voice trace, median ms after speech_stopped:   WebRTC  WebSocket")
    for stage in sorted(rtc_stages, key=rtc_stages.__getitem__):
        print(f"  {stage:44s} {rtc_stages[stage] * 1e3:7.0f}  {ws_stages.get(stage, float('nan')) * 1e3:7.0f}")


def traced() -> dict[str, float]:
    """The voice trace's medians of the turns since the last call."""
    medians = voice_trace.stage_medians()
    voice_trace.RECENT.clear()
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5)
    asyncio.run(main(parser.parse_args().turns))
