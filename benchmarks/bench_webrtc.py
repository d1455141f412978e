"""WebRTC next to WebSocket, in one run, with the default offline engines and an instant assistant:

- **call set-up**: offer posted → ``oai-events`` data channel open (a Python aiortc peer as the browser).
- **end of speech → first answer audio**: ``input_audio_buffer.speech_stopped`` → the first loud frame on the
  answer track at the peer (WebRTC: Opus, pacing and jitter buffer included), next to the same utterance over
  WebSocket (→ first ``response.output_audio.delta``), measured by :mod:`benchmarks.bench_voice`.

    python -m benchmarks.bench_webrtc [--turns 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from benchmarks.bench_voice import InstantAssistant, first_audio_latency, stats
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import load_speech_engines, shipped_config
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.webrtc import ice
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from tests.fixtures_speech import silence, spoken
from tests.webrtc_client import Browser

KEY = "sk-bench"


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
    await browser.until("session.created")
    browser.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}})
    await browser.until("session.updated")
    latencies = []
    for _ in range(turns):
        browser.loud_at = None
        browser.say(silence(300) + spoken("what time is it") + silence(900))
        await browser.until("input_audio_buffer.speech_stopped")
        stopped = time.perf_counter()
        await browser.until("output_audio_buffer.stopped", timeout=60)
        assert browser.loud_at is not None
        latencies.append(browser.loud_at - stopped)
    await browser.close()
    return latencies


async def main(turns: int) -> None:
    speech = load_speech_engines(speech_choices({}, shipped_config()))
    loopback = WebRTCSettings(ice_host_addresses=("127.0.0.1",))
    ice.configure(loopback)  # the peer standing in for the browser offers loopback too
    settings = ServerSettings(port=0, api_keys=frozenset({KEY}), webrtc=loopback)
    server = RealtimeServer(settings, lambda session: InstantAssistant(), speech=speech.engines)
    await server.start()
    base = f"http://127.0.0.1:{server.port}/v1"
    setup = await call_setup(base, turns * 2)
    rtc = await webrtc_first_audio(base, turns)
    await server.stop()
    ws_server = RealtimeServer(ServerSettings(port=0), lambda session: InstantAssistant(), speech=speech.engines)
    await ws_server.start()
    ws = await first_audio_latency(ws_server.port, turns)
    await ws_server.stop()
    speech.close()
    for name, values in (("WebRTC call set-up (offer -> data channel open)", setup),
                         ("WebRTC speech_stopped -> first loud audio at the peer", rtc),
                         ("WebSocket speech_stopped -> first audio delta", ws)):
        median, p95 = stats(values)
        print(f"{name:55s} median {median * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms")
    print(f"ratio WebRTC / WebSocket first audio (median): {stats(rtc)[0] / stats(ws)[0]:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5)
    asyncio.run(main(parser.parse_args().turns))
