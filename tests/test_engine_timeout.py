"""An STT (or VAD) plugin that hangs fails that transcript (or that audio's detection) within a bounded time, and
the session's next turn is transcribed (next audio heard): the engine moves to a fresh thread and leaves the stuck
call behind. The timeouts are configured in the ``"realtime"`` section's ``"engines"``."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.engines.choice import EngineTimeouts, speech_choices
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.vad import PluginSpeechDetector
from ovos_realtime_plugin.engines.worker import EngineThread
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import API_KEY, start_server
from tests.fixtures_speech import silence
from tests.sdk_helpers import collect


class HangsOnce:
    """An OPM-style STT plugin whose first call never returns (until released), later calls answer."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def execute(self, audio: Any, language: str | None = None) -> str:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(60)
            return "too late"
        return "second turn"


async def transcription_outcome(conn: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(conn.recv_bytes(), 30))
        if event["type"].endswith((".input_audio_transcription.failed", ".input_audio_transcription.completed")):
            return dict(event)


async def test_a_hanging_stt_fails_that_transcript_and_the_next_turn_goes_on() -> None:
    plugin = HangsOnce()
    stt = PluginTranscriber(plugin, "hangs-once", EngineThread("stt-test"))
    stt.timeout_s = 2.0
    import ovos_plugin_manager.utils.audio  # noqa: F401  # imported before the clock runs (the wrapper imports it)
    running = await start_server(speech=SpeechEngines(stt=stt))
    try:
        client = AsyncOpenAI(api_key=API_KEY, base_url=running.http)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await collect(conn, "session.created")
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
                "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}})
            await collect(conn, "session.updated")
            outcomes = []
            for _ in range(2):
                await conn.input_audio_buffer.append(audio=base64.b64encode(silence(500)).decode())
                await conn.input_audio_buffer.commit()
                outcomes.append(await transcription_outcome(conn))
        failed, completed = outcomes
        assert failed["type"].endswith(".failed")
        assert "did not answer within 2 s" in failed["error"]["message"]
        assert completed["type"].endswith(".completed") and completed["transcript"] == "second turn"
    finally:
        plugin.release.set()
        await running.server.stop()
        stt.close()


class VadHangsOnce:
    """An OPM-style VAD plugin (Silero's ``vad(samples)`` shape) whose first call hangs, later ones hear speech."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def vad(self, samples: Any) -> float:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(60)
        return 1.0


async def test_a_hanging_vad_fails_that_audio_s_detection_and_later_audio_is_heard() -> None:
    plugin = VadHangsOnce()
    thread = EngineThread("vad-test")
    detector = PluginSpeechDetector(lambda: plugin, thread, timeout_s=1.0)
    running = await start_server(speech=SpeechEngines(new_vad=lambda: detector))
    try:
        client = AsyncOpenAI(api_key=API_KEY, base_url=running.http)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await collect(conn, "session.created")
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
                "input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
            await collect(conn, "session.updated")
            audio = base64.b64encode(silence(200)).decode()
            await conn.input_audio_buffer.append(audio=audio)
            error = (await collect(conn, "error"))[-1]["error"]
            await conn.input_audio_buffer.append(audio=audio)
            await collect(conn, "input_audio_buffer.speech_started")
        assert (error["type"], error["code"]) == ("server_error", "server_error")
        assert error["message"].startswith("Speech detection failed")
        assert "did not answer within 1 s" in error["message"]
    finally:
        plugin.release.set()
        await running.server.stop()
        thread.close()


def test_engine_timeouts_come_from_the_realtime_section() -> None:
    conf = {"realtime": {"engines": {"stt_timeout_s": 5, "vad_timeout_s": 0.5}}}
    timeouts = speech_choices(conf, {}, stt="none", tts="none", vad="none").timeouts
    assert timeouts == EngineTimeouts(stt_s=5.0, tts_s=EngineTimeouts().tts_s, vad_s=0.5)
