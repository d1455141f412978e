"""``/metrics`` (Prometheus) and ``/healthz`` (JSON) of the real server: the counters match what a client sent
and received, byte for byte; voice turns count engine calls; ``/metrics`` follows the server's auth."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.metrics import VoiceTurnStages
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_server import API_KEY, Running, start_server
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import collect
from tests.test_voice import VOICE_SESSION, client
from tests.voice_helpers import stream_audio

AUTH = {"Authorization": f"Bearer {API_KEY}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Status, content type and body of ``GET path``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Connection: close\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.decode().partition("\r\n\r\n")
    status = int(head.split()[1])
    content_type = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                         if line.lower().startswith("content-type:")), "")
    return status, content_type, body


async def scrape(port: int) -> Samples:
    status, content_type, body = await http_get(port, "/metrics", AUTH)
    assert status == 200 and content_type.startswith("text/plain; version="), (status, content_type)
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((f"ovos_realtime_{name}", frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


class CountingClient:
    """A raw WebSocket client that keeps the size of every frame it sends and receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.sent, self.received = ws, 0, 0

    async def send(self, event: dict[str, Any]) -> None:
        frame = json.dumps(event)
        self.sent += len(frame.encode())
        await self.ws.send(frame)

    async def until(self, kind: str) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), 10.0)
            self.received += len(frame.encode() if isinstance(frame, str) else frame)
            event: dict[str, Any] = json.loads(frame)
            if event["type"] == kind:
                return event

    async def close(self) -> None:
        """Close, and count what the server still sent before its close frame."""
        await self.ws.close()
        async for frame in self.ws:  # nothing: recv after close ends the iteration
            self.received += len(frame)


async def sessions_closed(port: int, before: Samples) -> Samples:
    """Scrape until the server has finished with every connection opened since ``before``."""
    async def settled() -> Samples:
        while True:
            now = await scrape(port)
            if value(now, "sessions_open", dialect="ga", kind="realtime") == value(
                    before, "sessions_open", dialect="ga", kind="realtime"):
                return now
            await asyncio.sleep(0.02)
    return await asyncio.wait_for(settled(), 10.0)


def user_says(text: str) -> dict[str, Any]:
    return {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}


async def test_text_turns_errors_and_bytes_are_counted_as_sent() -> None:
    running = await start_server()
    port = running.server.port
    try:
        before = await scrape(port)
        async with connect(f"{running.url}/realtime?model=gpt-realtime", additional_headers=AUTH) as ws:
            counting = CountingClient(ws)
            await counting.until("session.created")
            opened = await scrape(port)
            assert delta(before, opened, "sessions_open", dialect="ga", kind="realtime") == 1
            for text in ("hello", "fail"):  # the scripted assistant answers, then fails
                await counting.send(user_says(text))
                await counting.send({"type": "response.create"})
                await counting.until("response.done")
            await counting.send({"type": "no.such.event"})
            error = (await counting.until("error"))["error"]
            await counting.close()
        after = await sessions_closed(port, before)
    finally:
        await running.server.stop()
    assert delta(before, after, "sessions_total", dialect="ga", kind="realtime") == 1
    assert delta(before, after, "responses_total", status="completed") == 1
    assert delta(before, after, "responses_total", status="failed") == 1
    assert delta(before, after, "errors_total", code=error["code"]) == 1
    assert delta(before, after, "received_bytes_total") == counting.sent
    assert delta(before, after, "sent_bytes_total") == counting.received


async def test_rate_limit_rejections_are_counted() -> None:
    running = await start_server(limits=RateLimitSettings(requests_per_minute=1))
    port = running.server.port
    try:
        before = await scrape(port)
        async with connect(f"{running.url}/realtime?model=gpt-realtime", additional_headers=AUTH) as ws:
            counting = CountingClient(ws)
            await counting.send(user_says("hello"))
            await counting.send({"type": "response.create"})
            await counting.until("response.done")
            await counting.send({"type": "response.create"})
            assert (await counting.until("error"))["error"]["code"] == "rate_limit_exceeded"
        after = await sessions_closed(port, before)
    finally:
        await running.server.stop()
    assert delta(before, after, "rate_limit_rejections_total") == 1
    assert delta(before, after, "errors_total", code="rate_limit_exceeded") == 1


async def test_metrics_need_a_key_when_keys_are_configured_unless_opened() -> None:
    keyed = await start_server()
    opened = await start_server(metrics_open=True)
    loopback = RealtimeServer(ServerSettings(port=0), lambda session: None)  # type: ignore[arg-type,return-value]
    await loopback.start()
    try:
        assert (await http_get(keyed.server.port, "/metrics"))[0] == 401
        assert (await http_get(keyed.server.port, "/metrics", {"Authorization": "Bearer sk-wrong"}))[0] == 401
        assert (await http_get(keyed.server.port, "/metrics", AUTH))[0] == 200
        assert (await http_get(opened.server.port, "/metrics"))[0] == 200
        assert (await http_get(loopback.port, "/metrics"))[0] == 200  # no keys: loopback only, open
    finally:
        for server in (keyed.server, opened.server, loopback):
            await server.stop()


async def test_healthz_answers_json_and_keeps_its_status_codes() -> None:
    running = await start_server()
    server = running.server
    try:
        server.ready = False
        status, content_type, body = await http_get(server.port, "/healthz")
        assert (status, content_type) == (503, "application/json")
        assert json.loads(body) == {"status": "starting", "bus": None, "skills_ready": False, "sessions": 0,
                                    "engines": {"stt": None, "tts": None, "vad": None}, "transcription_models": {}}
        server.ready = True
        async with connect(f"{running.url}/realtime?model=gpt-realtime", additional_headers=AUTH) as ws:
            await CountingClient(ws).until("session.created")
            status, _, body = await http_get(server.port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok" and json.loads(body)["sessions"] == 1
    finally:
        await server.stop()


async def test_a_voice_turn_counts_engine_calls_and_their_time(voice_server: Running,
                                                               speech: LoadedSpeech) -> None:
    port = voice_server.server.port
    before = await scrape(port)
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session=VOICE_SESSION)
        await collect(conn, "session.updated")
        await stream_audio(conn, silence(600) + spoken("what time is it") + silence(1000), 48)
        done = (await collect(conn, "response.done"))[-1]
    after = await sessions_closed(port, before)
    assert done["response"]["status"] == "completed"
    assert delta(before, after, "responses_total", status="completed") == 1
    for engine in ("stt", "tts", "vad"):
        calls = delta(before, after, "engine_calls_total", engine=engine, outcome="ok")
        assert calls >= 1, engine
        assert delta(before, after, "engine_call_seconds_count", engine=engine) == calls
        assert delta(before, after, "engine_call_seconds_sum", engine=engine) > 0
        assert value(after, "engine_queue_depth", engine=engine) == 0
    for stage in ("transcript", "first_text", "first_audio"):  # one turn: each stage once
        assert delta(before, after, "voice_turn_stage_seconds_count", stage=stage) == 1, stage
    stage_sums = [delta(before, after, "voice_turn_stage_seconds_sum", stage=stage)
                  for stage in ("transcript", "first_text", "first_audio")]
    assert 0 < stage_sums[0] <= stage_sums[1] <= stage_sums[2]  # in the order the client heard them
    health = json.loads((await http_get(port, "/healthz"))[2])
    assert health["engines"] == {"stt": "ovos-stt-plugin-whisper-fitted", "tts": "ovos-tts-plugin-piper",
                                 "vad": "ovos-vad-plugin-silero-v6"}


def test_voice_turn_stages_are_timed_from_speech_stopped_once_per_turn() -> None:
    now = [0.0]
    seen: list[tuple[str, float]] = []
    stages = VoiceTurnStages(clock=lambda: now[0], observe=lambda stage, seconds: seen.append((stage, seconds)))

    def at(t: float, kind: str) -> None:
        now[0] = t
        stages.saw(kind)

    at(1.0, "response.output_text.delta")  # a text turn: no voice turn started
    at(2.0, "input_audio_buffer.speech_stopped")
    at(2.3, "conversation.item.input_audio_transcription.completed")
    at(2.5, "response.output_audio_transcript.delta")
    at(2.6, "response.output_audio_transcript.delta")  # later deltas: not a stage
    at(2.9, "response.output_audio.delta")
    at(3.0, "response.done")
    at(4.0, "response.output_text.delta")  # after the turn's response
    at(5.0, "input_audio_buffer.speech_stopped")
    at(5.2, "conversation.item.input_audio_transcription.completed")
    assert [(stage, round(seconds, 3)) for stage, seconds in seen] == [
        ("transcript", 0.3), ("first_text", 0.5), ("first_audio", 0.9), ("transcript", 0.2)]


def test_observe_stage_feeds_the_voice_turn_histogram() -> None:
    from prometheus_client import REGISTRY

    from ovos_realtime_plugin.server.metrics import observe_stage

    def count() -> float:
        return REGISTRY.get_sample_value("ovos_realtime_voice_turn_stage_seconds_count", {"stage": "stt"}) or 0.0
    start = count()
    observe_stage("stt", 0.25)
    assert count() == start + 1
